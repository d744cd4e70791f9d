#include "experiments/decomposition.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include "autodiff/blas.hpp"
#include "datasets/split.hpp"
#include "autodiff/ops.hpp"
#include "influence/influence.hpp"
#include "influence/pbrf.hpp"
#include "util/format.hpp"
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

// The rung's objective with row `row` removed to the degree t ∈ [0, 1] (t = 1: the rung's own):
// R_t = Σᵢ wᵢℓᵢ / Σᵢ wᵢ + (λ/2)‖θ‖² with w_row = 1 − t (loo), the same + (μ/2)‖θ − θ̂‖²
// (loo-proximal), or P_ε with ε_row = t/n (pbrf).
ad::Fn partial_removal(const Problem& p, const influence::Pbrf& pbrf, Rung rung, std::size_t row, double t, double mu) {
  const std::size_t n = p.train.size();
  if (rung == Rung::Pbrf) {
    std::vector<double> eps(n, 0.0);
    eps[row] = t / static_cast<double>(n);
    return pbrf.fn(eps);
  }
  Tensor w = zeros({n});
  for (auto& x : w) x = 1;
  w(row) = 1 - t;
  const double wsum = static_cast<double>(n) - t, lambda = p.obj->weight_decay();
  return [&p, w, wsum, lambda, mu, rung](ad::Var th) {
    ad::Var v = ad::mul_scalar(ad::sum(ad::mul(p.obj->losses(th, p.train), th.tape->leaf(w, false))), 1.0 / wsum);
    if (lambda > 0) v = ad::add(v, ad::mul_scalar(ad::sq_norm(th), lambda / 2));
    if (rung == Rung::Proximal) v = ad::add(v, ad::mul_scalar(ad::sq_norm(ad::sub(th, th.tape->leaf(p.theta, false))), mu / 2));
    return v;
  };
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
  for (const BenchEntry& e : o.estimators) {
    try {
      const Estimate est = estimate(p, e, {test_row}, o.settings);
      L.estimator_warnings.push_back(est.first_warning());
      for (std::size_t j = 0; j < k; ++j) L.rows[j].estimates.push_back(est.predicted(0, rows[j]));
    } catch (const Error& err) {  // e.g. CG on an indefinite H: the row says so, the ladder goes on
      L.estimator_warnings.push_back(e.label + " failed: " + err.what());
      for (std::size_t j = 0; j < k; ++j) L.rows[j].estimates.push_back(std::numeric_limits<double>::quiet_NaN());
    }
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

  // the branch check: each retrain from θ̂ against its continuation (rows in parallel, one BLAS thread)
  if (o.continuation_steps > 0) {
    const influence::Pbrf pbrf(*p.obj, p.train, p.theta, o.damping);
    nn::TrainOptions opt = nn::train_options(o.retrain, false);
    if (!nn::to_tolerance(opt.optimizer)) throw Error("decomposition: the continuation minimises to a tolerance (lbfgs, newton-cg or newton)");
    util::Progress cprog("continuation", 3 * k, run.progress);
    std::mutex cm;
    const blas::ThreadsGuard one(run.threads > 1 ? 1 : blas::threads());
    run_parallel(3 * k, run.threads, [&](std::size_t job) {
      util::throw_if_stopped("decomposition");
      const std::size_t j = job / 3, r = job % 3;
      const Rung rung = r == 0 ? Rung::Warm : r == 1 ? Rung::Proximal : Rung::Pbrf;
      const double mu = rung == Rung::Warm ? 0.0 : o.damping;
      LadderRow& lr = L.rows[j];
      Tensor theta = p.theta;
      for (std::size_t s = 1; s <= o.continuation_steps; ++s) {
        const double t = static_cast<double>(s) / static_cast<double>(o.continuation_steps);
        const nn::MinimizeResult m = nn::minimize(partial_removal(p, pbrf, rung, rows[j], t, mu), theta, opt);
        theta = m.theta;
        lr.continued_converged[r] = lr.continued_converged[r] && m.converged;
      }
      const RetrainRecord& direct = r == 0 ? lr.warm : r == 1 ? lr.proximal : lr.pbrf;
      const double d = test_loss(p, test_row, theta) - L.test_loss, dist = norm2(axpy(theta, -1.0, p.theta));
      lr.continued[r] = d, lr.continued_distance[r] = dist;
      const double a = direct.test_loss_change.at(0);
      lr.jumped[r] = std::fabs(a - d) > kBranchTol * std::max(std::fabs(a), std::fabs(d)) + 1e-9 ||
                     (std::isfinite(direct.distance) && std::fabs(direct.distance - dist) > kBranchTol * std::max(direct.distance, dist) + 1e-9);
      const std::lock_guard<std::mutex> lock(cm);
      cprog.tick();
    });
    cprog.done();
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
  // parallel runs, not parallel GEMMs: a cold Δ must not depend on the thread count (as retraining)
  const blas::ThreadsGuard blas_threads(run.threads > 1 ? 1 : blas::threads());
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

std::string DecompositionSetting::key() const {
  return "d" + std::to_string(depth) + "-wd" + shortest(weight_decay) + "-s" + std::to_string(seed);
}

DecompositionRun decomposition_setting(const ProblemSpec& base, const DecompositionSetting& s, std::size_t top, const LadderOptions& o,
                                       const RetrainRun& run) {
  ProblemSpec spec = base;
  spec.model = ModelKind::Mlp;
  spec.depth = s.depth, spec.hidden.clear(), spec.weight_decay = s.weight_decay;
  spec.seed = base.seed + s.seed;
  DecompositionRun r{s, build_problem(spec, false), {}};
  const Problem& p = r.problem;
  const std::size_t t = pick_test_rows("highest", p, spec.seed).at(0);
  // the rows: largest |Δ̂| of the linear rung (CG on G + μI)
  EstimatorSettings lin = o.settings;
  lin.solver.damping = o.damping;
  lin.solver.cg.tol = 1e-10;
  const Estimate e = estimate(p, parse_bench_entry("cg:ggn"), {t}, lin);
  Tensor v = zeros({p.train.size()});
  for (std::size_t i = 0; i < v.size(); ++i) v(i) = e.predicted(0, i);
  r.ladder = ladder(p, t, largest_magnitude(v, std::min(top, p.train.size())), o, run);
  return r;
}

std::vector<DecompositionPoint> decomposition_points(const std::vector<DecompositionRecord>& records, std::size_t estimators) {
  std::map<std::pair<double, std::size_t>, std::vector<const DecompositionRecord*>> by;  // (λ, depth)
  for (const auto& r : records) by[{r.weight_decay, r.depth}].push_back(&r);
  std::vector<DecompositionPoint> out;
  for (const auto& [at, rs] : by) {
    DecompositionPoint pt;
    pt.weight_decay = at.first, pt.depth = at.second, pt.rows = rs.size();
    std::map<std::size_t, std::vector<const DecompositionRecord*>> seeds;
    for (const auto* r : rs) {
      for (std::size_t k = 0; k < kGapTerms; ++k) pt.mean_abs_term[k] += std::fabs(r->value[k] - r->value[k + 1]);
      pt.mean_abs_cold += std::fabs(r->value[0]);
      pt.cold_unconverged += !r->cold_converged;
      pt.not_minima += r->not_minima;
      pt.jumps += r->jumps;
      pt.mean_abs_gap += std::fabs(r->value[0] - r->value[kRungs - 1]);
      seeds[r->seed].push_back(r);
    }
    const double m = static_cast<double>(rs.size());
    for (auto& x : pt.mean_abs_term) x /= m;
    pt.mean_abs_cold /= m, pt.mean_abs_gap /= m;
    pt.seeds = seeds.size();
    pt.pearson.assign(estimators, std::vector<Spread>(kRungs - 1));
    for (std::size_t e = 0; e < estimators; ++e)
      for (std::size_t rung = 0; rung + 1 < kRungs; ++rung) {
        std::vector<double> per_seed;
        for (const auto& [seed, sr] : seeds) {
          Tensor a = zeros({sr.size()}), b = zeros({sr.size()});
          for (std::size_t i = 0; i < sr.size(); ++i) a(i) = sr[i]->estimates.at(e), b(i) = sr[i]->value[rung];
          per_seed.push_back(sr.size() < 3 ? std::numeric_limits<double>::quiet_NaN() : or_nan(pearson, a, b));
        }
        pt.pearson[e][rung] = spread(per_seed);
      }
    out.push_back(std::move(pt));
  }
  return out;
}

}  // namespace inflab::experiments
