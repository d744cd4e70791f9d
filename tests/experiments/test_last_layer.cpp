// Influence on the last layer only, and MLPs with hidden layers of different widths.
#include <doctest/doctest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "influence/choices.hpp"
#include "experiments/last_layer.hpp"
#include "experiments/studies.hpp"
#include "nn/layers.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;

namespace {
// Iris, MLP 4-6-5-3 (tanh), λ = 0.01: θ̂ need not be a minimum for the block identities
ProblemSpec mixed_spec() {
  ProblemSpec s;
  s.depth = 2, s.width = 6, s.hidden = {6, 5};
  s.weight_decay = 0.01;
  s.max_steps = 300;
  return s;
}
// the trailing k×k block of a [p, p] matrix
Tensor trailing_block(const Tensor& M, std::size_t k) {
  const std::size_t p = M.shape()[0], o = p - k;
  Tensor B = zeros({k, k});
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) B(i, j) = M(o + i, o + j);
  return B;
}
Tensor tail(const Tensor& v, std::size_t k) {
  Tensor t = zeros({k});
  for (std::size_t i = 0; i < k; ++i) t(i) = v(v.size() - k + i);
  return t;
}
}  // namespace

TEST_CASE("MLP with mixed hidden widths: model, description, spec round trip and its checks") {
  const ProblemSpec s = mixed_spec();
  CHECK(hidden_widths(s) == std::vector<std::size_t>{6, 5});
  ProblemSpec eq;
  eq.depth = 3, eq.width = 4;
  CHECK(hidden_widths(eq) == std::vector<std::size_t>{4, 4, 4});
  std::string desc;
  data::TrainTest tt = load_data(s);
  const auto obj = make_objective(s, tt.train, &desc);
  CHECK(desc == "MLP 4-6-5-3 (tanh)");
  CHECK(obj->model().param_count() == 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3);
  nlohmann::json j;
  to_json(j, s);
  CHECK(j.at("hidden") == nlohmann::json::array({6, 5}));
  CHECK(spec_from_json(j, "here").hidden == s.hidden);
  CHECK(differences(spec_from_json(j, "here"), s).empty());
  nlohmann::json old = j;
  old.erase("hidden");  // problem.json from before --hidden: equal widths
  CHECK(spec_from_json(old, "old").hidden.empty());
  ProblemSpec other = s;
  other.hidden = {6, 4};
  const auto d = differences(s, other);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "hidden");
  nlohmann::json bad = j;
  bad["depth"] = 3;
  CHECK(test::error_of([&] { spec_from_json(bad, "problem.json"); }).find("disagrees with depth 3") != std::string::npos);
}

TEST_CASE("last_layer: its gradient and Hessian are exactly the last layer's blocks of the whole network's") {
  const Problem p = build_problem(mixed_spec(), false);
  const Problem h = last_layer(p);
  const std::size_t k = 5 * 3 + 3;
  REQUIRE(h.theta.size() == k);
  CHECK(test::rel_err(h.theta, tail(p.theta, k)) == 0);
  CHECK(h.train.size() == p.train.size());
  CHECK(h.train.X.shape() == Shape{p.train.size(), 5});
  CHECK(h.train.y == p.train.y);
  for (std::size_t i : {0, 33, 119}) CHECK(h.train.source_row(i) == p.train.source_row(i));
  CHECK(h.description == "last layer of MLP 4-6-5-3 (tanh): Linear 5-3 on frozen features");
  // ∇R and ∇²R: R_L differs from R by a constant, so both are blocks of the full ones
  const auto g = ad::value_and_grad(p.obj->fn(p.train), p.theta), gh = ad::value_and_grad(h.obj->fn(h.train), h.theta);
  CHECK(test::rel_err(gh.grad, tail(g.grad, k)) < 1e-13);
  const Tensor H = ad::hessian(p.obj->fn(p.train), p.theta), Hh = ad::hessian(h.obj->fn(h.train), h.theta);
  const Tensor block = trailing_block(H, k);
  CHECK(test::rel_err(Hh, block) < 1e-12);
  // the features are the hidden activations: the outputs agree
  CHECK(h.obj->accuracy(h.theta, h.test) == p.obj->accuracy(p.theta, p.test));
  // Δ̂ from the last-layer problem = (1/n) sᵀ[∇ℓ̃ᵢ]_L with (H_LL + 0) s = [∇ℓ(z_t)]_L,
  // checked against the whole network's block and per-example gradients
  SolverChoice exact;
  exact.method = Method::Exact;
  const CurvatureOperator A(*h.obj, h.train, h.theta);
  const InverseHvp inv(A, exact);
  const Tensor gt = test_loss_gradient(*p.obj, p.test, {4}, p.theta), gth = test_loss_gradient(*h.obj, h.test, {4}, h.theta);
  CHECK(test::rel_err(gth, tail(gt, k)) < 1e-13);
  const Tensor s = inv(gth).x;
  Tensor r = tail(gt, k);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) r(i) -= block(i, j) * s(j);
  CHECK(norm2(r) < 1e-9 * norm2(gth));
  const Tensor pc = train_gradient_dots(*h.obj, h.train, h.theta, s) / static_cast<double>(h.train.size());
  for (std::size_t i : {0, 7, 64, 110}) {
    const Tensor gi = tail(per_example_gradient(*p.obj, p.train, p.theta, i), k);
    CHECK(pc(i) == doctest::Approx(dot(s, gi) / static_cast<double>(p.train.size())).epsilon(1e-10));
  }
}

