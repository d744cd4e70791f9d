// Influence quantities (conventions: docs/conventions.md). With s the solution
// of (H + μI) s = ∇ℓ(z_t):
//   up-weighting influence   I(zᵢ, z_t) = −∇ℓ(z_t)ᵀ (H + μI)⁻¹ ∇ℓ̃(zᵢ) = −sᵀ∇ℓ̃(zᵢ)   (not / n)
//   predicted removal change Δ̂(zᵢ)     = (1/n) sᵀ∇ℓ̃(zᵢ) = −I/n                   (/ n)
// Δ̂ > 0: removing zᵢ raises the test loss (zᵢ helped). All n values come from one
// batched forward-mode pass of the per-example losses along s (no per-example gradients).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "influence/solvers.hpp"

namespace inflab::influence {

// Which solver and its settings.
struct SolverChoice {
  Method method = Method::Cg;
  double damping = 0;
  ExactOptions exact;
  CgOptions cg;
  LissaOptions lissa;
  LowRankOptions lowrank;
};
SolveResult solve(const CurvatureOperator& A, const Tensor& b, const SolverChoice& c);

// The same for many right-hand sides: with method exact, the eigendecomposition is computed
// on the first solve and reused.
class InverseHvp {
 public:
  InverseHvp(const CurvatureOperator& A, SolverChoice c);
  SolveResult operator()(const Tensor& b) const;
  const CurvatureOperator& op() const { return A_; }
  const SolverChoice& choice() const { return c_; }

 private:
  const CurvatureOperator& A_;
  SolverChoice c_;
  mutable std::shared_ptr<const Eigen> eigen_;
};

// ∇θ Σ_{t ∈ rows} ℓ(z_t; θ): the test loss has no regulariser. Error for a bad index.
Tensor test_loss_gradient(const nn::Objective& obj, const data::Dataset& test, const std::vector<std::size_t>& rows,
                          const Tensor& theta, double* loss = nullptr);

// ∇ℓ̃(zᵢ)ᵀ s for every training row: forward mode, k directions at once ([p] -> [n],
// [k, p] -> [k, n]); rows processed `batch` at a time (0: all).
Tensor train_gradient_dots(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const Tensor& S,
                           std::size_t batch = 0);
// The baseline and cross-check: one reverse pass per training row, ∇ℓ̃(zᵢ) explicitly.
Tensor train_gradient_dots_explicit(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                                    const Tensor& s);
Tensor per_example_gradient(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, std::size_t row);

struct Influence {
  Tensor s;                 // (H + μI)⁻¹ ∇f(θ̂), f the test loss or test function
  SolveResult solve;
  Tensor predicted_change;  // Δ̂(zᵢ) [n], divided by n
  Tensor influence;         // I(zᵢ, ·) [n] = −n Δ̂, not divided by n
  double test_value = 0;    // f(θ̂)
  double grad_norm = 0;     // ‖∇R(θ̂)‖ of the training objective
  std::string warning;      // set when θ̂ is not (near) stationary
};

// Influence of every training point on the summed test loss of `test_rows`.
Influence influence_on_test(const CurvatureOperator& A, const data::Dataset& test, const std::vector<std::size_t>& test_rows,
                            const SolverChoice& c, double stationary_tol = 1e-5);
// Δ̂ for several test points separately: one solve each, then one forward-mode pass with
// all m directions at once. Returns [m, n] (row j: test point rows[j]; divided by n).
Tensor predicted_changes_each(const CurvatureOperator& A, const data::Dataset& test, const std::vector<std::size_t>& rows,
                              const SolverChoice& c, std::vector<SolveResult>* solves = nullptr);
// … on any differentiable test function f(θ) (a margin, a set's total loss, …).
Influence influence_on_function(const CurvatureOperator& A, const ad::Fn& f, const SolverChoice& c,
                                double stationary_tol = 1e-5);

// Δθ when training row i is removed: (1/n)(H + μI)⁻¹∇ℓ̃(zᵢ) (divided by n).
Tensor parameter_change(const CurvatureOperator& A, std::size_t row, const SolverChoice& c);
// Self-influence ∇ℓ̃(zᵢ)ᵀ(H + μI)⁻¹∇ℓ̃(zᵢ) for every row (not divided by n); one dense
// eigendecomposition when method is exact, else one solve per row.
// With an indefinite H the exact path follows c.exact.indefinite (abs, drop) as solves do.
// `warning` (if given): how many rows' solves warned and the first warning (iterative methods);
// for exact, the eigenvalues of H + μI that make gᵀ(H + μI)⁻¹g negative or unbounded (eigen_signs:
// negative ones under indefinite = invert, and those 0 to rounding unless dropped).
Tensor self_influence(const CurvatureOperator& A, const SolverChoice& c, std::string* warning = nullptr);

struct Ranked {
  std::size_t index;
  double value;
};
// The k rows with the largest positive Δ̂ (most helpful: removing them raises the test loss
// most) or, with helpful = false, the most negative (most harmful). Rows of the other sign
// (or 0) are never listed, so a list holds fewer than k when fewer have its sign.
std::vector<Ranked> top_k(const Tensor& predicted_change, std::size_t k, bool helpful);
// ℓ(zᵢ; θ) of every row of d (no regulariser), in one pass: [n].
Tensor row_losses(const nn::Objective& obj, const data::Dataset& d, const Tensor& theta);
// The k rows with the largest |v|, largest first (ties keep row order): the rows whose
// removal is predicted to matter most, the ones retraining checks.
std::vector<std::size_t> largest_magnitude(const Tensor& v, std::size_t k);

}  // namespace inflab::influence
