// Gradient-cluster groups and the most-influential-group selection: its pieces against
// closed forms and hand values, then the whole against retraining.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/check.hpp"
#include "influence/group_selection.hpp"
#include "experiments/retrain.hpp"
#include "tests/influence/fixtures.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;
using inflab::test::error_of;

TEST_CASE("projection onto the capped simplex") {
  // v = (0.2, 0.9, 3, −1), k = 2: τ = 0.05 gives (0.15, 0.85, 1, 0), which sums to 2
  const auto w = project_capped_simplex({0.2, 0.9, 3, -1}, 2);
  CHECK(w[0] == doctest::Approx(0.15).epsilon(1e-12));
  CHECK(w[1] == doctest::Approx(0.85).epsilon(1e-12));
  CHECK(w[2] == 1.0);
  CHECK(w[3] == 0.0);
  const auto u = project_capped_simplex({0.3, 0.3, 0.3}, 1.5);  // already feasible up to a shift
  for (double x : u) CHECK(x == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(error_of([] { project_capped_simplex({1, 2}, 2); }).find("must be in (0, 2)") != std::string::npos);
}

TEST_CASE("sᵀ∇²ℓ̃ᵢa for every row by central differences = the closed form of logistic regression") {
  const test::LogReg lr;
  const Tensor s = ad::random_normal({5}, 3), a = ad::random_normal({5}, 4);
  const Tensor got = train_second_directional(lr.obj, lr.train, lr.theta, s, a);
  double worst = 0;
  for (std::size_t i = 0; i < lr.train.size(); ++i) {
    // ∇²ℓ̃ᵢ = σ(1−σ) xₐxₐᵀ + λI with xₐ = [x, 1]
    double z = lr.theta(4), xs = s(4), xa = a(4);
    for (std::size_t j = 0; j < 4; ++j) z += lr.theta(j) * lr.train.X(i, j), xs += s(j) * lr.train.X(i, j), xa += a(j) * lr.train.X(i, j);
    const double sig = 1 / (1 + std::exp(-z));
    const double want = sig * (1 - sig) * xs * xa + lr.lambda * dot(s, a);
    worst = std::max(worst, std::fabs(got(i) - want) / std::max(1.0, std::fabs(want)));
  }
  CHECK(worst < 1e-7);
  CHECK(norm2(train_second_directional(lr.obj, lr.train, lr.theta, s, zeros({5}))) == 0);
}

TEST_CASE("gradient-cluster groups: the right size, seeded, and more alike in gradient than random groups") {
  const test::Blobs b;
  const std::size_t n = b.train.size(), k = 40;  // 10 clusters
  const auto groups = gradient_cluster_groups(b.obj, b.train, b.theta, k, 10, 3);
  CHECK(groups == gradient_cluster_groups(b.obj, b.train, b.theta, k, 10, 3));
  // spread: mean squared distance of a group's gradients to their mean, relative to the
  // same over the whole training set (k-means minimises it; random groups give ≈ 1)
  std::vector<Tensor> g;
  for (std::size_t i = 0; i < n; ++i) g.push_back(per_example_gradient(b.obj, b.train, b.theta, i));
  auto spread = [&](const std::vector<std::size_t>& grp) {
    Tensor m = zeros({g[0].size()});
    for (auto i : grp) m += g[i] / static_cast<double>(grp.size());
    double s = 0;
    for (auto i : grp) s += std::pow(norm2(g[i] - m), 2) / static_cast<double>(grp.size());
    return s;
  };
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  const double whole = spread(all);
  // Groups come largest cluster first. The gradients are heavy-tailed (a few badly fit rows
  // have large ones), so the small clusters at the tail are loose once filled up to k rows;
  // the bulk's clusters are tight. Compared: the three largest against random groups.
  double clustered = 0, random = 0, sketched = 0;
  // with a sketch of 4 < p = 11 directions the clusters are found in a projection
  const auto sketch_groups = gradient_cluster_groups(b.obj, b.train, b.theta, k, 10, 3, 4);
  for (std::size_t j = 0; j < groups.size(); ++j) {
    check_group(groups[j], n);
    CHECK(groups[j].size() == k);
    if (j >= 3) continue;
    clustered += spread(groups[j]) / whole / 3;
    random += spread(random_group(n, k, 50 + j)) / whole / 3;
    sketched += spread(sketch_groups[j]) / whole / 3;
  }
  MESSAGE("gradient spread within a group / over the training set (3 largest clusters): clusters " << clustered
          << ", sketched clusters " << sketched << ", random groups " << random);
  CHECK(random > 0.8);
  CHECK(clustered < 0.3 * random);
  CHECK(sketched < 0.5 * random);
  CHECK(error_of([&] { gradient_cluster_groups(b.obj, b.train, b.theta, k, 11, 3); }).find("give 10 clusters") != std::string::npos);
  CHECK(error_of([&] { gradient_cluster_groups(b.obj, b.train, b.theta, n, 1, 3); }).find("size must be") != std::string::npos);
}

// Measured (blobs, λ = 0.01, highest-loss test point), actual change by retraining:
//   raise the loss, k = 8: greedy 0.6746, second-order selection 0.6794
//                  k = 40: greedy 2.0725, second-order 2.1168; k = 120: 4.4973 / 4.4518
//   lower it,      k = 8: the same group; k = 40: −1.7798 / −1.8003; k = 120: −2.1469 / −2.1509
TEST_CASE("most influential group of 10%: greedy maximises first order, the relaxation second order; retraining agrees") {
  const test::Blobs b;
  const CurvatureOperator A(b.obj, b.train, b.theta);
  const InverseHvp inv(A, test::exact_solver());
  const std::size_t n = b.train.size(), k = group_size(n, 0.1);
  const std::size_t t = test::highest_loss_row(b.obj, b.test, b.theta);
  const Tensor tg = test_loss_gradient(b.obj, b.test, {t}, b.theta);
  const RetrainProtocol lbfgs = test::lbfgs_retraining();
  RetrainRun quiet;
  quiet.progress = false;
  for (const bool increase : {true, false}) {
    CAPTURE(increase);
    SelectionOptions o;
    o.increase = increase;
    const GroupSelection sel = most_influential_group(inv, tg, k, o);
    const double sgn = increase ? 1 : -1;
    check_group(sel.greedy, n);
    check_group(sel.second_order, n);
    CHECK(sel.greedy.size() == k);
    CHECK(sel.second_order.size() == k);
    // uniform weights k/n are the whole training set scaled: g_w = k ∇R(θ̂) ≈ 0, so F ≈ 0
    CHECK(std::fabs(sel.objective.front()) < 1e-8);
    for (std::size_t i = 1; i < sel.objective.size(); ++i) CHECK(sgn * sel.objective[i] >= sgn * sel.objective[i - 1]);
    CHECK(sel.iterations >= 2);
    // each method wins on the objective it optimises
    CHECK(sgn * sel.greedy_estimate.first_order >= sgn * sel.second_order_estimate.first_order);
    CHECK(sgn * sel.second_order_estimate.second_order > sgn * sel.greedy_estimate.second_order);
    const auto rr = retrain_groups(b.obj, b.train, b.test, b.theta, {sel.greedy, sel.second_order}, {t}, lbfgs, quiet);
    const double greedy = rr[0].test_loss_change[0], relaxed = rr[1].test_loss_change[0];
    MESSAGE("k = " << k << (increase ? " raise" : " lower") << ": greedy actual " << greedy << " (first " << sel.greedy_estimate.first_order
            << ", second " << sel.greedy_estimate.second_order << "); second-order selection actual " << relaxed << " (first "
            << sel.second_order_estimate.first_order << ", second " << sel.second_order_estimate.second_order << ")");
    CHECK(sgn * relaxed > sgn * greedy);  // the second-order group really moves the loss more here
    // second order is the closer estimate of what the selected group does
    CHECK(std::fabs(sel.second_order_estimate.second_order - relaxed) < std::fabs(sel.second_order_estimate.first_order - relaxed));
  }
}
