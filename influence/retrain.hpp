// Ground truth by retraining: remove a group (a single point for leave-one-out), retrain
// from θ̂ on the same objective (same λ), and record the actual change of each chosen test
// loss, Δ = ℓ(z_t; θ̂₋U) − ℓ(z_t; θ̂). Jobs run in parallel threads (each job's result
// does not depend on the thread count), every finished job is appended to a JSON-lines
// file at once, and a rerun with the same file skips what is done.
#pragma once
#include <string>
#include <vector>

#include "nn/trainer.hpp"

namespace inflab::influence {

// How to retrain; part of every result (and of the resume check).
struct RetrainProtocol {
  nn::Optimizer optimizer = nn::Optimizer::Lbfgs;  // lbfgs | newton: to grad_tol (the honest ground
                                                  // truth); sgd | adam: a fixed budget as in the
                                                  // published studies
  double grad_tol = 1e-8;
  std::size_t max_steps = 0;        // 0: the optimizer's default budget
  double lr = 1e-3;                 // sgd / adam
  std::size_t epochs = 10, batch_size = 0;
  std::uint64_t seed = 0;           // sgd / adam batch order (job j uses seed + j)
};

struct RetrainRecord {
  std::size_t job = 0;
  std::vector<std::size_t> removed;
  std::vector<double> test_loss_change;  // Δ for each test row, in order
  double grad_norm = 0;                  // ‖∇R₋U‖ at the end of retraining
  bool converged = false;                // grad_tol reached (always false for a fixed budget)
  std::size_t steps = 0;
  double seconds = 0;
};

struct RetrainRun {
  std::size_t threads = 1;
  std::string results_path;  // JSON lines; "" keeps results in memory only
  bool progress = true;      // a progress line on stderr when it is a terminal
  std::size_t stop_after = 0;  // run at most this many new jobs, then return (0: all) — for tests
};

// groups: the sets to remove (each checked); test_rows: rows of `test` whose loss is tracked.
// Refuses a results file written for a different configuration, naming the setting.
std::vector<RetrainRecord> retrain_groups(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                          const Tensor& theta_hat, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                          const RetrainRun& run = {});

// Leave-one-out for the given training rows.
std::vector<RetrainRecord> leave_one_out(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                         const Tensor& theta_hat, const std::vector<std::size_t>& rows,
                                         const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                         const RetrainRun& run = {});

}  // namespace inflab::influence
