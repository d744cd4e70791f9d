// The proximal Bregman response function (influence/pbrf.hpp): its identities at θˢ, its
// first-order response, and its agreement with leave-one-out where theory says it must.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/functional.hpp"
#include "experiments/retrain.hpp"
#include "influence/curvature.hpp"
#include "influence/pbrf.hpp"
#include "tests/influence/fixtures.hpp"

using namespace inflab;
using namespace inflab::influence;
using inflab::test::rel_err;

namespace {
// A tanh MLP 4-8-3 on standardised Iris, λ = 1e-3, trained only 40 L-BFGS steps: θˢ is not a
// stationary point, which the PBRF does not need.
struct ShortMlp {
  data::Dataset d = data::load_iris();
  nn::Objective obj{nn::mlp(4, 1, 8, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-3};
  Tensor theta;
  ShortMlp() {
    data::Standardizer::fit(d).apply(d);
    nn::TrainOptions o;
    o.optimizer = nn::Optimizer::Lbfgs;
    o.max_steps = 40;
    o.progress = false;
    theta = nn::train(obj, d, obj.model().init(5), o).theta;
  }
};

Tensor plus_damping(Tensor M, double mu) {
  for (std::size_t i = 0; i < M.shape(0); ++i) M(i, i) += mu;
  return M;
}

nn::TrainOptions newton_to(double tol) {
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Newton;
  o.grad_tol = tol;
  o.progress = false;
  return o;
}
}  // namespace

TEST_CASE("PBRF: zero with zero gradient at θˢ when nothing is removed; its Hessian there is the Gauss–Newton matrix + μI") {
  const ShortMlp m;
  const double grad_norm = norm2(ad::value_and_grad(m.obj.fn(m.d), m.theta).grad);
  MESSAGE("θˢ: ‖∇R‖ = " << grad_norm);
  REQUIRE(grad_norm > 1e-3);  // not a stationary point: the identities hold anyway
  for (double mu : {0.0, 0.05}) {
    const Pbrf pbrf(m.obj, m.d, m.theta, mu);
    const ad::Fn P0 = pbrf.fn(std::vector<double>(m.d.size(), 0.0));
    const ad::ValueGrad vg = ad::value_and_grad(P0, m.theta);
    CHECK(std::fabs(vg.value) < 1e-14);
    CHECK(norm2(vg.grad) < 1e-14);
    const Tensor H = ad::hessian(P0, m.theta);
    const Tensor G = plus_damping(dense_matrix(CurvatureOperator(m.obj, m.d, m.theta, Curvature::GaussNewton)), mu);
    CHECK(rel_err(H, G) < 1e-12);
    // and not the Hessian of R: the network's own curvature is what the PBRF leaves out
    CHECK(rel_err(dense_matrix(CurvatureOperator(m.obj, m.d, m.theta)), plus_damping(G, -mu)) > 1e-3);
    // away from θˢ it is positive (a sum of Bregman divergences of a convex loss plus (λ+μ)/2‖θ − θˢ‖²)
    Tensor away = m.theta;
    for (std::size_t i = 0; i < away.size(); ++i) away(i) += 0.01 * std::sin(1.0 + static_cast<double>(i));
    CHECK(ad::Recording(P0, away).scalar_value() > 0);
  }
}

TEST_CASE("PBRF: as the removal weight ε → 0, (θ(ε) − θˢ)/ε tends to (G + μI)⁻¹ Σ_U ∇ℓ̃ at the Taylor rate O(ε)") {
  const ShortMlp m;
  const double mu = 0.01;
  const std::vector<std::size_t> U = {3, 60, 117};
  const Pbrf pbrf(m.obj, m.d, m.theta, mu);
  Tensor g = zeros({m.theta.size()});
  for (auto r : U) g = axpy(g, 1.0, per_example_gradient(m.obj, m.d, m.theta, r));
  const Tensor G = plus_damping(dense_matrix(CurvatureOperator(m.obj, m.d, m.theta, Curvature::GaussNewton)), mu);
  const Tensor d0 = dense_solve(G, g);  // the damped Gauss–Newton influence direction
  std::vector<double> err;
  for (double eps : {4e-3, 2e-3, 1e-3, 5e-4}) {
    std::vector<double> w(m.d.size(), 0.0);
    for (auto r : U) w[r] = eps;
    const nn::MinimizeResult r = nn::minimize(pbrf.fn(w), m.theta, newton_to(1e-13));
    REQUIRE(r.grad_norm < 1e-11);
    Tensor d = axpy(r.theta, -1.0, m.theta);
    for (auto& x : d) x /= eps;
    err.push_back(rel_err(d, d0));
  }
  MESSAGE("relative error of the direction at ε = 4e-3 … 5e-4: " << err[0] << " " << err[1] << " " << err[2] << " " << err[3]);
  CHECK(err.back() < 0.02);
  for (std::size_t k = 0; k + 1 < err.size(); ++k) {
    const double rate = std::log2(err[k] / err[k + 1]);
    CHECK(rate > 0.85);
    CHECK(rate < 1.15);
  }
}

TEST_CASE("PBRF: on a linear model at a converged θ̂ with μ = 0 its minimiser is leave-one-out's, through the retraining jobs") {
  // f linear in θ: the Bregman sum is R's loss part minus its tangent at θ̂, and ∇R(θ̂) = 0 makes
  // P(θ) = ((n − |U|)/n) R₋U(θ) + const — the same minimiser, not only to first order.
  const test::LogReg lr;
  experiments::RetrainProtocol loo;
  loo.grad_tol = 1e-12;
  loo.optimizer = nn::Optimizer::Newton;
  experiments::RetrainProtocol pbrf = loo;
  pbrf.target = experiments::RetrainTarget::Pbrf;
  const std::vector<std::vector<std::size_t>> groups = {{0}, {7}, {15, 40, 41}};
  const std::vector<std::size_t> tests = {0, 1, 2};
  const auto a = experiments::retrain_groups(lr.obj, lr.train, lr.test, lr.theta, groups, tests, loo);
  const auto b = experiments::retrain_groups(lr.obj, lr.train, lr.test, lr.theta, groups, tests, pbrf);
  for (std::size_t j = 0; j < groups.size(); ++j) {
    CHECK(b[j].status == experiments::RetrainStatus::Converged);
    CHECK(b[j].lambda_min > 0);
    for (std::size_t t = 0; t < tests.size(); ++t) {
      CHECK(std::fabs(a[j].test_loss_change[t]) > 1e-6);
      CHECK(std::fabs(b[j].test_loss_change[t] - a[j].test_loss_change[t]) < 1e-9 * std::fabs(a[j].test_loss_change[t]) + 1e-13);
    }
  }
}

TEST_CASE("PBRF on a network: its Δ is what damped Gauss–Newton influence predicts, to second order in 1/n") {
  const ShortMlp m;
  const double mu = 0.01;
  experiments::RetrainProtocol p;
  p.target = experiments::RetrainTarget::Pbrf;
  p.damping = mu;
  p.grad_tol = 1e-11;
  const std::vector<std::size_t> rows = {3, 30, 60, 90, 117};
  const std::size_t t = 5;
  const auto rec = experiments::leave_one_out(m.obj, m.d, m.d, m.theta, rows, {t}, p);
  const Tensor G = plus_damping(dense_matrix(CurvatureOperator(m.obj, m.d, m.theta, Curvature::GaussNewton)), mu);
  const Tensor s = dense_solve(G, test_loss_gradient(m.obj, m.d, {t}, m.theta));
  double worst = 0;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    CHECK(rec[j].status == experiments::RetrainStatus::Converged);
    const double predicted = dot(s, per_example_gradient(m.obj, m.d, m.theta, rows[j])) / static_cast<double>(m.d.size());
    const double actual = rec[j].test_loss_change[0];
    worst = std::max(worst, std::fabs(actual - predicted) / std::fabs(predicted));
  }
  MESSAGE("largest relative gap between the PBRF's Δ and damped Gauss–Newton influence: " << worst);
  CHECK(worst < 0.05);
}

TEST_CASE("PBRF: bad settings are refused with the setting named") {
  const test::LogReg lr;
  const nn::Objective free{nn::logistic_regression(4), nn::LossKind::BinaryLogistic, 0.0};
  CHECK(test::error_of([&] { Pbrf(free, lr.train, lr.theta, 0.0); }).find("damping μ > 0") != std::string::npos);
  CHECK(test::error_of([&] { Pbrf(lr.obj, lr.train, lr.theta, -1.0); }).find("damping μ must be") != std::string::npos);
  CHECK(test::error_of([&] { Pbrf(lr.obj, lr.train, zeros({3}), 0.1); }).find("θˢ has 3 values") != std::string::npos);
  CHECK(test::error_of([&] { (void)Pbrf(lr.obj, lr.train, lr.theta, 0.1).removal({lr.train.size()}); }).find("out of range") != std::string::npos);
  experiments::RetrainProtocol p;
  p.target = experiments::RetrainTarget::Pbrf;
  p.optimizer = nn::Optimizer::Sgd;
  CHECK(test::error_of([&] { experiments::leave_one_out(lr.obj, lr.train, lr.test, lr.theta, {0}, {0}, p); }).find("to a tolerance") !=
        std::string::npos);
}
