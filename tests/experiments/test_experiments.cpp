// The experiment layer without the CLI: the problem and its checkpoint, leave-one-out
// evaluation (validate), a groups-study row, the selection comparison, a fragility row.
#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "influence/choices.hpp"
#include "experiments/studies.hpp"
#include "tests/datasets/temp_files.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;

namespace {
// Iris versicolor/virginica, L2 logistic regression (convex: retraining finds the minimum)
ProblemSpec logreg_spec() {
  ProblemSpec s;
  s.classes = {1, 2};
  s.model = ModelKind::LogReg;
  s.weight_decay = 0.01;
  s.grad_tol = 1e-10;
  return s;
}
RetrainProtocol newton() {
  RetrainProtocol p;
  p.optimizer = nn::Optimizer::Newton;
  p.grad_tol = 1e-12;
  return p;
}
}  // namespace

TEST_CASE("Problem: source rows survive the split; save and load rebuild the same problem") {
  const Problem p = build_problem(logreg_spec(), false);
  CHECK(p.train.size() == 80);
  CHECK(p.test.size() == 20);
  // classes 1 and 2 are rows 50..149 of the Iris file; every source row is distinct
  std::vector<bool> seen(150, false);
  for (std::size_t i = 0; i < p.train.size(); ++i) {
    CHECK(p.train.source_row(i) >= 50);
    CHECK(!seen[p.train.source_row(i)]);
    seen[p.train.source_row(i)] = true;
  }
  CHECK(p.fit.converged);
  CHECK(p.fit.grad_norm < 1e-10);
  const test::TempDir t;
  save_problem(t.file("ck"), p);
  const Problem q = load_problem(t.file("ck"));
  CHECK(differences(p.spec, q.spec).empty());
  CHECK(q.train.source_rows == p.train.source_rows);
  CHECK(q.test.source_rows == p.test.source_rows);
  CHECK(norm2(q.theta - p.theta) == 0);
  CHECK(q.fit.grad_norm < 1e-10);
  CHECK(q.obj->weight_decay() == 0.01);
  ProblemSpec other = p.spec;
  other.weight_decay = 0.1;
  const auto d = differences(p.spec, other);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key == "weight_decay");
  // more rows than the data has: an error naming the option (was: silently capped)
  ProblemSpec big = logreg_spec();
  big.n_train = 500;
  CHECK(test::error_of([&] { load_data(big); }).find("--n-train 500") != std::string::npos);
  // data that differs from what θ̂ was trained on is refused (a changed file, another directory)
  const std::string pj = t.file("ck/problem.json");
  std::string text;
  {
    std::ifstream in(pj);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const auto at = text.find("\"train_data\": \"") + 15;
  { std::ofstream(pj, std::ios::trunc) << text.substr(0, at) + "X" + text.substr(at + 1); }
  CHECK(test::error_of([&] { load_problem(t.file("ck")); }).find("is not the data θ̂ was trained on") != std::string::npos);
  std::filesystem::remove(t.file("ck/problem.json"));
  CHECK(test::error_of([&] { load_problem(t.file("ck")); }).find("has no problem.json") != std::string::npos);
}

TEST_CASE("evaluate_leave_one_out: the validate evaluation, scores with n, every retrain converged") {
  const Problem p = build_problem(logreg_spec(), false);
  LooOptions o;
  o.top = 12;
  o.estimator = Estimator::Exact;
  o.retrain = newton();
  const LooEvaluation e = evaluate_leave_one_out(p, 3, o);
  REQUIRE(e.rows.size() == 12);
  for (std::size_t j = 1; j < 12; ++j) CHECK(std::fabs(e.predicted(j - 1)) >= std::fabs(e.predicted(j)));
  CHECK(e.retrain.jobs == 12);
  CHECK(e.retrain.converged == 12);
  CHECK(e.retrain.saddles == 0);  // convex: no saddle
  CHECK(e.scores.n == 12);
  CHECK(e.scores.undefined.empty());
  CHECK(e.scores.pearson > 0.99);
  CHECK(e.scores.signs_agree == 12);
  // Δ̂ of the retrained rows is the library's Δ̂ of those rows
  for (std::size_t j = 0; j < 12; ++j) CHECK(e.predicted(j) == e.predicted_all(e.rows[j]));
  REQUIRE(e.estimate.solves.size() == 1);
  CHECK(e.estimate.solves[0].rel_residual < 1e-10);
  CHECK(e.parameters == p.theta.size());
  // any row of the estimator table: the gradient dot product against the same retraining
  LooOptions gd = o;
  gd.estimator = Estimator::GradDot;
  const LooEvaluation g = evaluate_leave_one_out(p, 3, gd);
  const Tensor want = gradient_dot(*p.obj, p.train, p.test, {3}, p.theta);
  for (std::size_t j = 0; j < 12; ++j) CHECK(g.predicted(j) == want(0, g.rows[j]));
  CHECK(g.estimate.solves.empty());
  CHECK(g.test_loss == doctest::Approx(e.test_loss).epsilon(1e-15));
  CHECK(g.scores.n == 12);
}

