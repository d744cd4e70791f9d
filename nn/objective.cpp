#include "nn/objective.hpp"

#include "nn/choices.hpp"

#include <cmath>
#include <limits>

#include "autodiff/ops.hpp"

namespace inflab::nn {

LossKind parse_loss(const std::string& name) {
  if (!losses().has(name)) throw Error("unknown loss '" + name + "' (choose " + losses().names() + ")");
  return losses().parse(name);
}

const char* loss_name(LossKind k) { return losses().name(k).c_str(); }

Objective::Objective(Model model, LossKind loss, double weight_decay)
    : model_(std::move(model)), loss_(loss), lambda_(weight_decay) {
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw Error("weight decay must be a finite number ≥ 0, got " + std::to_string(weight_decay));
  const Shape out = model_.output_shape();
  if (loss == LossKind::BinaryLogistic && out != Shape{1})
    throw Error("binary_logistic needs a model with one output, this one gives " + shape_str(out));
  if (loss == LossKind::CrossEntropy && (out.size() != 1 || out[0] < 2))
    throw Error("cross_entropy needs a model output [classes ≥ 2], this one gives " + shape_str(out));
}

void Objective::check_fits(const data::Dataset& d) const {
  const Shape s = d.sample_shape();
  if (s != model_.input_shape())
    throw Error("dataset '" + d.name + "' has samples of shape " + shape_str(s) + " but the model takes " +
                shape_str(model_.input_shape()));
  const Shape out = model_.output_shape();
  if (loss_ == LossKind::MSE) {
    if (d.is_classification()) throw Error("mse needs regression targets; dataset '" + d.name + "' has class labels");
    const Shape ts = shape_of(d.targets);
    const std::size_t per = ts.size() > 1 ? numel(ts) / ts[0] : 1;
    if (per != numel(out))
      throw Error("dataset '" + d.name + "' has " + std::to_string(per) + " targets per row, the model outputs " + shape_str(out));
    return;
  }
  if (!d.is_classification()) throw Error(std::string(loss_name(loss_)) + " needs class labels; dataset '" + d.name + "' has none");
  if (loss_ == LossKind::CrossEntropy && d.num_classes() > out[0])
    throw Error("dataset '" + d.name + "' has " + std::to_string(d.num_classes()) + " classes, the model outputs " +
                std::to_string(out[0]));
  if (loss_ == LossKind::BinaryLogistic && d.num_classes() != 2)
    throw Error("binary_logistic needs 2 classes; dataset '" + d.name + "' has " + std::to_string(d.num_classes()));
}

ad::Var Objective::outputs(ad::Var theta, const data::Dataset& d) const {
  check_fits(d);
  return model_.forward(theta, theta.tape->leaf(d.X, false));
}

ad::Var Objective::losses(ad::Var theta, const data::Dataset& d) const { return output_losses(outputs(theta, d), d); }

ad::Var Objective::output_losses(ad::Var z, const data::Dataset& d) const {
  switch (loss_) {
    case LossKind::CrossEntropy: return ad::cross_entropy(z, d.y);
    case LossKind::BinaryLogistic: return ad::binary_logistic(z, std::vector<double>(d.y.begin(), d.y.end()));
    case LossKind::MSE: {
      Tensor t = d.targets;
      t.reshape(shape_of(z.value()));
      return ad::mse(z, z.tape->leaf(t, false));
    }
  }
  throw Error("unknown loss");
}

ad::Var Objective::value(ad::Var theta, const data::Dataset& d) const {
  ad::Var m = ad::mean(losses(theta, d));
  return lambda_ > 0 ? ad::add(m, ad::mul_scalar(ad::sq_norm(theta), lambda_ / 2)) : m;
}

ad::Fn Objective::fn(const data::Dataset& d) const {
  return [this, &d](ad::Var th) { return value(th, d); };
}

std::vector<std::size_t> Objective::predict(const Tensor& theta, const data::Dataset& d) const {
  if (loss_ == LossKind::MSE) throw Error("predict: a regression model has no classes");
  check_fits(d);
  ad::TapeScope scope;
  const Tensor z = model_.forward(ad::constant(theta), ad::constant(d.X)).value();
  const std::size_t n = d.size(), C = z.size() / std::max<std::size_t>(n, 1);
  std::vector<std::size_t> pred(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (loss_ == LossKind::BinaryLogistic) pred[i] = z.data()[i] > 0 ? 1 : 0;
    else
      for (std::size_t c = 1; c < C; ++c)
        if (z.data()[i * C + c] > z.data()[i * C + pred[i]]) pred[i] = c;
  }
  return pred;
}

double Objective::accuracy(const Tensor& theta, const data::Dataset& d) const {
  if (loss_ == LossKind::MSE) return std::numeric_limits<double>::quiet_NaN();
  const auto pred = predict(theta, d);
  std::size_t right = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) right += pred[i] == d.y[i];
  return pred.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(pred.size());
}

}  // namespace inflab::nn
