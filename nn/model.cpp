#include "nn/model.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include "autodiff/ops.hpp"
#include "util/random.hpp"

namespace inflab::nn {

Model::Model(ModulePtr root, Shape input_shape) : root_(std::move(root)), input_shape_(std::move(input_shape)) {
  if (!root_) throw Error("Model: no root module");
  output_shape_ = root_->output_shape(input_shape_);  // validates every layer's fit
  root_->params(params_, "");
  for (auto& s : params_) {
    s.offset = p_;
    p_ += numel(s.shape);
  }
}

Tensor Model::init(std::uint64_t seed) const {
  Tensor theta = zeros({p_});
  std::mt19937_64 g(seed);
  for (const auto& s : params_) {
    if (s.init == Init::Zero) continue;
    for (std::size_t i = 0; i < numel(s.shape); ++i) {
      const double u = util::uniform(g);
      theta(s.offset + i) = s.bound * (2 * u - 1);
    }
  }
  return theta;
}

ad::Var Model::forward(ad::Var theta, ad::Var X) const {
  if (theta.shape() != Shape{p_})
    throw Error("Model: θ has shape " + shape_str(theta.shape()) + " but the model has " + std::to_string(p_) +
                " parameters");
  const Shape sx = X.shape();
  if (sx.empty() || Shape(sx.begin() + 1, sx.end()) != input_shape_)
    throw Error("Model: inputs of shape " + shape_str(sx) + " do not fit the model, which takes [n, " +
                shape_str(input_shape_).substr(1));
  ParamCursor cur(theta);
  ad::Var y = root_->forward(X, cur);
  if (cur.used() != p_) throw Error("Model: forward used " + std::to_string(cur.used()) + " of " + std::to_string(p_) + " parameters");
  return y;
}

std::map<std::string, Tensor> Model::unflatten(const Tensor& theta) const {
  if (theta.size() != p_) throw Error("Model: θ has " + std::to_string(theta.size()) + " values, expected " + std::to_string(p_));
  std::map<std::string, Tensor> out;
  for (const auto& s : params_) {
    Tensor t = Tensor::from_shape(s.shape);
    std::copy(theta.data() + s.offset, theta.data() + s.offset + t.size(), t.data());
    out.emplace(s.name, std::move(t));
  }
  return out;
}

Tensor Model::flatten(const std::map<std::string, Tensor>& named) const {
  Tensor theta = zeros({p_});
  for (const auto& s : params_) {
    const auto it = named.find(s.name);
    if (it == named.end()) throw Error("Model: parameter '" + s.name + "' missing");
    if (shape_of(it->second) != s.shape)
      throw Error("Model: parameter '" + s.name + "' has shape " + shape_str(shape_of(it->second)) +
                  ", the architecture needs " + shape_str(s.shape));
    std::copy(it->second.data(), it->second.data() + it->second.size(), theta.data() + s.offset);
  }
  return theta;
}

std::string Model::first_non_finite(const Tensor& theta) const {
  if (all_finite(theta)) return "";  // the common case: one tight pass
  const double* t = theta.data();
  for (const auto& s : params_)
    for (std::size_t i = 0; i < numel(s.shape); ++i)
      if (!std::isfinite(t[s.offset + i])) return s.name;
  return "";
}

std::string Model::summary() const {
  std::ostringstream o;
  o << "input " << shape_str(input_shape_) << " -> output " << shape_str(output_shape_) << ", p = " << p_ << "\n";
  for (const auto& s : params_) o << "  " << s.name << " " << shape_str(s.shape) << "\n";
  return o.str();
}

}  // namespace inflab::nn
