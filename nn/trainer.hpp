// Training loops on the objective R(θ) of docs/conventions.md. Stochastic optimizers run epochs of
// seeded shuffled mini-batches (or full batch); L-BFGS and Newton run full batch to a
// gradient tolerance. Every run reports ‖∇R‖ over the whole training set, because
// influence functions assume a stationary point.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nn/objective.hpp"
#include "nn/optim.hpp"

namespace inflab::nn {

struct Schedule {
  enum Kind { Constant, Step, Cosine } kind = Constant;
  std::size_t step_every = 10;  // Step: multiply by gamma every step_every epochs
  double gamma = 0.1;
  double min_factor = 0.0;  // Cosine: lr goes from lr to lr·min_factor over the run
  double factor(std::size_t epoch, std::size_t epochs) const;
};

struct EpochStats {
  std::size_t epoch = 0, steps = 0;  // steps taken so far
  double loss = 0;                   // R(θ) on the full training set
  double accuracy = 0;               // NaN for regression
  double grad_norm = 0;              // ‖∇R(θ)‖ on the full training set
  double lr = 0, seconds = 0;
};

// Their table (names, help): nn/choices.hpp.
enum class Optimizer { Lbfgs, NewtonCg, Newton, Adam, Sgd };
// L-BFGS and the Newton methods run full batch to a gradient tolerance; SGD and Adam a budget of epochs.
inline bool to_tolerance(Optimizer o) { return o == Optimizer::Lbfgs || o == Optimizer::NewtonCg || o == Optimizer::Newton; }

struct TrainOptions {
  Optimizer optimizer = Optimizer::Adam;
  double lr = 1e-3;
  double momentum = 0;             // sgd
  std::size_t lbfgs_history = 10;  // lbfgs: correction pairs kept
  bool nesterov = false;           // sgd
  std::size_t epochs = 10;         // sgd/adam; iteration budget for lbfgs/newton is max_steps
  std::size_t batch_size = 0;      // 0: full batch
  std::size_t max_steps = 0;       // 0: no limit (lbfgs/newton-cg/newton: 2000/200/100)
  double grad_tol = 0;             // stop when ‖∇R‖ ≤ grad_tol (checked per epoch / iteration)
  Schedule schedule;
  std::uint64_t seed = 0;          // mini-batch order
  bool progress = true;            // a progress line on stderr when it is a terminal
  // sgd/adam: R, ‖∇R‖ and accuracy on the full training set after each epoch (history).
  // false skips that pass (one full-batch gradient per epoch) when nothing needs it —
  // no grad_tol, no callback; the result's loss and grad_norm are then NaN.
  bool evaluate_epochs = true;
  // After every epoch (sgd/adam) or iteration (lbfgs/newton); return false to stop.
  std::function<bool(const EpochStats&)> callback;
  // sgd/adam: after every step, with the steps taken, θ and that step's learning rate (TracIn's checkpoints).
  std::function<void(std::size_t step, const Tensor& theta, double lr)> on_step;
  // newton-cg: CG's preconditioner (nn/optim.hpp); null: none
  std::shared_ptr<const Preconditioner> preconditioner;
};

// What a training run is, as a problem's spec and a retraining protocol both state it (they
// extend it): one conversion to TrainOptions for both.
struct TrainingSpec {
  Optimizer optimizer = Optimizer::Lbfgs;  // lbfgs | newton-cg | newton: to grad_tol; sgd | adam: a budget of epochs
  double grad_tol = 1e-8;
  std::size_t max_steps = 0;  // 0: the optimizer's default budget
  std::size_t epochs = 20, batch_size = 0;
  double lr = 1e-3;           // sgd / adam
  std::uint64_t seed = 0;     // initialisation (a problem's) and mini-batch order
};
TrainOptions train_options(const TrainingSpec& s, bool progress);

struct TrainResult {
  Tensor theta;
  std::vector<EpochStats> history;
  double loss = 0, grad_norm = 0;
  std::size_t steps = 0;
  std::size_t evaluations = 0, hvps = 0;  // lbfgs/newton-cg/newton: R and ∇R evaluations, HVPs
  bool converged = false;  // grad_tol reached
  std::string stop_reason;
};

// Starts from theta0 (a warm start, e.g. θ̂ for retraining) and returns the final θ.
// Errors: bad options; data that does not fit the model; a non-finite loss or parameter
// (naming the step and the first parameter tensor that went non-finite).
TrainResult train(const Objective& obj, const data::Dataset& train_set, Tensor theta0, const TrainOptions& opt);
// The full-batch optimizers (lbfgs, newton-cg, newton) on any function of θ, to opt.grad_tol within
// opt.max_steps (0: 2000/200/100), with opt's progress, callback and preconditioner. train() runs
// them on R; other objectives (the PBRF, influence/pbrf.hpp) use this directly. Error for sgd/adam.
MinimizeResult minimize(const ad::Fn& f, const Tensor& theta0, const TrainOptions& opt);
// sgd/adam: the most steps train() takes on n rows (epochs × batches per epoch, capped by max_steps).
std::size_t planned_steps(const TrainOptions& opt, std::size_t n);

}  // namespace inflab::nn
