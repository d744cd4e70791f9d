// Exact attribution through a training run (influence/unrolled.hpp): against finite
// differences of the whole run in one row's weight, and against the run retrained without rows.
#include <doctest/doctest.h>

#include <cmath>

#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"
#include "influence/unrolled.hpp"
#include "nn/builders.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::influence;
using inflab::test::rel_err;

namespace {
struct IrisRun {
  data::Dataset train, test;
  nn::Objective obj{nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-3};
  TrainingRun run;
  IrisRun(std::size_t batch, double momentum, std::size_t epochs) {
    const data::TrainTest tt = data::stratified_split(data::load_iris(), 0.2, 4);
    train = tt.train, test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train), s.apply(test);
    run.theta0 = obj.model().init(2);
    run.options.optimizer = nn::Optimizer::Sgd;
    run.options.lr = 0.2, run.options.momentum = momentum, run.options.batch_size = batch, run.options.epochs = epochs;
    run.options.seed = 9, run.options.progress = false;
  }
  double test_loss(const Tensor& theta, std::size_t t) const {
    double l = 0;
    test_loss_gradient(obj, test, {t}, theta, &l);
    return l;
  }
};
}  // namespace

TEST_CASE("unrolled attribution: the weighted replay is the run; the derivative equals central differences of the whole run") {
  for (const auto& [batch, momentum] : std::vector<std::pair<std::size_t, double>>{{0, 0.0}, {30, 0.9}}) {
    CAPTURE(batch);
    const IrisRun r(batch, momentum, 6);
    const std::vector<std::size_t> tests = {0, 7};
    const Unrolled u = unrolled_attribution(r.obj, r.train, r.test, tests, r.run);
    CHECK(u.steps == (batch ? 6 * 4 : 6));
    CHECK(u.state_bytes == doctest::Approx(8.0 * static_cast<double>((u.steps + 1) * r.run.theta0.size())));
    const std::vector<double> ones(r.train.size(), 1.0);
    const Tensor replay = train_weighted(r.obj, r.train, r.run, ones, u.steps);
    CHECK(rel_err(replay, u.theta) < 1e-12);
    const double h = 1e-4;
    for (std::size_t row : {0, 33, 101}) {
      std::vector<double> plus = ones, minus = ones;
      plus[row] += h, minus[row] -= h;
      const Tensor tp = train_weighted(r.obj, r.train, r.run, plus, u.steps), tm = train_weighted(r.obj, r.train, r.run, minus, u.steps);
      for (std::size_t t = 0; t < tests.size(); ++t) {
        const double fd = (r.test_loss(tm, tests[t]) - r.test_loss(tp, tests[t])) / (2 * h);  // −∂ℓ/∂wᵢ
        CHECK(std::fabs(fd) > 1e-6);
        CHECK(std::fabs(u.predicted(t, row) - fd) < 1e-6 * std::fabs(fd));
      }
    }
  }
}

TEST_CASE("unrolled attribution: its LDS against the same run retrained without 5% of the rows is near 1") {
  const IrisRun r(30, 0.5, 5);
  const std::size_t t = 3;
  const Unrolled u = unrolled_attribution(r.obj, r.train, r.test, {t}, r.run);
  const double base = r.test_loss(train_weighted(r.obj, r.train, r.run, std::vector<double>(r.train.size(), 1.0), u.steps), t);
  Tensor predicted = zeros({20}), actual = zeros({20});
  for (std::size_t s = 0; s < 20; ++s) {
    auto perm = data::permutation(r.train.size(), 100 + s);
    perm.resize(6);  // 5% of 120 rows
    std::vector<double> w(r.train.size(), 1.0);
    for (auto i : perm) w[i] = 0, predicted(s) += u.predicted(0, i);
    actual(s) = r.test_loss(train_weighted(r.obj, r.train, r.run, w, u.steps), t) - base;
  }
  const double lds = spearman(predicted, actual);
  MESSAGE("LDS over 20 subsets of 6 rows: Spearman " << lds << ", Pearson " << pearson(predicted, actual));
  CHECK(lds > 0.9);
}

TEST_CASE("unrolled attribution: runs it cannot differentiate are refused by name") {
  IrisRun r(0, 0.0, 2);
  r.run.options.optimizer = nn::Optimizer::Adam;
  CHECK(test::error_of([&] { unrolled_attribution(r.obj, r.train, r.test, {0}, r.run); }).find("Adam's recursion is not derived") != std::string::npos);
  r.run.options.optimizer = nn::Optimizer::Sgd;
  r.run.options.nesterov = true;
  r.run.options.momentum = 0.9;
  CHECK(test::error_of([&] { unrolled_attribution(r.obj, r.train, r.test, {0}, r.run); }).find("Nesterov") != std::string::npos);
}
