#include "influence/pbrf.hpp"

#include <cmath>

#include "autodiff/ops.hpp"

namespace inflab::influence {

Pbrf::Pbrf(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta_s, double damping)
    : obj_(obj), train_(train), theta_s_(theta_s), mu_(damping) {
  obj.check_fits(train);
  if (theta_s.size() != obj.model().param_count())
    throw Error("PBRF: θˢ has " + std::to_string(theta_s.size()) + " values, the model has " +
                std::to_string(obj.model().param_count()) + " parameters");
  for (double v : theta_s)
    if (!std::isfinite(v)) throw Error("PBRF: θˢ is not finite");
  if (!(damping >= 0) || !std::isfinite(damping)) throw Error("PBRF: damping μ must be a finite number ≥ 0, got " + std::to_string(damping));
  if (obj.weight_decay() + damping == 0)
    throw Error("PBRF: weight decay λ = 0 and damping μ = 0 leave the response without a minimiser (the removed rows' term is "
                "linear in their outputs): give a damping μ > 0");
  // yˢ = f(θˢ, X); ∇_y Σᵢ ℓ(yᵢ) at yˢ by one reverse sweep over the outputs as the variable
  Tensor ys;
  {
    ad::TapeScope scope;
    ys = obj.outputs(ad::constant(theta_s), train).value();
  }
  const Shape shape = shape_of(ys);
  Tensor flat = ys;
  flat.reshape({ys.size()});
  const ad::ValueGrad vg = ad::value_and_grad([&](ad::Var y) { return ad::sum(obj.output_losses(ad::reshape(y, shape), train)); }, flat);
  out_grad_ = vg.grad;
  out_grad_.reshape(shape);
  constant_ = -vg.value + dot(vg.grad, flat);
}

ad::Fn Pbrf::fn(std::vector<double> epsilon) const {
  const std::size_t n = train_.size();
  if (epsilon.size() != n)
    throw Error("PBRF: " + std::to_string(epsilon.size()) + " removal weights for " + std::to_string(n) + " training rows");
  // Σᵢ (1/n − εᵢ) ℓᵢ − (1/n) Σᵢ gᵢᵀ yᵢ + constant/n: the Bregman sum and the removal in one weighted sum
  Tensor w = zeros({n});
  double removed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    w(i) = 1.0 / static_cast<double>(n) - epsilon[i];
    removed += epsilon[i];
  }
  const double lambda = obj_.weight_decay();
  return [this, w = std::move(w), removed, lambda, n](ad::Var theta) {
    ad::Tape& tape = *theta.tape;
    const ad::Var y = obj_.outputs(theta, train_);
    const ad::Var losses = obj_.output_losses(y, train_);
    ad::Var v = ad::sub(ad::sum(ad::mul(losses, tape.leaf(w, false))),
                        ad::mul_scalar(ad::sum(ad::mul(y, tape.leaf(out_grad_, false))), 1.0 / static_cast<double>(n)));
    v = ad::add_scalar(v, constant_ / static_cast<double>(n));
    v = ad::add(v, ad::mul_scalar(ad::sq_norm(ad::sub(theta, tape.leaf(theta_s_, false))), (lambda + mu_) / 2));
    if (removed != 0 && lambda > 0) v = ad::sub(v, ad::mul_scalar(ad::sq_norm(theta), removed * lambda / 2));
    return v;
  };
}

ad::Fn Pbrf::removal(const std::vector<std::size_t>& rows) const {
  const std::size_t n = train_.size();
  std::vector<double> eps(n, 0.0);
  for (std::size_t r : rows) {
    if (r >= n) throw Error("PBRF: removed row " + std::to_string(r) + " is out of range (" + std::to_string(n) + " training rows)");
    eps[r] = 1.0 / static_cast<double>(n);
  }
  return fn(std::move(eps));
}

}  // namespace inflab::influence
