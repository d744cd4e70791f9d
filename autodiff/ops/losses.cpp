// Losses composed from primitives (their derivatives follow from the primitives').
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

Var cross_entropy_mean(Var logits, const std::vector<std::size_t>& labels) {
  return mean(cross_entropy(logits, labels));
}

// Per-example mean over trailing axes of (pred − target)².
Var mse(Var pred, Var target) {
  const Shape sp = pred.shape(), st = target.shape();
  if (sp != st) throw Error("mse: prediction " + shape_str(sp) + " and target " + shape_str(st) + " differ");
  if (sp.empty()) throw Error("mse: needs at least 1 dimension (examples), got a scalar");
  Var d2 = square(sub(pred, target));
  if (sp.size() == 1) return d2;
  return mean_axis(reshape(d2, Shape{sp[0], numel(sp) / sp[0]}), 1);
}

Var mse_mean(Var pred, Var target) { return mean(mse(pred, target)); }

// log(1 + eᶻ) − y z, stable via softplus; z is [n] or [n, 1].
Var binary_logistic(Var z, const std::vector<double>& y) {
  const Shape s = z.shape();
  if (numel(s) != y.size() || s.empty() || s[0] != y.size())
    throw Error("binary_logistic: " + std::to_string(y.size()) + " labels for scores of shape " +
                shape_str(s));
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] != 0.0 && y[i] != 1.0)
      throw Error("binary_logistic: label " + std::to_string(y[i]) + " at row " +
                  std::to_string(i) + " is not 0 or 1");
  Var zz = reshape(z, Shape{y.size()});
  Var yy = detail::tape_of("binary_logistic", z).leaf(tensor(Shape{y.size()}, y), false);
  return sub(softplus(zz), mul(yy, zz));
}

}  // namespace inflab::ad