TEST_CASE("score: strict signs; undefined correlations say why") {
  const Scores s = score(tensor({4}, {0.1, -0.2, 0.3, -0.4}), tensor({4}, {0.2, 0.0, 0.1, -0.5}));
  CHECK(s.signs_agree == 3);  // the actual 0 agrees with nothing (was: counted with the negative prediction)
  const Scores zero = score(tensor({3}, {0.1, -0.2, 0.3}), tensor({3}, {0, 0, 0}));
  CHECK(std::isnan(zero.pearson));
  CHECK(zero.undefined.find("every actual change is 0") != std::string::npos);
  const Scores two = score(tensor({2}, {0.1, 0.2}), tensor({2}, {0.3, 0.4}));
  CHECK(std::isnan(two.pearson));  // was: 1.000
  CHECK(two.undefined.find("n = 2") != std::string::npos);
}

TEST_CASE("groups-study row and selection comparison") {
  const Problem p = build_problem(logreg_spec(), false);
  const CurvatureOperator A(*p.obj, p.train, p.theta);
  SolverChoice c;
  c.method = Method::Exact;
  const InverseHvp inv(A, c);
  const GroupsRow r = evaluate_group_kind(p, inv, 3, 0.2, GroupKind::Knn, 5, newton());
  CHECK(r.size == 16);
  CHECK(r.evaluation.groups.size() == 5);
  CHECK(r.retrain.converged == 5);
  CHECK(r.first.n == 5);
  CHECK(r.second.relative_error < r.first.relative_error);  // coherent groups: second order closer
  // the same groups as make_groups gives (one table of kinds, one seed rule)
  CHECK(r.evaluation.groups == make_groups(GroupKind::Knn, p, 16, 5, p.spec.seed));
  const SelectionComparison s = compare_selection(p, inv, 3, 16, newton());
  CHECK(s.selection.greedy.size() == 16);
  CHECK(s.greedy.converged);
  CHECK(s.second_order.converged);
  CHECK(s.greedy.test_loss_change.at(0) > 0);  // removing the most helpful rows raises the loss
  std::vector<std::size_t> both;  // `common` counts the rows the two picks share
  std::set_intersection(s.selection.greedy.begin(), s.selection.greedy.end(), s.selection.second_order.begin(), s.selection.second_order.end(),
                        std::back_inserter(both));
  CHECK(s.common == both.size());
  CHECK(s.selection.second_order.size() == 16);
}

