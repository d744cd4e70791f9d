// Optimizers on the flat θ. Stochastic: SGD (momentum, Nesterov) and Adam, one step at a
// time. Full batch: L-BFGS with a strong-Wolfe line search, damped Newton with the dense
// Hessian (tiny models), and trust-region Newton–CG with exact HVPs (any size), all run to a
// gradient-norm tolerance and report it.
#pragma once
#include <functional>
#include <memory>
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
  std::size_t hvps = 0;    // Hessian-vector products (newton_cg)
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

// Newton–CG's preconditioner: P⁻¹v for a symmetric positive definite P close to the Hessian
// (CG's iterations then depend on the spectrum of P⁻¹H). Implementations: the spectral one
// below; influence::KfacPreconditioner (EK-FAC + λI).
class Preconditioner {
 public:
  virtual ~Preconditioner() = default;
  virtual Tensor solve(const Tensor& v) const = 0;
};

// P = V diag(Λ) Vᵀ + σ(I − VVᵀ) with orthonormal rows V [k, p], Λ > 0, σ > 0: the Hessian's
// top-k eigenpairs kept, the rest of the spectrum mapped to σ.
struct SpectralPreconditioner final : Preconditioner {
  Tensor vectors;  // V [k, p]
  Tensor values;   // Λ [k]
  double sigma = 1;
  Tensor apply(const Tensor& v) const;           // P v
  Tensor solve(const Tensor& v) const override;  // P⁻¹ v = v/σ + V((1/Λ − 1/σ) ∘ Vᵀv)
  void check() const;                            // Error unless Λ, σ finite and > 0
};

// Trust-region Newton–CG (Steihaug–Toint; Nocedal & Wright, Algorithm 7.2): each step
// minimises the quadratic model g·s + ½sᵀHs over ‖s‖ ≤ Δ by CG with exact HVPs at one
// recorded θ, stopping at the boundary or along negative curvature, and at the relative
// residual min(½, √‖g‖) (superlinear near a minimum) or the absolute 0.1·grad_tol, whichever
// is larger (the next ‖∇R‖ is about that residual; below it CG buys nothing). From θ̂ the first step is the
// influence step itself, so a leave-one-out retrain converges in a few steps.
struct NewtonCgOptions {
  double grad_tol = 1e-8;
  std::size_t max_iterations = 200;  // trust-region steps
  std::size_t max_cg = 0;            // CG iterations per step; 0: min(p, 500)
  double radius = 1;                 // the first trust radius Δ₀ (‖s‖, or ‖s‖_P = √(sᵀPs) with P)
  // A rejected step's smaller region is cut from the same CG path (kept at the radii
  // Δ·2⁻ᵐ it crossed) instead of running CG again; false: CG again (the same steps, to check).
  bool recycle_path = true;
  // Preconditioned CG (Steihaug's trust region then in P's norm); null: P = I.
  std::shared_ptr<const Preconditioner> preconditioner;
  // Stop at the precision floor after this many rejected steps in a row whose predicted
  // decrease was below R's rounding (0: never).
  std::size_t stall_iterations = 3;
  std::function<bool(std::size_t iter, double value, double grad_norm)> on_iteration;
};
MinimizeResult newton_cg(const ad::Fn& f, Tensor theta, const NewtonCgOptions& opt = {});

}  // namespace inflab::nn
