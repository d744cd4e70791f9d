// Optimizers on the flat θ. Stochastic: SGD (momentum, Nesterov) and Adam, one step at a
// time. Full batch: L-BFGS with a strong-Wolfe line search, and damped Newton with the
// dense Hessian (tiny models), both run to a gradient-norm tolerance and report it.
#pragma once
#include <functional>
#include <string>

#include "autodiff/functional.hpp"

namespace inflab::nn {

void check_learning_rate(double lr);  // Error unless finite and > 0

struct Sgd {
  double momentum = 0;    // heavy-ball coefficient
  bool nesterov = false;  // PyTorch's formulation
  Tensor velocity;
  void step(Tensor& theta, const Tensor& grad, double lr);
};

struct Adam {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  Tensor m, v;
  std::size_t t = 0;
  void step(Tensor& theta, const Tensor& grad, double lr);
};

// f(θ) and ∇f(θ) over the whole training set.
using ValueGradFn = std::function<double(const Tensor& theta, Tensor& grad)>;

struct MinimizeResult {
  Tensor theta;
  double value = 0, grad_norm = 0;
  std::size_t iterations = 0, evaluations = 0;
  bool converged = false;  // ‖∇f‖ ≤ grad_tol
  std::string message;
};

struct LbfgsOptions {
  std::size_t history = 10;
  double grad_tol = 1e-8;
  std::size_t max_iterations = 2000;
  // Called before each iteration; returning false stops the run.
  std::function<bool(std::size_t iter, double value, double grad_norm)> on_iteration;
};
MinimizeResult lbfgs(const ValueGradFn& f, Tensor theta, const LbfgsOptions& opt = {});

struct NewtonOptions {
  double grad_tol = 1e-8;
  std::size_t max_iterations = 100;
  double damping = 0;  // μ in (H + μI) d = −g; raised automatically while H + μI is not positive definite
  // Stop at the precision floor after this many stalled iterations in a row (0: never).
  std::size_t stall_iterations = 3;
  // Called before each iteration; returning false stops the run.
  std::function<bool(std::size_t iter, double value, double grad_norm)> on_iteration;
};
MinimizeResult newton(const ad::Fn& f, Tensor theta, const NewtonOptions& opt = {});

}  // namespace inflab::nn