TEST_CASE("fragility_setting: one row per test point, keys name the setting exactly, done rows skipped") {
  ProblemSpec base;
  base.depth = 1;
  base.width = 6;
  base.max_steps = 3000;
  const auto settings = fragility_settings(base, {1, 1, 2}, {4}, {0.01});
  REQUIRE(settings.size() == 3);  // repeats dropped
  CHECK(settings[0].key("highest") == "depth-d1-w6-wd0.01-s0-highest");
  FragilityOptions o;
  o.top = 6;
  o.random_tests = 1;
  o.solver.method = Method::Exact;
  RetrainRun run;
  run.progress = false;
  const auto rows = fragility_setting(base, settings[0], o, nullptr, nullptr, run);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].test == "highest");
  CHECK(rows[1].test == "random0");
  CHECK(rows[0].parameters == 4 * 6 + 6 + 6 * 3 + 3);
  CHECK(rows[0].scores.n == 6);
  CHECK(rows[0].retrain.jobs == 6);
  CHECK(rows[0].spectrum.exact);
  CHECK(rows[0].test_source_row < 150);
  const auto skipped = fragility_setting(base, settings[0], o, [](const std::string& k) { return k.find("highest") != std::string::npos; },
                                         nullptr, run);
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].test == "random0");
  CHECK(skipped[0].scores.pearson == doctest::Approx(rows[1].scores.pearson).epsilon(1e-9));
  // seeds: every setting again per seed, seed outermost; seed k is a problem seeded base + k —
  // repeatable, and another split and initialisation than seed 0
  const auto seeded = fragility_settings(base, {1, 1, 2}, {4}, {0.01}, 2);
  REQUIRE(seeded.size() == 6);
  CHECK(seeded[3].seed == 1);
  CHECK(seeded[3].key("highest") == "depth-d1-w6-wd0.01-s1-highest");
  CHECK(test::error_of([&] { fragility_settings(base, {1}, {4}, {0.01}, 0); }).find("seeds") != std::string::npos);
  o.random_tests = 0;
  const auto s1 = fragility_setting(base, seeded[3], o, nullptr, nullptr, run);
  const auto again = fragility_setting(base, seeded[3], o, nullptr, nullptr, run);
  REQUIRE(s1.size() == 1);
  CHECK(s1[0].scores.pearson == again[0].scores.pearson);
  CHECK(s1[0].test_source_row == again[0].test_source_row);
  ProblemSpec one = base;
  one.seed = base.seed + 1;
  const Problem p1 = build_problem(one, false);
  CHECK(s1[0].test_accuracy == p1.test_accuracy);  // the problem seeded base + 1
  CHECK(s1[0].scores.pearson != rows[0].scores.pearson);
  // retraining to a tolerance has no noise floor (nothing removed: no step); a fixed Adam
  // budget does: one more job removes nothing, and its |Δ| is exactly retraining the whole
  // training set from θ̂ with that job's batch order (seed + job index)
  CHECK(std::isnan(rows[0].noise_floor));
  FragilityOptions b = o;
  b.retrain.optimizer = nn::Optimizer::Adam;
  b.retrain.epochs = 15;
  b.retrain.lr = 1e-3;
  b.retrain.batch_size = 16;
  const auto nb = fragility_setting(base, settings[0], b, nullptr, nullptr, run);
  REQUIRE(nb.size() == 1);
  CHECK(nb[0].retrain.jobs == 6);  // the floor's job is not one of the leave-one-out retrains
  ProblemSpec s0 = base;
  s0.model = ModelKind::Mlp;
  s0.weight_decay = 0.01;
  const Problem p0 = build_problem(s0, false);
  nn::TrainOptions t;
  t.optimizer = nn::Optimizer::Adam;
  t.epochs = 15, t.lr = 1e-3, t.batch_size = 16, t.seed = b.retrain.seed + 6, t.progress = false;
  const Tensor th = nn::train(*p0.obj, p0.train, p0.theta, t).theta;
  double before = 0, after = 0;
  test_loss_gradient(*p0.obj, p0.test, {nb[0].test_row}, p0.theta, &before);
  test_loss_gradient(*p0.obj, p0.test, {nb[0].test_row}, th, &after);
  CHECK(nb[0].noise_floor == doctest::Approx(std::fabs(after - before)).epsilon(1e-12));
  CHECK(nb[0].noise_floor > 0);
}

TEST_CASE("evaluate_lds: subsets against retraining; no moved loss gives an undefined score, not an error") {
  const Problem p = build_problem(logreg_spec(), false);
  LdsOptions o;
  o.subsets = 8;
  o.alpha = 0.7;
  o.estimator = Estimator::Exact;
  o.retrain = newton();
  const LdsEvaluation e = evaluate_lds(p, 3, o);
  CHECK(e.scores.n == 8);
  CHECK(e.lds.spearman > 0.8);
  CHECK(e.retrain.converged == 8);
  // a tolerance so loose that no retrain moves: every actual change is 0 → NaN with the reason
  LdsOptions loose = o;
  loose.retrain.grad_tol = 1;
  const LdsEvaluation z = evaluate_lds(p, 3, loose);
  CHECK(std::isnan(z.lds.spearman));
  CHECK(z.scores.undefined.find("every actual change is 0") != std::string::npos);
  CHECK(z.retrain.unresolved == 8);
}

