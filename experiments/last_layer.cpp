#include "experiments/last_layer.hpp"

#include <algorithm>

#include "influence/choices.hpp"
#include "nn/layers.hpp"
#include "util/error.hpp"

namespace inflab::experiments {

namespace {
// φ(X) = the layers below the last at θ_below, as [n, features]
Tensor features(const nn::Model& below, const Tensor& theta_below, const Tensor& X) {
  ad::TapeScope scope;
  Tensor f = below.forward(ad::constant(theta_below), ad::constant(X)).value();
  const std::size_t n = X.shape()[0];
  f.reshape({n, n ? f.size() / n : 0});
  return f;
}

data::Dataset with_features(const data::Dataset& d, Tensor X) {
  data::Dataset out = d;
  out.name = d.name + " (last-layer features)";
  out.X = std::move(X);
  out.feature_names.clear();
  return out;
}
}  // namespace

Problem last_layer(const Problem& p) {
  const auto* seq = dynamic_cast<const nn::Sequential*>(&p.obj->model().root());
  const auto* head = seq && !seq->layers.empty() ? dynamic_cast<const nn::Linear*>(seq->layers.back().get()) : nullptr;
  if (!head)
    throw Error("influence on the last layer needs a model that ends in a Linear layer; " + p.description + " does not");
  std::vector<nn::ModulePtr> lower(seq->layers.begin(), seq->layers.end() - 1);
  const nn::Model below(std::make_shared<nn::Sequential>(std::move(lower)), p.obj->model().input_shape());
  const std::size_t p_head = head->in * head->out + (head->bias ? head->out : 0), p_below = below.param_count();
  if (p_below + p_head != p.theta.size())
    throw Error("last_layer: the layers of " + p.description + " hold " + std::to_string(p_below + p_head) + " parameters, θ̂ has " +
                std::to_string(p.theta.size()));
  Tensor theta_below = zeros({p_below}), theta_head = zeros({p_head});
  std::copy(p.theta.data(), p.theta.data() + p_below, theta_below.data());
  std::copy(p.theta.data() + p_below, p.theta.data() + p.theta.size(), theta_head.data());

  Problem out;
  out.spec = p.spec;
  out.train = with_features(p.train, features(below, theta_below, p.train.X));
  out.test = with_features(p.test, features(below, theta_below, p.test.X));
  auto layer = std::make_shared<nn::Linear>(head->in, head->out, head->bias);
  out.obj = std::make_unique<nn::Objective>(nn::Model(std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{layer}), {head->in}),
                                            p.obj->loss(), p.obj->weight_decay());
  out.theta = theta_head;
  out.fit = p.fit;
  out.description = "last layer of " + p.description + ": Linear " + std::to_string(head->in) + "-" + std::to_string(head->out) +
                    " on frozen features";
  out.train_accuracy = p.train_accuracy, out.test_accuracy = p.test_accuracy;
  return out;
}

const Problem& scoped(const Problem& p, ParamScope scope, std::optional<Problem>& storage) {
  if (scope == ParamScope::All) return p;
  storage = last_layer(p);
  return *storage;
}

}  // namespace inflab::experiments
