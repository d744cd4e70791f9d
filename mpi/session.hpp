// MPI: retraining jobs spread over processes (docs/cli.md, "Several processes and hosts").
// Rank 0 runs the command as a single process would — it builds the problem, writes every
// output and the journal — and ships each batch of retraining jobs (model, data, θ̂, the
// protocol) to the other ranks, which only compute: each serves its --threads threads from
// rank 0's queue, one job at a time, until rank 0 says stop. So the other ranks need the same
// binary but no data files, and results do not depend on the number of ranks.
// A study can also send whole tasks (its settings, each a θ̂ to train, solves and retrains):
// each other rank runs one task at a time through the handler main() gave it; those ranks then
// need the data files too (each task builds its own problem).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace inflab::experiments {
class RemoteWorkers;
}

namespace inflab::mpi {

class Session {
 public:
  // Starts MPI when launched by an MPI launcher (mpirun, mpiexec, srun), else a single
  // process. Throws Error when launched with several ranks by a build without MPI.
  Session(int& argc, char**& argv);
  ~Session();  // rank 0 tells the other ranks to stop; MPI_Finalize
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::size_t rank() const { return rank_; }
  std::size_t size() const { return size_; }
  bool is_worker() const { return rank_ > 0; }
  // A worker's whole life: run the batches rank 0 sends until it says stop. Returns the
  // process's exit status.
  int work();
  // What a worker does with task `task` of a task batch `payload` (RemoteWorkers::serve_tasks):
  // its result, or it throws (the message goes to rank 0).
  using TaskHandler = std::string (*)(const std::string& payload, std::size_t task);
  void set_task_handler(TaskHandler h) { task_handler_ = h; }
  // Rank 0 of several: the other ranks, for experiments::RetrainRun::remote; else nullptr.
  experiments::RemoteWorkers* remote() const { return remote_.get(); }

 private:
  std::size_t rank_ = 0, size_ = 1;
  bool started_ = false;
  TaskHandler task_handler_ = nullptr;
  std::unique_ptr<experiments::RemoteWorkers> remote_;
};

// The process's session (nullptr before main made one).
Session* session();

// "" without MPI support, else e.g. "Open MPI v4.1.4" (for --version).
const char* library_version();

}  // namespace inflab::mpi
