// The attribution benchmark's pieces: scores on hand-made ground truth, ground truth equal to
// plain retraining, estimates and self-influence equal to the functions they wrap.
#include <doctest/doctest.h>

#include <cmath>

#include "experiments/benchmark.hpp"
#include "influence/metrics.hpp"
#include "influence/tracin.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;

TEST_CASE("benchmark scores on hand-made ground truth: LOO means over points, LDS sums over the removed rows") {
  GroundTruth g;
  g.test_rows = {7, 9};
  g.removed = {{0}, {1}, {2}, {3}};
  g.actual = tensor({4, 2}, {1, 5, 2, 5, 4, 5, 3, 5});  // point 1's changes are all 5: no correlation
  Tensor pred = zeros({2, 6});
  for (std::size_t i = 0; i < 4; ++i) pred(0, i) = 2 * g.actual(i, 0) + 1, pred(1, i) = static_cast<double>(i);
  const BenchScores loo = loo_scores(pred, g);
  CHECK(loo.pearson == doctest::Approx(1));
  CHECK(loo.spearman == doctest::Approx(1));
  CHECK(loo.points == 1);
  CHECK(loo.undefined == 1);
  // LDS: subsets remove {0,1}, {2,3}, {1,2}, {0,3}; predicted sums for point 0 (pred = 2a + 1):
  // 2·(1+2)+2 = 8, 2·(4+3)+2 = 16, 2·(2+4)+2 = 14, 2·(1+3)+2 = 10 → ranks 1 4 3 2
  GroundTruth s = g;
  s.removed = {{0, 1}, {2, 3}, {1, 2}, {0, 3}};
  s.actual = tensor({4, 2}, {0.1, 1, 0.4, 2, 0.2, 3, 0.3, 4});  // ranks 1 4 2 3
  const BenchScores lds = lds_scores(pred, s);
  // Spearman of ranks (1 4 3 2) and (1 4 2 3): 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60 = 0.8
  CHECK(lds.points == 2);
  const double expected1 = spearman(tensor({4}, {0 + 1, 2 + 3, 1 + 2, 0 + 3}), tensor({4}, {1, 2, 3, 4}));  // point 1: pred = row index
  CHECK(lds.spearman == doctest::Approx((0.8 + expected1) / 2));
  CHECK(std::isnan(lds.pearson));
}

TEST_CASE("benchmark on L2 logistic regression: ground truth is leave-one-out; estimates and self-scores are the functions they wrap") {
  ProblemSpec spec;
  spec.classes = {1, 2};
  spec.model = ModelKind::LogReg;
  spec.weight_decay = 0.01;
  spec.grad_tol = 1e-10;
  const Problem p = build_problem(spec, false);
  const std::vector<std::size_t> tests = {0, 5, 11}, rows = {2, 8, 13, 21, 34};
  RetrainProtocol rp;
  rp.optimizer = nn::Optimizer::Newton;
  rp.grad_tol = 1e-11;
  RetrainRun run;
  run.progress = false;
  const GroundTruth g = loo_truth(p, rows, tests, rp, run);
  const auto direct = leave_one_out(*p.obj, p.train, p.test, p.theta, rows, tests, rp, run);
  REQUIRE(g.actual.shape()[0] == 5);
  for (std::size_t j = 0; j < 5; ++j)
    for (std::size_t t = 0; t < 3; ++t) CHECK(g.actual(j, t) == direct[j].test_loss_change[t]);
  const EstimatorSettings s = benchmark_settings();
  const Estimate ex = estimate(p, parse_bench_entry("exact"), tests, s), cg = estimate(p, parse_bench_entry("cg"), tests, s);
  REQUIRE(ex.predicted.shape()[0] == 3);
  for (std::size_t i = 0; i < p.train.size(); ++i) CHECK(cg.predicted(1, i) == doctest::Approx(ex.predicted(1, i)).epsilon(1e-7));
  const Tensor gd = gradient_dot(*p.obj, p.train, p.test, tests, p.theta);
  CHECK(estimate(p, parse_bench_entry("graddot"), tests, s).predicted(2, 9) == gd(2, 9));
  // convex and retrained to 1e-11: the influence function tracks leave-one-out closely
  CHECK(loo_scores(ex.predicted, g).pearson > 0.99);
  std::string why;
  const auto self = self_scores(p, parse_bench_entry("exact"), s, &why);
  REQUIRE(self.has_value());
  SolverChoice c;
  c.method = Method::Exact;
  const CurvatureOperator A(*p.obj, p.train, p.theta);
  const Tensor ref = self_influence(A, c);
  for (std::size_t i : {0, 3, 40}) CHECK((*self)(i) == doctest::Approx(ref(i)).epsilon(1e-12));
  CHECK_FALSE(self_scores(p, parse_bench_entry("cg"), s, &why).has_value());
  CHECK(why.find("one iterative solve per training row") != std::string::npos);
  CHECK(test::error_of([&] { lds_truth(p, 3, 1.0, tests, rp, run, 0); }).find("α") != std::string::npos);
}