TEST_CASE("last_layer: on a one-layer model it is the whole problem; a model not ending in Linear is refused") {
  ProblemSpec s;
  s.model = ModelKind::Softmax;
  s.weight_decay = 0.01;
  const Problem p = build_problem(s, false);
  const Problem h = last_layer(p);
  CHECK(test::rel_err(h.train.X, p.train.X) == 0);
  CHECK(test::rel_err(h.theta, p.theta) == 0);
  const auto g = ad::value_and_grad(p.obj->fn(p.train), p.theta), gh = ad::value_and_grad(h.obj->fn(h.train), h.theta);
  CHECK(gh.value == g.value);  // nothing below: no constant either
  Problem q;
  q.description = "Linear then tanh";
  q.obj = std::make_unique<nn::Objective>(
      nn::Model(std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{std::make_shared<nn::Linear>(4, 3),
                                                                            std::make_shared<nn::ActivationLayer>(nn::Activation::Tanh)}),
                {4}),
      nn::LossKind::CrossEntropy, 0.01);
  q.theta = zeros({15});
  CHECK(test::error_of([&] { last_layer(q); }) ==
        "influence on the last layer needs a model that ends in a Linear layer; Linear then tanh does not");
  CHECK(param_scopes().parse("last") == ParamScope::LastLayer);
}

TEST_CASE("fragility with --params last: Δ̂ on the last layer's 21 parameters, retraining of all of them") {
  ProblemSpec base;
  base.depth = 1, base.width = 6;
  base.max_steps = 3000;
  const auto settings = fragility_settings(base, {1}, {6}, {0.01});
  FragilityOptions o;
  o.top = 6, o.random_tests = 0;
  o.solver.method = Method::Exact;
  o.params = ParamScope::LastLayer;
  RetrainRun run;
  run.progress = false;
  const auto rows = fragility_setting(base, settings[0], o, nullptr, nullptr, run);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].parameters == 6 * 3 + 3);
  CHECK(rows[0].retrain.jobs == 6);
  CHECK(rows[0].spectrum.smallest == doctest::Approx(0.01).epsilon(1e-6));  // softmax's shift direction: only λ
  FragilityOptions all = o;
  all.params = ParamScope::All;
  const auto full = fragility_setting(base, settings[0], all, nullptr, nullptr, run);
  CHECK(full[0].parameters == 4 * 6 + 6 + 6 * 3 + 3);
  CHECK(full[0].test_row == rows[0].test_row);
  REQUIRE(std::isfinite(full[0].scores.pearson));
  REQUIRE(std::isfinite(rows[0].scores.pearson));
  CHECK(full[0].scores.pearson != rows[0].scores.pearson);
  CHECK(full[0].grad_norm == rows[0].grad_norm);  // the whole network's ‖∇R(θ̂)‖ either way
}
