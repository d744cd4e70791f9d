#include "mpi/session.hpp"

#include <cstdlib>
#include <string>

#include "experiments/retrain.hpp"  // RemoteWorkers, complete for the unique_ptr
#include "util/error.hpp"

#if INFLAB_HAVE_MPI
#include <mpi.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "autodiff/blas.hpp"
#include "experiments/retrain_jobs.hpp"
#endif

namespace inflab::mpi {

namespace {
Session* current = nullptr;

// Launchers set one of these in every rank: Open MPI's mpirun, PMI (MPICH, Slurm), PMIx (srun).
long launched_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) return std::atol(s);
  if (std::getenv("PMIX_RANK")) {  // PMIx (srun --mpi=pmix) names no size; srun's own task count does
    const char* n = std::getenv("SLURM_NTASKS");
    return n ? std::atol(n) : 2;
  }
  return 0;
}
}  // namespace

Session* session() { return current; }

#if !INFLAB_HAVE_MPI

Session::Session(int&, char**&) {
  current = this;
  if (launched_size() > 1)
    throw Error("this inflab was built without MPI, so under an MPI launcher every rank would run the whole command; "
                "install libopenmpi-dev and rebuild (meson finds it), or run without mpirun");
}
Session::~Session() { current = nullptr; }
int Session::work() { return 0; }
const char* library_version() { return ""; }

#else

