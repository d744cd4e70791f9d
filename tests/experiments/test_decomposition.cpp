// The ladder of references and the gap's five terms (experiments/decomposition.hpp).
#include <doctest/doctest.h>

#include <cmath>

#include "experiments/decomposition.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::experiments;

namespace {
ProblemSpec iris_spec(ModelKind model, std::size_t depth) {
  ProblemSpec s;
  s.model = model;
  if (model == ModelKind::LogReg) s.classes = {1, 2};
  s.depth = depth;
  s.width = 8;
  s.weight_decay = 0.01;
  s.grad_tol = 1e-10;
  s.max_steps = 20000;
  return s;
}
LadderOptions options(double mu) {
  LadderOptions o;
  o.damping = mu;
  o.retrain.optimizer = nn::Optimizer::Newton;
  o.retrain.grad_tol = 1e-11;
  o.estimators = {parse_bench_entry("exact"), parse_bench_entry("graddot")};
  return o;
}
RetrainRun quiet() {
  RetrainRun r;
  r.progress = false;
  return r;
}
}  // namespace

TEST_CASE("decomposition on a convex model: cold = warm, the proximity and non-convergence terms vanish as μ → 0, the terms add up") {
  const Problem p = build_problem(iris_spec(ModelKind::LogReg, 0), false);
  const std::vector<std::size_t> rows = {0, 11, 42, 57};
  LadderOptions o = options(1e-9);
  o.continuation_steps = 3;
  const Ladder L = ladder(p, 3, rows, o, quiet());
  REQUIRE(L.rows.size() == rows.size());
  for (const LadderRow& r : L.rows) {
    const double scale = std::fabs(r.value[static_cast<std::size_t>(Rung::Warm)]);
    REQUIRE(scale > 1e-5);
    MESSAGE("row " << r.row << ": cold " << r.value[0] << " (spread " << r.cold_spread << "), loo " << r.value[1] << ", proximal " << r.value[2] << ", pbrf " << r.value[3] << ", linear " << r.value[4] << ", exact " << r.value[5]);
    double sum = 0;
    for (std::size_t k = 0; k < kGapTerms; ++k) sum += r.term(k);
    CHECK(std::fabs(sum - (r.value[0] - r.value[kRungs - 1])) < 1e-15);
    CHECK(r.cold_converged);
    CHECK(r.warm.status == RetrainStatus::Converged);
    CHECK(r.pbrf.status == RetrainStatus::Converged);
    CHECK(std::fabs(r.term(0)) < 1e-8);          // warm start: one minimum, whatever the start (to the tolerance)
    CHECK(r.cold_spread < 1e-8);                 // nor the L-BFGS history (θ to ‖∇R‖ ≤ 1e-10 over λmin ≈ 0.01)
    CHECK(std::fabs(r.term(1)) < 1e-6 * scale);  // proximity: μ = 1e-9
    CHECK(std::fabs(r.term(2)) < 1e-6 * scale);  // non-convergence: a linear model at a minimum
    CHECK(std::fabs(r.term(3)) < 0.3 * scale);   // linearisation: all that is left (row 0, high leverage: 26%)
    CHECK(std::fabs(r.term(4)) < 1e-6 * scale);  // solver: exact on H = G (a linear model), μ = 0 against 1e-9
    CHECK(r.estimates.size() == 2);
    CHECK(r.linear_step > 0);
    CHECK(r.warm.distance > 0.5 * r.linear_step);
    CHECK(r.warm.distance < 2 * r.linear_step);
    for (std::size_t k = 0; k < 3; ++k) {  // one minimum: the path from θ̂ ends where the direct retrain does
      const double direct = r.value[k + 1];
      CHECK(r.continued_converged[k]);
      CHECK_FALSE(r.jumped[k]);
      CHECK(std::fabs(r.continued[k] - direct) < 1e-6 * std::fabs(direct));
    }
    CHECK(std::fabs(r.continued_distance[0] - r.warm.distance) < 1e-6 * r.warm.distance);
  }
}

TEST_CASE("decomposition on an MLP: the linearisation term is second order, the damping moves proximity and PBRF together") {
  const Problem p = build_problem(iris_spec(ModelKind::Mlp, 1), false);
  const std::vector<std::size_t> rows = {5, 60};
  for (double mu : {1e-3, 1e-1}) {
    const Ladder L = ladder(p, 0, rows, options(mu), quiet());
    for (const LadderRow& r : L.rows) {
      const double lin = std::fabs(r.value[static_cast<std::size_t>(Rung::Linear)]);
      MESSAGE("μ = " << mu << ", row " << r.row << ": cold " << r.value[0] << " (spread " << r.cold_spread << "), loo " << r.value[1]
                     << ", proximal " << r.value[2] << ", pbrf " << r.value[3] << ", linear " << r.value[4] << ", exact " << r.value[5]);
      CHECK(r.pbrf.status == RetrainStatus::Converged);
      CHECK(r.proximal.status == RetrainStatus::Converged);
      CHECK(std::fabs(r.term(3)) < 0.05 * lin);
    }
  }
}
