// The training objective of docs/conventions.md, one definition for training, Hessians and
// retraining:
//   ℓ̃(z; θ) = ℓ(z; θ) + (λ/2)‖θ‖²,   R(θ) = (1/n) Σᵢ ℓ̃(zᵢ; θ) = mean ℓ + (λ/2)‖θ‖².
#pragma once
#include "autodiff/functional.hpp"
#include "datasets/dataset.hpp"
#include "nn/model.hpp"

namespace inflab::nn {

enum class LossKind {
  CrossEntropy,    // softmax cross-entropy; labels in [0, C), model output [C]
  BinaryLogistic,  // log(1 + eᶻ) − y z; labels in {0, 1}, model output [1]
  MSE              // mean over outputs of (f(x) − t)²; regression targets, output shaped like t
};
LossKind parse_loss(const std::string& name);  // "cross_entropy", "binary_logistic", "mse"
const char* loss_name(LossKind k);

class Objective {
 public:
  // Error if λ is negative or not finite, or the loss does not fit the model's output.
  Objective(Model model, LossKind loss, double weight_decay);
  const Model& model() const { return model_; }
  LossKind loss() const { return loss_; }
  double weight_decay() const { return lambda_; }

  // ℓ(zᵢ; θ) for every row of d, without the regulariser: [n].
  ad::Var losses(ad::Var theta, const data::Dataset& d) const;
  // The model's outputs f(θ, xᵢ) for every row of d: [n, ...output shape].
  ad::Var outputs(ad::Var theta, const data::Dataset& d) const;
  // The loss of given outputs z (shaped as outputs()) against d's labels or targets: [n].
  // losses(θ, d) = output_losses(outputs(θ, d), d); the PBRF's Bregman divergence needs it alone.
  ad::Var output_losses(ad::Var z, const data::Dataset& d) const;
  // R(θ) over d (0-d).
  ad::Var value(ad::Var theta, const data::Dataset& d) const;
  // θ ↦ R(θ) over d, for value_and_grad / hvp / hessian. Keeps references to this
  // Objective and to d: both must outlive the returned function.
  ad::Fn fn(const data::Dataset& d) const;
  // Fraction of rows classified right (argmax, or z > 0 for binary); NaN for MSE.
  double accuracy(const Tensor& theta, const data::Dataset& d) const;
  // The predicted class of every row (argmax, or z > 0 for binary); Error for MSE.
  std::vector<std::size_t> predict(const Tensor& theta, const data::Dataset& d) const;
  void check_fits(const data::Dataset& d) const;  // Error naming the mismatch

 private:
  Model model_;
  LossKind loss_;
  double lambda_;
};

}  // namespace inflab::nn