TEST_CASE("fragility candidates: top |Δ̂|, highest training loss, seeded random rows") {
  ProblemSpec spec;
  spec.depth = 1;
  spec.width = 6;
  spec.max_steps = 3000;
  const Problem p = build_problem(spec, false);
  const Tensor l = row_losses(*p.obj, p.train, p.theta);
  REQUIRE(l.size() == p.train.size());
  for (std::size_t i : {0, 17, 95}) {  // one pass equals the row's own loss
    double li = 0;
    test_loss_gradient(*p.obj, p.train, {i}, p.theta, &li);
    CHECK(l(i) == doctest::Approx(li).epsilon(1e-12));
  }
  Tensor pred = zeros({p.train.size()});
  for (std::size_t i = 0; i < pred.size(); ++i) pred(i) = std::sin(0.3 * static_cast<double>(i));
  CHECK(fragility_candidates(p, pred, Candidates::TopInfluence, 7, 0) == largest_magnitude(pred, 7));
  const auto by_loss = fragility_candidates(p, pred, Candidates::HighestLoss, 7, 0);
  REQUIRE(by_loss.size() == 7);
  double lowest_taken = INFINITY;
  for (std::size_t j = 0; j < by_loss.size(); ++j) {
    if (j) CHECK(l(by_loss[j]) <= l(by_loss[j - 1]));  // highest first
    lowest_taken = std::min(lowest_taken, l(by_loss[j]));
  }
  std::size_t above = 0;  // no row left out has a higher loss than one taken
  for (std::size_t i = 0; i < l.size(); ++i) above += l(i) > lowest_taken;
  CHECK(above <= 6);
  const auto r1 = fragility_candidates(p, pred, Candidates::Random, 7, 3), r2 = fragility_candidates(p, pred, Candidates::Random, 7, 3);
  CHECK(r1 == r2);
  CHECK(r1 != fragility_candidates(p, pred, Candidates::Random, 7, 4));
  CHECK(std::set<std::size_t>(r1.begin(), r1.end()).size() == 7);
  CHECK(candidate_rules().parse("loss") == Candidates::HighestLoss);
}

TEST_CASE("fragility_setting: a solve that fails gives rows saying why, with nothing retrained, and the study goes on") {
  // λ = 0 on a tanh MLP: H has eigenvalues ≤ 0, which LiSSA refuses (an Error from the solve)
  ProblemSpec base;
  base.depth = 1, base.width = 5;
  base.max_steps = 3000;
  const auto settings = fragility_settings(base, {1}, {5}, {0.0});
  FragilityOptions o;
  o.top = 4, o.random_tests = 1;
  o.solver.method = Method::Lissa;
  RetrainRun run;
  run.progress = false;
  const auto rows = fragility_setting(base, settings[0], o, nullptr, nullptr, run);
  REQUIRE(rows.size() == 2);
  for (const auto& r : rows) {
    CAPTURE(r.warning);
    CHECK(r.warning.rfind("no predicted Δ: lissa: ", 0) == 0);
    CHECK(r.scores.undefined == r.warning);
    CHECK(std::isnan(r.scores.pearson));
    CHECK(r.retrain.jobs == 0);
    CHECK(r.spectrum.negative > 0);
  }
  CHECK(rows[1].test == "random0");
}