namespace {
// Message tags. A batch: rank 0 sends kAnnounce {bytes, threads, what} to every rank, then
// broadcasts the bytes. Jobs: a worker thread t sends kRequest {t, kind, text} (its first
// hello, a result or an error) and gets its next job index on tag kJob + t (−1: none left).
// A task batch has one thread per rank; its result text starts with the task's index.
constexpr int kAnnounce = 1, kStop = 2, kRequest = 3, kJob = 100;
enum Kind : std::uint8_t { Hello = 0, Result = 1, Failure = 2 };
enum Batch : std::uint64_t { RetrainBatch = 0, TaskBatch = 1 };
constexpr std::size_t kChunk = std::size_t{1} << 30;  // MPI counts are int: broadcast in ≤ 1 GiB pieces

// Rank 0 of several: when mpirun ends the job because another rank died (or the job is
// cancelled), say what survives before going. Only async-signal-safe calls here.
extern "C" void on_terminate(int sig) {
  static const char msg[] =
      "\ninflab: stopped by a signal — under mpirun, another rank died or the job was cancelled; every retraining "
      "job that finished is in the run directory's journal (*.jsonl): rerun the same command, with any number of ranks "
      "or without mpirun, to resume\n";
  [[maybe_unused]] const auto n = write(2, msg, sizeof msg - 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, msg, &n);
  throw Error(std::string(what) + ": " + std::string(msg, static_cast<std::size_t>(n)));
}

// Waits without spinning a core: Open MPI's blocking calls busy-poll, and a waiting rank
// shares its cores with computing threads. The pause grows from 20 µs to 2 ms.
struct Backoff {
  std::chrono::microseconds pause{20};
  void wait() {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
};
MPI_Status probe(int source, int tag) {
  Backoff b;
  for (;;) {
    int flag = 0;
    MPI_Status st;
    check(MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
    if (flag) return st;
    b.wait();
  }
}
void recv(void* buf, int count, MPI_Datatype type, int source, int tag) {
  MPI_Request req;
  check(MPI_Irecv(buf, count, type, source, tag, MPI_COMM_WORLD, &req), "MPI_Irecv");
  Backoff b;
  for (int flag = 0;;) {
    check(MPI_Test(&req, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) return;
    b.wait();
  }
}
void broadcast(std::string& bytes) {
  for (std::size_t at = 0; at < bytes.size(); at += kChunk)
    check(MPI_Bcast(bytes.data() + at, static_cast<int>(std::min(kChunk, bytes.size() - at)), MPI_BYTE, 0, MPI_COMM_WORLD),
          "MPI_Bcast");
}

std::string request(std::uint32_t thread, Kind kind, const std::string& text) {
  std::string m(sizeof thread + 1, '\0');
  std::memcpy(m.data(), &thread, sizeof thread);
  m[sizeof thread] = static_cast<char>(kind);
  return m + text;
}

// Rank 0's side: ships a batch and serves the other ranks' threads from the caller's queue.
class Ranks final : public experiments::RemoteWorkers {
 public:
  explicit Ranks(std::size_t size) : size_(size) {}
  std::size_t ranks() const override { return size_; }
  // false while a batch is being served: if serving stops midway (an MPI error), workers
  // wait for replies that will not come, and only MPI_Abort ends them
  bool idle = true;

  void serve(const experiments::RetrainJobs& jobs, std::size_t threads, const std::function<std::optional<std::size_t>()>& next,
             const std::function<void(experiments::RetrainRecord)>& finished,
             const std::function<void(const std::string&)>& failed) override {
    announce(experiments::encode_jobs(jobs), threads, RetrainBatch);
    answer((size_ - 1) * threads, next, failed, [&](const std::string& text, int source) {
      std::optional<experiments::RetrainRecord> r;
      try {
        r = experiments::decode_record(text);
      } catch (const std::exception& e) {
        failed("a result from rank " + std::to_string(source) + " did not decode: " + e.what());
      }
      if (r) finished(std::move(*r));
    });
  }

  void serve_tasks(const std::string& payload, const std::function<std::optional<std::size_t>()>& next,
                   const std::function<void(std::size_t, std::string)>& finished,
                   const std::function<void(const std::string&)>& failed) override {
    std::string bytes = payload;
    announce(std::move(bytes), 1, TaskBatch);
    answer(size_ - 1, next, failed, [&](const std::string& text, int source) {
      std::uint64_t task = 0;
      if (text.size() < sizeof task) return failed("a malformed task result from rank " + std::to_string(source));
      std::memcpy(&task, text.data(), sizeof task);
      finished(static_cast<std::size_t>(task), text.substr(sizeof task));
    });
  }

 private:
  void announce(std::string bytes, std::size_t threads, Batch what) {
    idle = false;
    const std::uint64_t head[3] = {bytes.size(), threads, what};
    for (int r = 1; r < static_cast<int>(size_); ++r)
      check(MPI_Send(head, 3, MPI_UINT64_T, r, kAnnounce, MPI_COMM_WORLD), "MPI_Send");
    broadcast(bytes);
  }
  // Serves the other ranks' `active` threads until each was told "none left": a result goes to
  // result(text, rank), a failure to failed(); each request is answered with the next index.
  void answer(std::size_t active, const std::function<std::optional<std::size_t>()>& next, const std::function<void(const std::string&)>& failed,
              const std::function<void(const std::string&, int)>& result) {
    std::string m;
    while (active > 0) {
      const MPI_Status st = probe(MPI_ANY_SOURCE, kRequest);
      int n = 0;
      MPI_Get_count(&st, MPI_BYTE, &n);
      m.resize(static_cast<std::size_t>(n));
      check(MPI_Recv(m.data(), n, MPI_BYTE, st.MPI_SOURCE, kRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
      std::uint32_t t = 0;
      if (m.size() < sizeof t + 1) throw Error("a malformed request from rank " + std::to_string(st.MPI_SOURCE));
      std::memcpy(&t, m.data(), sizeof t);
      const auto kind = static_cast<Kind>(m[sizeof t]);
      const std::string text = m.substr(sizeof t + 1);
      if (kind == Result) {
        try {
          result(text, st.MPI_SOURCE);
        } catch (const std::exception& e) {
          failed(e.what());  // e.g. the journal could not be appended to
        }
      } else if (kind == Failure) {
        failed(text + " (on rank " + std::to_string(st.MPI_SOURCE) + ")");
      }
      const auto j = next();
      const std::int64_t job = j ? static_cast<std::int64_t>(*j) : -1;
      check(MPI_Send(&job, 1, MPI_INT64_T, st.MPI_SOURCE, kJob + static_cast<int>(t), MPI_COMM_WORLD), "MPI_Send");
      if (!j) --active;
    }
    idle = true;
  }

  std::size_t size_;
};

// One worker thread: ask, run(j) → its result text, answer, until rank 0 says none left.
void work_thread(const std::function<std::string(std::size_t)>& run, const char* what, std::uint32_t t, std::size_t rank) try {
  std::string m = request(t, Hello, "");
  for (;;) {
    check(MPI_Send(m.data(), static_cast<int>(m.size()), MPI_BYTE, 0, kRequest, MPI_COMM_WORLD), "MPI_Send");
    std::int64_t job = -1;
    recv(&job, 1, MPI_INT64_T, 0, kJob + static_cast<int>(t));
    if (job < 0) return;
    const auto j = static_cast<std::size_t>(job);
    try {
      m = request(t, Result, run(j));
    } catch (const std::exception& e) {
      m = request(t, Failure, std::string(what) + " " + std::to_string(j) + " failed: " + e.what());
    }
  }
} catch (const std::exception& e) {  // the transport failed: nothing to tell rank 0 through it
  std::fprintf(stderr, "inflab (rank %zu): %s\n", rank, e.what());
  MPI_Abort(MPI_COMM_WORLD, 1);
}
}  // namespace

Session::Session(int& argc, char**& argv) {
  current = this;
  if (launched_size() < 1) return;
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  started_ = true;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  rank_ = static_cast<std::size_t>(rank), size_ = static_cast<std::size_t>(size);
  // every rank's threads call MPI (rank 0: the serving thread only, but workers: each thread)
  if (provided < MPI_THREAD_MULTIPLE && size > 1)
    throw Error("this MPI library does not provide MPI_THREAD_MULTIPLE, which inflab's worker threads need");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (rank_ == 0 && size_ > 1) {
    remote_ = std::make_unique<Ranks>(size_);
    signal(SIGTERM, on_terminate);
  }
}

Session::~Session() {
  if (started_) {
    if (remote_ && !static_cast<Ranks&>(*remote_).idle) MPI_Abort(MPI_COMM_WORLD, 1);
    if (rank_ == 0)
      for (int r = 1; r < static_cast<int>(size_); ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kStop, MPI_COMM_WORLD);
    MPI_Finalize();
  }
  current = nullptr;
}

int Session::work() try {
  const blas::ThreadsGuard one(1);  // parallel jobs, not parallel GEMMs: as on rank 0
  for (;;) {
    const MPI_Status st = probe(0, MPI_ANY_TAG);
    if (st.MPI_TAG == kStop) {
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, kStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      return 0;
    }
    std::uint64_t head[3] = {0, 0, 0};
    check(MPI_Recv(head, 3, MPI_UINT64_T, 0, kAnnounce, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
    std::string bytes(head[0], '\0');
    broadcast(bytes);
    if (head[2] == TaskBatch) {  // one task at a time; the handler sets its own threads
      const TaskHandler handler = task_handler_;
      work_thread(
          [&](std::size_t task) {
            if (!handler) throw Error("this rank has no task handler");
            const std::uint64_t i = task;
            return std::string(reinterpret_cast<const char*>(&i), sizeof i) + handler(bytes, task);
          },
          "task", 0, rank_);
      continue;
    }
    std::unique_ptr<experiments::DecodedJobs> batch;
    std::string broken;
    try {
      batch = std::make_unique<experiments::DecodedJobs>(bytes);
    } catch (const std::exception& e) {
      broken = std::string("the batch did not decode: ") + e.what();  // each job reports it to rank 0
    }
    bytes.clear();
    bytes.shrink_to_fit();
    const std::function<std::string(std::size_t)> run = [&](std::size_t j) {
      if (!batch) throw Error(broken);
      experiments::RetrainRecord r = experiments::run_retrain_job(batch->jobs(), j);
      r.rank = rank_;
      return experiments::encode_record(r);
    };
    std::vector<std::thread> threads;
    for (std::uint32_t t = 1; t < head[1]; ++t) threads.emplace_back(work_thread, std::cref(run), "retraining job", t, rank_);
    work_thread(run, "retraining job", 0, rank_);
    for (auto& th : threads) th.join();
  }
} catch (const std::exception& e) {  // returning would let MPI_Finalize wait for rank 0, which waits for us
  std::fprintf(stderr, "inflab (rank %zu): %s\n", rank_, e.what());
  MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

const char* library_version() {
  static std::string v = [] {
    char s[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(s, &n);
    std::string t(s, static_cast<std::size_t>(n));
    return t.substr(0, t.find_first_of(",\n"));
  }();
  return v.c_str();
}

#endif

}  // namespace inflab::mpi
