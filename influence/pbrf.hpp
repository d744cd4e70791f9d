// The proximal Bregman response function (Bae, Ng, Lo, Ghassemi & Grosse, NeurIPS 2022): what
// influence with the damped Gauss–Newton matrix answers on a network, as an objective to minimise
// from a trained θˢ (converged or not) instead of retraining without the removed rows:
//   P_ε(θ) = (1/n) Σᵢ D(f(θ,xᵢ), f(θˢ,xᵢ); tᵢ) + ((λ + μ)/2)‖θ − θˢ‖² − Σᵢ εᵢ ℓ̃(zᵢ; θ),
//   D(y, y′; t) = ℓ(y, t) − ℓ(y′, t) − ∇_yℓ(y′, t)ᵀ(y − y′)   (the loss's Bregman divergence),
// ℓ̃ = ℓ + (λ/2)‖θ‖² (docs/conventions.md); removing rows U is εᵢ = 1/n on U. The weight decay of R
// enters as its own Bregman divergence, (λ/2)‖θ − θˢ‖² (exact: it is quadratic), so ∇²P₀(θˢ) =
// G + μI with G the Gauss–Newton matrix including λI, and the first Newton step from θˢ is the
// damped Gauss–Newton influence step (G + μI)⁻¹ Σᵢ εᵢ ∇ℓ̃(zᵢ; θˢ). docs/influence.md, "PBRF".
#pragma once
#include <vector>

#include "autodiff/functional.hpp"
#include "nn/objective.hpp"

namespace inflab::influence {

class Pbrf {
 public:
  // Errors: θˢ of the wrong size or not finite, μ < 0 or not finite, and λ + μ = 0 (then the
  // removed rows' term, linear in their outputs, leaves P without a minimiser in general).
  // Keeps references to obj and train (they must outlive it).
  Pbrf(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta_s, double damping);
  // θ ↦ P_ε(θ) for the removal weights ε [n] of the training rows (keeps a reference to this).
  ad::Fn fn(std::vector<double> epsilon) const;
  // The removal of rows U: ε = 1/n on U (Error naming a row out of range).
  ad::Fn removal(const std::vector<std::size_t>& rows) const;
  const Tensor& theta_s() const { return theta_s_; }
  double damping() const { return mu_; }

 private:
  const nn::Objective& obj_;
  const data::Dataset& train_;
  Tensor theta_s_;
  double mu_;
  Tensor out_grad_;      // ∇_y ℓ(f(θˢ, xᵢ), tᵢ), shaped as the outputs [n, …]
  double constant_ = 0;  // Σᵢ −ℓ(yᵢˢ) + ∇_yℓ(yᵢˢ)ᵀ yᵢˢ, so that P₀(θˢ) = 0
};

}  // namespace inflab::influence
