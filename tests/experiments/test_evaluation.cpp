// LDS and mislabel detection on small convex problems, with hand-checked metric pieces.
#include <doctest/doctest.h>

#include "experiments/evaluation.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"
#include "tests/influence/fixtures.hpp"

#include <cmath>

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;
using inflab::test::error_of;

TEST_CASE("AUC and top-x% on hand-made scores") {
  const Tensor s = tensor({6}, {0.9, 0.1, 0.8, 0.3, 0.2, 0.5});
  CHECK(detection_auc(s, {0, 2}) == 1.0);
  CHECK(detection_auc(s, {1, 4}) == 0.0);
  CHECK(detection_auc(s, {0, 1}) == doctest::Approx(0.5));  // 0.9 beats all 4, 0.1 beats none
  CHECK(fraction_found(s, {0, 5}, 0.5) == 1.0);              // top 3: rows 0, 2, 5
  CHECK(fraction_found(s, {1, 5}, 0.5) == 0.5);
  CHECK(error_of([&] { detection_auc(s, {}); }).find("flagged") != std::string::npos);
}

TEST_CASE("mislabel detection: self-influence ranks flipped labels high (softmax regression, Iris)") {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  const std::vector<std::size_t> flipped = flip_labels(d, 0.1, 5);
  REQUIRE(flipped.size() == 15);
  const data::Dataset clean = data::load_iris();
  for (auto i : flipped) CHECK(d.y[i] != clean.y[i]);
  const nn::Objective obj(nn::softmax_regression(4, 3), nn::LossKind::CrossEntropy, 0.01);
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Newton;
  o.progress = false;
  const Tensor th = nn::train(obj, d, obj.model().init(1), o).theta;
  const CurvatureOperator A(obj, d, th);
  SolverChoice c;
  c.method = Method::Exact;
  const Tensor si = self_influence(A, c);
  const double auc = detection_auc(si, flipped), top = fraction_found(si, flipped, 0.2);
  MESSAGE("Iris, 10% labels flipped: self-influence AUC " << auc << ", found in the top 20%: " << top);
  CHECK(auc >= 0.9);
  CHECK(top >= 0.8);
}

TEST_CASE("LDS of first-order influence on L2 logistic regression, α = 0.5") {
  const test::LogReg lr;
  const CurvatureOperator A(lr.obj, lr.train, lr.theta);
  SolverChoice c;
  c.method = Method::Exact;
  const Influence inf = influence_on_test(A, lr.test, {0}, c);
  RetrainProtocol p;
  p.optimizer = nn::Optimizer::Newton;
  p.grad_tol = 1e-10;
  RetrainRun run;
  run.threads = 2;
  run.progress = false;
  const LdsResult r = linear_datamodeling_score(lr.obj, lr.train, lr.test, lr.theta, 0, inf.predicted_change, 20, 0.5, 3, p, run);
  MESSAGE("LDS (20 subsets of half the training set): Spearman " << r.spearman);
  CHECK(r.spearman > 0.9);
  CHECK(r.retrains.size() == 20);
  CHECK(error_of([&] { linear_datamodeling_score(lr.obj, lr.train, lr.test, lr.theta, 0, inf.predicted_change, 2, 0.5, 3, p, run); })
            .find("at least 3") != std::string::npos);
}

TEST_CASE("spread over seeds: quantiles, IQR and the distribution-free interval of the median on hand-computed cases") {
  // numpy's default (linear) quantiles: sorted {1, 1, 3, 4, 5}
  CHECK(quantile({3, 1, 4, 1, 5}, 0.5) == 3);
  CHECK(quantile({3, 1, 4, 1, 5}, 0.25) == 1);
  CHECK(quantile({3, 1, 4, 1, 5}, 0.75) == 4);
  CHECK(quantile({1, 2, 3, 4}, 0.25) == doctest::Approx(1.75));  // np.quantile([1,2,3,4], .25)
  CHECK(quantile({1, 2, 3, 4}, 0.5) == doctest::Approx(2.5));
  CHECK(quantile({7}, 0.9) == 7);
  CHECK(error_of([] { quantile({}, 0.5); }).find("no values") != std::string::npos);
  CHECK(error_of([] { quantile({1, std::nan(""), 2}, 0.5); }).find("NaN") != std::string::npos);
  const Spread s = spread({3, 1, std::nan(""), 4, 1, 5});
  CHECK(s.n == 5);
  CHECK(s.undefined == 1);
  CHECK(s.median == 3);
  CHECK(s.q25 == 1);
  CHECK(s.q75 == 4);
  // 5 values: [min, max] covers the median with 1 − 2/2⁵ = 93.75% < 95%: no interval
  CHECK(std::isnan(s.ci_low));
  CHECK(std::isnan(s.ci_high));
  // 6 values: 1 − 2/2⁶ = 96.9% for [x₍₁₎, x₍₆₎]; [x₍₂₎, x₍₅₎] would be 1 − 2·7/64 = 78%
  const Spread six = spread({6, 2, 9, 4, 1, 7});
  CHECK(six.ci_low == 1);
  CHECK(six.ci_high == 9);
  // 10 values: 2·P(B ≤ 1) = 22/1024 = 2.1% ≤ 5% but 2·P(B ≤ 2) = 112/1024 = 10.9%: [x₍₂₎, x₍₉₎]
  const Spread ten = spread({10, 1, 9, 2, 8, 3, 7, 4, 6, 5});
  CHECK(ten.ci_low == 2);
  CHECK(ten.ci_high == 9);
  CHECK(ten.median == 5.5);
  // 20 values: 2·P(B ≤ 5) = 4.1%, 2·P(B ≤ 6) = 11.5%: [x₍₆₎, x₍₁₅₎]
  std::vector<double> twenty;
  for (int i = 20; i >= 1; --i) twenty.push_back(i);
  const Spread tw = spread(twenty);
  CHECK(tw.ci_low == 6);
  CHECK(tw.ci_high == 15);
  // large n: the interval shrinks around the median (n = 2000: ±~44 order statistics)
  std::vector<double> many;
  for (int i = 0; i < 2000; ++i) many.push_back(i);
  const Spread m = spread(many);
  CHECK(m.ci_low > 940);
  CHECK(m.ci_low < 960);
  CHECK(m.ci_high == 1999 - m.ci_low);
  // one value, none
  CHECK(std::isnan(spread({0.8}).ci_low));
  CHECK(spread({0.8}).median == 0.8);
  CHECK(std::isnan(spread({std::nan("")}).median));
}
