#include "experiments/decomposition.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "datasets/split.hpp"
#include "influence/influence.hpp"
#include "util/progress.hpp"
#include "util/stop.hpp"

namespace inflab::experiments {

const Choices<Rung>& rungs() {
  static const Choices<Rung> t{
      "reference",
      {{"loo-cold", Rung::Cold, "leave-one-out retrained from the problem's initialisation with θ̂'s own protocol"},
       {"loo", Rung::Warm, "leave-one-out retrained from θ̂"},
       {"loo-proximal", Rung::Proximal, "leave-one-out from θ̂ with (μ/2)‖θ − θ̂‖² added"},
       {"pbrf", Rung::Pbrf, "the proximal Bregman response at θ̂ (Bae et al. 2022)"},
       {"linear", Rung::Linear, "first-order influence on the damped Gauss–Newton matrix G + μI, solved exactly"},
       {"estimate", Rung::Estimate, "the practical estimator"}}};
  return t;
}

const std::vector<std::string>& gap_term_names() {
  static const std::vector<std::string> t = {"warm-start", "proximity", "non-convergence", "linearisation", "solver"};
  return t;
}

namespace {
double test_loss(const Problem& p, std::size_t t, const Tensor& theta) {
  double l = 0;
  test_loss_gradient(*p.obj, p.test, {t}, theta, &l);
  return l;
}

// Jobs 0 … n−1 over `threads` threads (each job's result independent of where it ran).
void run_parallel(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& job) {
  std::atomic<std::size_t> next{0};
  std::string failure;
  std::mutex m;
  auto worker = [&] {
    for (std::size_t j; (j = next++) < n;) {
      try {
        job(j);
      } catch (const std::exception& e) {
        const std::lock_guard<std::mutex> lock(m);
        if (failure.empty()) failure = e.what();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < std::min(threads, n); ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (!failure.empty()) throw Error(failure);
}
}  // namespace

Ladder ladder(const Problem& p, std::size_t test_row, const std::vector<std::size_t>& rows, const LadderOptions& o,
              const RetrainRun& run) {
  if (rows.empty()) throw Error("decomposition: no training rows to remove");
  if (!(o.damping >= 0) || !std::isfinite(o.damping)) throw Error("decomposition: damping μ must be a finite number ≥ 0");
  if (o.estimators.empty()) throw Error("decomposition: no estimator");
  const std::size_t n = p.train.size(), k = rows.size();
  Ladder L;
  L.test_row = test_row;
  L.test_loss = test_loss(p, test_row, p.theta);
  L.rows.resize(k);
  for (std::size_t j = 0; j < k; ++j) L.rows[j].row = rows[j];

  // linear: (1/n) ∇ℓ(z_t)ᵀ (G + μI)⁻¹ ∇ℓ̃(z) with an exact solve (dense up to p = 2000, else CG to 1e-12)
  {
    const CurvatureOperator G(*p.obj, p.train, p.theta, Curvature::GaussNewton);
    SolverChoice c;
    c.damping = o.damping;
    c.method = p.theta.size() <= 2000 ? Method::Exact : Method::Cg;
    c.cg.tol = 1e-12;
    c.cg.max_iterations = 10 * p.theta.size();
    const InverseHvp inv(G, c);
    const SolveResult s = inv(test_loss_gradient(*p.obj, p.test, {test_row}, p.theta));
    L.linear_warning = s.warning;
    for (std::size_t j = 0; j < k; ++j) {
      const Tensor g = per_example_gradient(*p.obj, p.train, p.theta, rows[j]);
      L.rows[j].value[static_cast<std::size_t>(Rung::Linear)] = dot(s.x, g) / static_cast<double>(n);
      L.rows[j].linear_step = norm2(inv(g).x) / static_cast<double>(n);
    }
  }
  // the estimators: the first is the ladder's last rung
  const Trained t = trained(p, false);
  for (Estimator e : o.estimators) {
    const Estimate est = estimate(e, t, {test_row}, o.settings);
    L.estimator_warnings.push_back(est.first_warning());
    for (std::size_t j = 0; j < k; ++j) L.rows[j].estimates.push_back(est.predicted(0, rows[j]));
  }
  for (auto& r : L.rows) r.value[static_cast<std::size_t>(Rung::Estimate)] = r.estimates[0];

  // loo, loo-proximal, pbrf: retraining jobs from θ̂, each with its journal
  std::vector<std::vector<std::size_t>> groups;
  for (auto r : rows) groups.push_back({r});
  for (Rung rung : {Rung::Warm, Rung::Proximal, Rung::Pbrf}) {
    RetrainProtocol rp = o.retrain;
    rp.target = rung == Rung::Warm ? RetrainTarget::Loo : rung == Rung::Proximal ? RetrainTarget::LooProximal : RetrainTarget::Pbrf;
    rp.damping = rung == Rung::Warm ? 0.0 : o.damping;
    RetrainRun rr = run;
    if (!run.results_path.empty()) rr.results_path = run.results_path + rungs().name(rung) + ".jsonl";
    const auto rec = retrain_groups(*p.obj, p.train, p.test, p.theta, groups, {test_row}, rp, rr);
    for (std::size_t j = 0; j < k; ++j) {
      L.rows[j].value[static_cast<std::size_t>(rung)] = rec[j].test_loss_change[0];
      (rung == Rung::Warm ? L.rows[j].warm : rung == Rung::Proximal ? L.rows[j].proximal : L.rows[j].pbrf) = rec[j];
    }
  }

  // loo-cold: θ̂'s own training from its initialisation, without the row, for each L-BFGS history;
  // histories other than the first train their own full-data θ as the baseline
  const bool lbfgs = p.spec.optimizer == nn::Optimizer::Lbfgs;
  std::vector<std::size_t> histories = lbfgs ? o.cold_histories : std::vector<std::size_t>{0};
  if (histories.empty()) throw Error("decomposition: no L-BFGS history for the cold retrains");
  const Tensor theta0 = p.obj->model().init(p.spec.seed);
  auto options = [&](std::size_t h) {
    nn::TrainOptions opt = nn::train_options(p.spec, false);
    if (lbfgs) opt.lbfgs_history = h;
    return opt;
  };
  const std::size_t H = histories.size();
  std::vector<Tensor> baseline(H);
  baseline[0] = p.theta;
  std::vector<double> base_loss(H, L.test_loss);
  // jobs: the H − 1 baselines, then k·H leave-one-out runs
  const std::size_t jobs = (H - 1) + k * H;
  std::vector<double> cold(k * H, 0);
  std::vector<char> converged(k * H, 1);
  util::Progress prog("cold retrains", jobs, run.progress);
  std::mutex pm;
  auto tick = [&] {
    const std::lock_guard<std::mutex> lock(pm);
    prog.tick();
  };
  run_parallel(H - 1, run.threads, [&](std::size_t b) {
    util::throw_if_stopped("decomposition");
    baseline[b + 1] = nn::train(*p.obj, p.train, theta0, options(histories[b + 1])).theta;
    base_loss[b + 1] = test_loss(p, test_row, baseline[b + 1]);
    tick();
  });
  run_parallel(k * H, run.threads, [&](std::size_t job) {
    util::throw_if_stopped("decomposition");
    const std::size_t j = job / H, h = job % H;
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < n; ++i)
      if (i != rows[j]) keep.push_back(i);
    const nn::TrainResult r = nn::train(*p.obj, data::subset(p.train, keep), theta0, options(histories[h]));
    cold[job] = test_loss(p, test_row, r.theta) - base_loss[h];
    converged[job] = !nn::to_tolerance(p.spec.optimizer) || r.converged;
    tick();
  });
  prog.done();
  for (std::size_t j = 0; j < k; ++j) {
    LadderRow& r = L.rows[j];
    r.cold_values.assign(cold.begin() + static_cast<std::ptrdiff_t>(j * H), cold.begin() + static_cast<std::ptrdiff_t>((j + 1) * H));
    r.value[static_cast<std::size_t>(Rung::Cold)] = r.cold_values[0];
    r.cold_spread = *std::max_element(r.cold_values.begin(), r.cold_values.end()) - *std::min_element(r.cold_values.begin(), r.cold_values.end());
    for (std::size_t h = 0; h < H; ++h) r.cold_converged = r.cold_converged && converged[j * H + h];
  }
  return L;
}

}  // namespace inflab::experiments
