// First-order influence: the forward-mode path against explicit per-example gradients,
// predictions against leave-one-out retraining, and the surrounding quantities.
#include <doctest/doctest.h>

#include "tests/test_util.hpp"
#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"
#include "tests/influence/fixtures.hpp"

using namespace inflab;
using inflab::test::error_of;
using namespace inflab::influence;

namespace {
double test_loss(const nn::Objective& obj, const data::Dataset& test, std::size_t row, const Tensor& th) {
  double l = 0;
  test_loss_gradient(obj, test, {row}, th, &l);
  return l;
}
}  // namespace

TEST_CASE("on a trained tanh MLP the forward-mode influences equal explicit per-example gradients to 1e-10") {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  const data::TrainTest tt = data::stratified_split(d, 0.2, 5);
  const nn::Objective obj(nn::mlp(4, 2, 8, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-2);
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Lbfgs;
  o.grad_tol = 1e-9;
  o.progress = false;
  const Tensor th = nn::train(obj, tt.train, obj.model().init(3), o).theta;
  const CurvatureOperator A(obj, tt.train, th);
  SolverChoice c;
  c.method = Method::Minres;
  c.damping = 0.01;
  const Influence inf = influence_on_test(A, tt.test, {0}, c);
  CHECK(inf.warning.empty());
  const Tensor explicit_dots = train_gradient_dots_explicit(obj, tt.train, th, inf.s);
  Tensor expected = explicit_dots;
  for (auto& e : expected) e /= static_cast<double>(tt.train.size());
  CHECK(test::rel_err(inf.predicted_change, expected) < 1e-10);
  // batched rows and k directions at once give the same numbers
  Tensor S = zeros({2, A.dim()});
  for (std::size_t i = 0; i < A.dim(); ++i) S(0, i) = inf.s(i), S(1, i) = 2 * inf.s(i);
  const Tensor two = train_gradient_dots(obj, tt.train, th, S, 17);
  for (std::size_t i = 0; i < tt.train.size(); ++i) {
    CHECK(two(0, i) == doctest::Approx(explicit_dots(i)).epsilon(1e-10));
    CHECK(two(1, i) == doctest::Approx(2 * explicit_dots(i)).epsilon(1e-10));
  }
  for (std::size_t i = 0; i < tt.train.size(); ++i) CHECK(inf.influence(i) == doctest::Approx(-120.0 * inf.predicted_change(i)));
}

TEST_CASE("logistic regression: Δ̂ against exact leave-one-out retraining of 50 points, Pearson ≥ 0.99") {
  const test::LogReg lr;
  const CurvatureOperator A(lr.obj, lr.train, lr.theta);
  double worst = 0;
  const std::size_t t = test::highest_loss_row(lr.obj, lr.test, lr.theta, &worst);
  SolverChoice c;
  c.method = Method::Exact;
  const Influence inf = influence_on_test(A, lr.test, {t}, c);
  const std::size_t m = 50;
  Tensor predicted = zeros({m}), actual = zeros({m});
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Newton;
  o.grad_tol = 1e-12;
  o.progress = false;
  for (std::size_t i = 0; i < m; ++i) {
    const Tensor th_i = nn::train(lr.obj, data::all_but(lr.train, i), lr.theta, o).theta;  // warm start at θ̂
    actual(i) = test_loss(lr.obj, lr.test, t, th_i) - worst;
    predicted(i) = inf.predicted_change(i);
    if (i < 5) {  // Δθ for removal, too
      const Tensor dth = parameter_change(A, i, c);
      Tensor real = th_i;
      for (std::size_t j = 0; j < 5; ++j) real(j) -= lr.theta(j);
      CHECK(test::rel_err(dth, real) < 0.1);
    }
  }
  const double r = influence::pearson(predicted, actual);
  MESSAGE("leave-one-out Pearson(Δ̂, Δ) over 50 points: " << r);
  CHECK(r >= 0.99);
  std::size_t same_sign = 0;
  for (std::size_t i = 0; i < m; ++i) same_sign += (predicted(i) > 0) == (actual(i) > 0);
  CHECK(same_sign >= 48);
}

TEST_CASE("influence on a test function, self-influence, top-k, and the stationarity warning") {
  const test::LogReg lr;
  const CurvatureOperator A(lr.obj, lr.train, lr.theta);
  SolverChoice c;
  c.method = Method::Cg;
  c.cg.tol = 1e-12;
  // a test function equal to the test loss of row 2 gives the same influences
  const data::Dataset one = data::subset(lr.test, {2});
  const Influence f = influence_on_function(A, [&](ad::Var th) { return ad::sum(lr.obj.losses(th, one)); }, c);
  const Influence g = influence_on_test(A, lr.test, {2}, c);
  CHECK(test::rel_err(f.predicted_change, g.predicted_change) < 1e-12);
  // several test points at once: row j equals the single-point result
  const Tensor each = predicted_changes_each(A, lr.test, {0, 2}, c);
  REQUIRE(shape_of(each) == Shape{2, lr.train.size()});
  for (std::size_t i = 0; i < lr.train.size(); ++i) CHECK(each(1, i) == doctest::Approx(g.predicted_change(i)).epsilon(1e-10));
  // self-influence: exact (eigendecomposition) and per-row CG agree, and are positive (H ≻ 0)
  SolverChoice ex;
  ex.method = Method::Exact;
  const Tensor s1 = self_influence(A, ex), s2 = self_influence(A, c);
  CHECK(test::rel_err(s2, s1) < 1e-8);
  for (auto v : s1) CHECK(v > 0);
  // top-k: sorted, and the extremes of the vector
  const auto help = top_k(g.predicted_change, 3, true), harm = top_k(g.predicted_change, 3, false);
  REQUIRE(help.size() == 3);
  CHECK(help[0].value >= help[1].value);
  CHECK(help[0].value == xt::amax(Tensor(g.predicted_change))());
  CHECK(harm[0].value == xt::amin(Tensor(g.predicted_change))());
  // θ away from the optimum: the result carries a warning with ‖∇R‖
  Tensor off = lr.theta;
  off(0) += 0.5;
  const CurvatureOperator B(lr.obj, lr.train, off);
  const Influence w = influence_on_test(B, lr.test, {0}, c);
  CHECK(w.warning.find("not a stationary point") != std::string::npos);
  CHECK(w.warning.find("‖∇R(θ)‖") != std::string::npos);
  CHECK(error_of([&] { influence_on_test(A, lr.test, {99}, c); }).find("test index 99 out of range") != std::string::npos);
  SolverChoice bad = c;
  bad.method = Method::Cg;
  bad.damping = -0.1;
  CHECK(error_of([&] { influence_on_test(A, lr.test, {0}, bad); }).find("damping") != std::string::npos);
}