TEST_CASE("sweep_points: rows grouped by sweep, λ and test kind; unresolved rows counted, not used") {
  auto rec = [](Sweep s, std::size_t d, std::size_t w, double wd, TestKind t, double pearson, std::size_t unresolved) {
    FragilityRecord r;
    r.sweep = s, r.depth = d, r.width = w, r.weight_decay = wd, r.test = t;
    r.pearson = pearson, r.spearman = pearson / 2, r.unresolved = unresolved, r.retrained = 10, r.saddles = 1;
    r.mean_abs_actual = 0.1, r.noise_floor = std::nan("");
    return r;
  };
  const std::vector<FragilityRecord> rows = {
      rec(Sweep::Depth, 1, 8, 0.001, TestKind::Highest, 0.9, 0), rec(Sweep::Depth, 1, 8, 0.001, TestKind::Highest, 0.7, 0),
      rec(Sweep::Depth, 1, 8, 0.001, TestKind::Highest, 0.8, 0), rec(Sweep::Depth, 1, 8, 0.001, TestKind::Highest, -0.5, 2),  // unresolved: out
      rec(Sweep::Depth, 2, 8, 0.001, TestKind::Random, 0.3, 0),  rec(Sweep::Width, 1, 16, 0.001, TestKind::Highest, 0.6, 0),
      rec(Sweep::Depth, 1, 8, 0.0, TestKind::Highest, 0.1, 0)};
  const auto pts = sweep_points(rows, {0.001});  // λ = 0 is not asked for: its row is in no point
  REQUIRE(pts.size() == 3);
  const SweepPoint& a = pts[0];
  CHECK(a.sweep == Sweep::Depth);
  CHECK(a.test == TestKind::Highest);
  CHECK(a.x == 1);
  CHECK(a.rows == 4);
  CHECK(a.unmeasured == 1);
  CHECK(a.pearson.n == 3);
  CHECK(a.pearson.median == doctest::Approx(0.8));
  CHECK(a.spearman.median == doctest::Approx(0.4));
  CHECK(a.saddles == 4);
  CHECK(a.retrained == 40);
  CHECK(pts[1].test == TestKind::Random);
  CHECK(pts[1].x == 2);
  CHECK(pts[2].sweep == Sweep::Width);
  CHECK(pts[2].x == 16);
  // a table's λ read back (0.001 from "0.001") matches the λ given
  CHECK(sweep_points({rec(Sweep::Depth, 1, 8, std::stod("0.001"), TestKind::Highest, 0.5, 0)}, {0.001}).size() == 1);
}

TEST_CASE("summarize counts statuses: a budget-stopped retrain with negative curvature is budget, not a saddle") {
  RetrainRecord conv, sad, bud, unres;
  conv.status = RetrainStatus::Converged, conv.converged = true;
  sad.status = RetrainStatus::Saddle, sad.saddle = true;
  bud.status = RetrainStatus::Budget, bud.saddle = true;  // stopped early where λmin < 0: still a budget stop
  unres.status = RetrainStatus::Unresolved;
  const RetrainSummary s = summarize({conv, sad, bud, bud, unres});
  CHECK(s.jobs == 5);
  CHECK(s.converged == 1);
  CHECK(s.saddles == 1);
  CHECK(s.budget == 2);
  CHECK(s.unresolved == 1);
  const Scores sc = score(tensor({5}, {1, 2, 3, 4, 5}), tensor({5}, {1, 2, 3, 4, 6}), s);
  CHECK(sc.caveat.find("1 at a saddle, 1 took no step, 2 stopped before the tolerance") != std::string::npos);
}

TEST_CASE("unrolled as a row of the estimator table: the problem's own sgd run replayed to θ̂; refused for an L-BFGS θ̂") {
  ProblemSpec s;
  s.width = 5, s.optimizer = nn::Optimizer::Sgd, s.lr = 0.3, s.epochs = 30, s.batch_size = 40;
  const Problem p = build_problem(s, false);
  const Trained t = trained(p, false);
  REQUIRE(t.run.has_value());
  const Estimate e = estimate(Estimator::Unrolled, t, {0, 4}, EstimatorSettings{});
  const influence::Unrolled u = influence::unrolled_attribution(*p.obj, p.train, p.test, {0, 4}, *t.run);
  CHECK(u.steps == 30 * 3);
  CHECK(test::rel_err(e.predicted, u.predicted) == 0);
  CHECK(test::rel_err(u.theta, p.theta) == 0);  // the replay is the run
  const Problem q = build_problem(logreg_spec(), false);
  CHECK(test::error_of([&] { estimate(Estimator::Unrolled, trained(q, false), {0}, EstimatorSettings{}); }).find("not trained by an sgd run") !=
        std::string::npos);
}