TEST_CASE("benchmark reference truth: each group's value is its rows' reference Δ̂ summed; the LDS groups are lds_truth's") {
  const Tensor ref = tensor({2, 5}, {1, 2, 3, 4, 5, -1, 0.5, 0, 2, 8});
  const GroundTruth g = reference_truth(ref, {{0}, {3}, {1, 4}, {0, 2, 3}}, {11, 12});
  REQUIRE(g.actual.shape() == Shape{4, 2});
  const std::vector<double> want = {1, -1, 4, 2, 2 + 5, 0.5 + 8, 1 + 3 + 4, -1 + 0 + 2};
  for (std::size_t k = 0; k < want.size(); ++k) CHECK(g.actual.data()[k] == want[k]);
  CHECK(g.retrain.jobs == 0);  // nothing retrained
  CHECK(g.test_rows == std::vector<std::size_t>{11, 12});
  // the reference scored against itself: LOO and LDS exactly 1
  const auto loo = loo_scores(ref, reference_truth(ref, {{0}, {1}, {2}, {3}, {4}}, {11, 12}));
  CHECK(loo.pearson == doctest::Approx(1).epsilon(1e-12));
  CHECK(test::error_of([&] { reference_truth(ref, {{0}}, {11}); }).find("not [1, n]") != std::string::npos);
  // lds_groups: round(α n) kept, the rest removed, sorted, seeded
  const auto groups = lds_groups(10, 4, 0.3, 5);
  REQUIRE(groups.size() == 4);
  for (const auto& r : groups) {
    CHECK(r.size() == 7);
    CHECK(std::is_sorted(r.begin(), r.end()));
  }
  CHECK(groups == lds_groups(10, 4, 0.3, 5));
  CHECK(groups != lds_groups(10, 4, 0.3, 6));
  CHECK(benchmark_truths().parse("cg") == BenchTruth::Cg);
  CHECK(benchmark_truths().parse("both") == BenchTruth::Both);
  CHECK((retrains(BenchTruth::Both) && references(BenchTruth::Both) && !retrains(BenchTruth::Cg) && !references(BenchTruth::Retrain)));
}

TEST_CASE("benchmark entries: a row of the estimator table, on a curvature by NAME:CURVATURE or a short name") {
  const BenchEntry ggn = parse_bench_entry("ggn"), kfac = parse_bench_entry("kfac"), m = parse_bench_entry("minres:ggn");
  CHECK(ggn.estimator == Estimator::Cg);
  CHECK(ggn.curvature.kind == Curvature::GaussNewton);
  CHECK(kfac.estimator == Estimator::Exact);
  CHECK(kfac.curvature.kind == Curvature::Kfac);
  CHECK(m.estimator == Estimator::Minres);
  CHECK(m.curvature.kind == Curvature::GaussNewton);
  CHECK(m.label == "minres:ggn");
  CHECK(parse_bench_entry("trak").curvature.kind == Curvature::Hessian);
  CHECK(test::error_of([] { parse_bench_entry("nope"); }).find("'nope' is not one of: exact, cg") != std::string::npos);
  CHECK(test::error_of([] { parse_bench_entry("graddot:ggn"); }).find("takes no curvature") != std::string::npos);
  CHECK(test::error_of([] { parse_bench_entry("cg:flat"); }).find("'flat' is not one of") != std::string::npos);
  // the benchmark's defaults differ from a single run's where it compares estimators at their best
  CHECK(benchmark_settings().solver.cg.max_iterations == 2000);
  CHECK(benchmark_settings().solver.lowrank.rank == 50);
}
