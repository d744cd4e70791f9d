// Ground truth by retraining: remove a group (a single point for leave-one-out), retrain
// from θ̂ on the same objective (same λ), and record the actual change of each chosen test
// loss, Δ = ℓ(z_t; θ̂₋U) − ℓ(z_t; θ̂); or minimise the proximal Bregman response of U from θ̂
// instead (RetrainProtocol::target), Δ = ℓ(z_t; θ_PBRF) − ℓ(z_t; θ̂). Jobs run in parallel threads and, under MPI, in
// other processes (a job's result does not depend on where it ran), every finished job is
// appended to a JSON-lines file at once, and a rerun with the same file skips what is done.
#pragma once
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "experiments/choices.hpp"
#include "nn/trainer.hpp"

namespace inflab::experiments {

// How to retrain; part of every result (and of the resume check).
// The training part (nn::TrainingSpec): newton-cg (the default) | lbfgs | newton to grad_tol
// (the honest ground truth; Newton–CG is the fastest there, docs/influence.md); sgd | adam a
// fixed budget as in the published studies, 10 epochs unless set; job j's batch order uses seed + j.
struct RetrainProtocol : nn::TrainingSpec {
  RetrainProtocol() {
    optimizer = nn::Optimizer::NewtonCg;
    epochs = 10;
  }
  // Second-order stationarity of every retrained θ: λmin of ∇²R₋U(θ) — exact dense
  // eigenvalues when p ≤ exact_eigen_up_to, else the smallest Ritz value of `lanczos_steps`
  // Lanczos steps (an upper bound of λmin). θ is a saddle when
  // λmin < −saddle_tol·max(1, |λmax|). check_saddles = false skips it (lambda_min stays NaN).
  bool check_saddles = true;
  double saddle_tol = 1e-6;
  std::size_t exact_eigen_up_to = 2000, lanczos_steps = 60;
  // Perturb and continue (off by default): at a saddle, step along the eigenvector of λmin
  // (both signs tried, the lower R₋U kept; the step ε is the largest of 1, ½, ¼, … whose
  // decrease is at least half the quadratic model's ½|λmin|ε²) and retrain again, up to
  // max_escapes times. Δ is then measured at a lower stationary point than the one
  // retraining from θ̂ reaches — no longer the nearest one (docs/influence.md).
  bool escape_saddles = false;
  std::size_t max_escapes = 3;
  // newton-cg: CG's preconditioner, built once at θ̂ on the whole training set for all jobs —
  // every retrained Hessian differs from ∇²R(θ̂) by O(|U|/n): spectral (the top
  // `preconditioner_rank` eigenpairs, influence::spectral_preconditioner), EK-FAC + λI, or none.
  RetrainPreconditioning preconditioning = RetrainPreconditioning::Spectral;
  std::size_t preconditioner_rank = 64;
  // What is minimised from θ̂: R₋U (loo), R₋U + (μ/2)‖θ − θ̂‖² (loo-proximal), or the PBRF of U
  // at θ̂ (influence/pbrf.hpp), μ = `damping`; the last two to a tolerance (lbfgs, newton-cg or
  // newton). Δ is the test-loss change at what was minimised.
  // From scratch instead (from_scratch(target)): the training part of this protocol run from the
  // initialisation init(seed) — R₋U (loo-cold), or the sgd run with U's weights 0 in the same
  // batches (unrolled, influence/unrolled.hpp) — and Δ against the full data trained the same way
  // (computed first, at one BLAS thread like every job of these targets), not against θ̂.
  // for_problem() makes that training θ̂'s own.
  RetrainTarget target = RetrainTarget::Loo;
  double damping = 0;
};

// How a retraining job ended.
//   Converged  — ‖∇R₋U‖ ≤ grad_tol after ≥ 1 step, and no saddle (or not checked);
//   Budget     — the step budget ran out first (always for sgd/adam: a fixed budget);
//   Saddle     — ‖∇R₋U‖ ≤ grad_tol but ∇²R₋U has λmin < −saddle_tol·max(1, |λmax|);
//   Unresolved — θ̂ already met ‖∇R₋U‖ ≤ grad_tol, so no step was taken and Δ = 0 says
//                only that the tolerance is too loose to resolve the change;
//   Replayed   — target unrolled: the training run replayed for its budget with U's weights 0,
//                the exact Δ of that run (no minimum is sought).
enum class RetrainStatus { Converged, Budget, Saddle, Unresolved, Replayed };
// exact for its target: converged to a minimum, or the run replayed
inline bool exact(RetrainStatus s) { return s == RetrainStatus::Converged || s == RetrainStatus::Replayed; }
const char* status_name(RetrainStatus s);  // "converged", "budget", "saddle", "unresolved", "replayed"
RetrainStatus status_from_name(const std::string& s);  // Error for another name

struct RetrainRecord {
  std::size_t job = 0;
  std::vector<std::size_t> removed;
  std::vector<double> test_loss_change;  // Δ for each test row, in order
  double grad_norm = 0;                  // ‖∇R₋U‖ at the end of retraining
  bool converged = false;                // status == Converged (false for a fixed budget, a saddle, 0 steps)
  std::size_t steps = 0;                 // optimizer steps, over all escapes
  double seconds = 0;
  RetrainStatus status = RetrainStatus::Budget;
  std::string status_reason;             // "" when converged, else a user-facing sentence
  double lambda_min = std::numeric_limits<double>::quiet_NaN();  // λmin(∇²R₋U(θ)) at the end; NaN: not checked
  double lambda_max = std::numeric_limits<double>::quiet_NaN();  // λmax there (the saddle test's scale)
  bool saddle = false;                   // λmin < −saddle_tol·max(1, |λmax|) at the end
  std::size_t escapes = 0;               // perturb-and-continue steps taken (escape_saddles)
  bool resumed = false;                  // read back from the journal, not computed in this call
  std::size_t rank = 0;                  // the MPI rank that computed it (0: rank 0, or one process)
  double distance = std::numeric_limits<double>::quiet_NaN();  // ‖θ − θ̂‖ at the end (NaN: a journal line from before it)
};

struct RetrainJobs;

// Workers in other processes (MPI ranks; mpi/session.hpp): retrain_groups feeds them from the
// same queue as its own threads.
class RemoteWorkers {
 public:
  virtual ~RemoteWorkers() = default;
  virtual std::size_t ranks() const = 0;  // processes, this one included
  // Sends the batch to every other rank, then serves their `threads` threads each until all
  // are idle again: each asks next() for a job (nullopt: none left); a result goes to
  // finished(), a job that threw to failed(message). Throws when the transport fails.
  virtual void serve(const RetrainJobs& jobs, std::size_t threads, const std::function<std::optional<std::size_t>()>& next,
                     const std::function<void(RetrainRecord)>& finished, const std::function<void(const std::string&)>& failed) = 0;
  // Whole tasks instead of retraining jobs (a study's settings): sends `payload` — all that
  // every task needs — to every other rank, then serves one task at a time per rank until all
  // are idle: next() gives a task's index, a rank's answer goes to finished(task, result), a
  // task that threw to failed(message). The other ranks run the handler mpi::Session was given.
  virtual void serve_tasks(const std::string& payload, const std::function<std::optional<std::size_t>()>& next,
                           const std::function<void(std::size_t, std::string)>& finished,
                           const std::function<void(const std::string&)>& failed) = 0;
};

struct RetrainRun {
  std::size_t threads = 1;   // per process
  RemoteWorkers* remote = nullptr;  // other processes that take jobs too (MPI); nullptr: this one only
  std::string results_path;  // JSON lines; "" keeps results in memory only
  bool progress = true;      // a progress line on stderr when it is a terminal
  std::size_t stop_after = 0;  // run at most this many new jobs, then return (0: all) — for tests
};

// groups: the sets to remove (each checked; an empty one removes nothing — retraining then
// measures the protocol's own noise); test_rows: rows of `test` whose loss is tracked.
// Refuses a results file written for a different configuration, naming the setting.
std::vector<RetrainRecord> retrain_groups(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                          const Tensor& theta_hat, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                          const RetrainRun& run = {});

// loo-cold and unrolled: the protocol's training part (optimizer, tolerance, budget, batches,
// seed) becomes θ̂'s own `spec`, so a job is θ̂'s training without the rows; other targets unchanged.
RetrainProtocol for_problem(RetrainProtocol protocol, const nn::TrainingSpec& spec);

// The same on a problem's θ̂ and data, with for_problem(protocol, p.spec).
struct Problem;
std::vector<RetrainRecord> retrain_groups(const Problem& p, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                          const RetrainRun& run = {});

// Leave-one-out for the given training rows.
std::vector<RetrainRecord> leave_one_out(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                         const Tensor& theta_hat, const std::vector<std::size_t>& rows,
                                         const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                         const RetrainRun& run = {});

}  // namespace inflab::experiments
