#include "influence/estimator.hpp"

#include <chrono>
#include <cmath>

#include "influence/datainf.hpp"
#include "util/format.hpp"

namespace inflab::influence {

namespace {
// The inverse-HVP rows: one solve per test point on (H + μI), then one forward-mode pass.
Estimate inverse_hvp(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings& s) {
  Estimate e;
  const CurvatureOperator A(t.obj, t.train, t.theta, s.curvature);
  e.predicted = predicted_changes_each(A, t.test, rows, s.solver, &e.solves);
  e.grad_norm = A.grad_norm();
  e.description = solver_methods().name(s.solver.method) + " on " + curvatures().name(s.curvature.kind) + ", μ = " + shortest(s.solver.damping);
  return e;
}
Tensor inverse_hvp_self(const Trained& t, const EstimatorSettings& s) {
  const CurvatureOperator A(t.obj, t.train, t.theta, s.curvature);
  return self_influence(A, s.solver);
}

Estimate graddot(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings&) {
  Estimate e;
  e.predicted = gradient_dot(t.obj, t.train, t.test, rows, t.theta);
  e.description = "gradient dot product at θ̂";
  return e;
}
Tensor graddot_self(const Trained& t, const EstimatorSettings&) { return gradient_self(t.obj, t.train, t.theta); }

Estimate gradcos(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings&) {
  Estimate e;
  e.predicted = gradient_cosine(t.obj, t.train, t.test, rows, t.theta);
  e.description = "gradient cosine at θ̂ (unitless: not a loss change)";
  return e;
}

const std::vector<Snapshot>& trajectory_of(const Trained& t) {
  if (!t.trajectory || t.trajectory->empty())
    throw Error("tracin needs parameters saved during training, and this model has none: train with saved steps (an sgd or adam run)");
  return *t.trajectory;
}
Estimate tracin_rows(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings&) {
  Estimate e;
  const auto& traj = trajectory_of(t);
  e.predicted = tracin(t.obj, t.train, t.test, rows, traj);
  std::string steps;
  Detail at{"steps", "", {}}, lr{"learning_rates", "", {}};
  for (const auto& s : traj) {
    steps += (steps.empty() ? "" : ", ") + std::to_string(s.step);
    at.numbers.push_back(static_cast<double>(s.step)), lr.numbers.push_back(s.lr);
  }
  e.details = {at, lr};
  e.description = "TracIn over " + std::to_string(traj.size()) + " saved steps (" + steps + ")";
  return e;
}
Tensor tracin_self_rows(const Trained& t, const EstimatorSettings&) { return tracin_self(t.obj, t.train, trajectory_of(t)); }

Estimate trak_rows(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings& s) {
  Estimate e;
  TrakOptions o = s.trak;
  const std::size_t p = t.theta.size();
  if (o.dim == 0) o.dim = std::min<std::size_t>(p, 256);
  if (o.dim > p) throw Error("projection-dim " + std::to_string(o.dim) + " is above the parameter count p = " + std::to_string(p));
  if (s.models == 0) throw Error("models: TRAK averages over at least 1 model");
  o.damping = s.solver.damping;
  if (s.models > 1 && !t.ensemble) throw Error("models " + std::to_string(s.models) + ": this caller cannot train more models (no ensemble given)");
  const std::vector<Tensor> thetas = s.models == 1 ? std::vector<Tensor>{t.theta} : t.ensemble(s.models);
  e.predicted = trak(t.obj, t.train, t.test, rows, thetas, o);
  e.details = {{"projection_dim", "", {static_cast<double>(o.dim)}},   {"projection", projections().name(o.projection), {}},
               {"projection_seed", "", {static_cast<double>(o.seed)}}, {"models", "", {static_cast<double>(s.models)}},
               {"damping", "", {o.damping}}};
  e.description = "TRAK, k = " + std::to_string(o.dim) + " (" + projections().name(o.projection) + "), " + std::to_string(s.models) +
                  " model(s), μ = " + significant(o.damping, 6);
  return e;
}

Estimate datainf_rows(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings& s) {
  Estimate e;
  e.predicted = datainf(t.obj, t.train, t.test, rows, t.theta, s.solver.damping);
  e.details = {{"damping", "", {s.solver.damping}}};
  e.description = "DataInf (empirical Fisher, inverse and average swapped), μ = " + significant(s.solver.damping, 6);
  return e;
}

const std::string kDelta = "predicted_loss_change";
const std::string kInverseUnits =
    "predicted_loss_change = (1/n)∇ℓ(z_t)ᵀ(H + μI)⁻¹∇ℓ̃(z): test-loss change when the row is removed (docs/conventions.md)";
// the options every inverse-HVP row reads, then each solver's own
const std::vector<std::string> kSolve = {"curvature", "fisher", "fisher-seed", "damping"};
std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

Estimate unrolled_rows(const Trained& t, const std::vector<std::size_t>& rows, const EstimatorSettings&) {
  if (!t.run)
    throw Error("unrolled differentiates the training run that produced θ, and this model was not trained by an sgd run "
                "(train it with optimizer sgd: full batch is gradient descent)");
  const Unrolled u = unrolled_attribution(t.obj, t.train, t.test, rows, *t.run);
  double d = 0, s = 0;
  for (std::size_t i = 0; i < u.theta.size(); ++i) d += (u.theta(i) - t.theta(i)) * (u.theta(i) - t.theta(i)), s += t.theta(i) * t.theta(i);
  if (std::sqrt(d) > 1e-10 * std::sqrt(s))
    throw Error("unrolled: replaying the training run ends " + std::to_string(std::sqrt(d / s)) +
                " (relative) away from θ̂: this is not the run that trained the model");
  Estimate e;
  e.predicted = u.predicted;
  e.details = {{"steps", "", {static_cast<double>(u.steps)}}, {"state_bytes", "", {u.state_bytes}}};
  e.description = "unrolled through " + std::to_string(u.steps) + " sgd steps (" + std::to_string(u.state_bytes / (1 << 20)) + " MiB of states)";
  return e;
}

const std::vector<EstimatorRow>& estimator_rows() {
  static const std::vector<EstimatorRow> t = {
      {Estimator::Exact, "exact", "dense eigendecomposition of H (p up to a few thousand): exact to rounding", Method::Exact, true, kDelta,
       kInverseUnits, with(kSolve, {"indefinite"}), inverse_hvp, inverse_hvp_self},
      {Estimator::Cg, "cg", "conjugate gradients to --tol (needs H + μI positive definite)", Method::Cg, true, kDelta, kInverseUnits,
       with(kSolve, {"tol", "max-iterations"}), inverse_hvp, inverse_hvp_self},
      {Estimator::Minres, "minres", "MINRES to --tol (symmetric, may be indefinite)", Method::Minres, true, kDelta, kInverseUnits,
       with(kSolve, {"tol", "max-iterations"}), inverse_hvp, inverse_hvp_self},
      {Estimator::Lissa, "lissa", "stochastic Neumann series (Agarwal et al. 2017); needs λmin(H + μI) > 0", Method::Lissa, true, kDelta,
       kInverseUnits, with(kSolve, {"lissa-scale", "lissa-depth", "lissa-repeats", "lissa-batch", "solver-seed"}), inverse_hvp, inverse_hvp_self},
      {Estimator::LowRank, "lowrank", "top --rank eigenpairs by Lanczos (Schioppa et al. 2022): an approximation", Method::LowRank, true, kDelta,
       kInverseUnits, with(kSolve, {"rank", "solver-seed"}), inverse_hvp, inverse_hvp_self},
      {Estimator::GradDot, "graddot", "gradient dot product (1/n)∇ℓ(z_t)ᵀ∇ℓ̃(z); predicted Δ with H = I", std::nullopt, true, kDelta,
       "predicted_loss_change = (1/n)∇ℓ(z_t)ᵀ∇ℓ̃(z) at θ̂; predicted Δ with H replaced by I (÷n; > 0: the row helped; docs/influence.md)", {}, graddot,
       graddot_self},
      {Estimator::GradCos, "gradcos", "gradient cosine: a unitless ranking in [−1, 1]", std::nullopt, false, "gradient_cosine",
       "gradient_cosine = cos(∇ℓ(z_t), ∇ℓ̃(z)) at θ̂: unitless in [−1, 1], same sign as predicted Δ; a ranking, not a loss change", {}, gradcos},
      {Estimator::TracIn, "tracin", "TracIn (Pruthi et al. 2020): Σ η_t gradient dots over steps saved in training (--save-steps)", std::nullopt,
       true, kDelta,
       "predicted_loss_change = (1/n)Σ_t η_t ∇ℓ(z_t; θ_t)ᵀ∇ℓ̃(z; θ_t) over the saved steps (÷n; > 0: the row helped; TracIn = n × this)",
       {"save-steps"}, tracin_rows, tracin_self_rows, false},
      {Estimator::Trak, "trak", "TRAK-style: projected gradients (--projection-dim), Gauss–Newton in projected space, --models", std::nullopt,
       true, kDelta,
       "predicted_loss_change = (1/M)Σ_m (1/n)φ_tᵀ(P G Pᵀ + μI)⁻¹φ(z), φ = P∇ℓ̃; predicted Δ with a projected Gauss–Newton (÷n; > 0: the row helped)",
       {"damping", "projection-dim", "projection", "projection-seed", "models"}, trak_rows},
      {Estimator::DataInf, "datainf", "DataInf (Kwon et al. 2024): the damped empirical Fisher inverted term by term (--damping > 0)", std::nullopt,
       true, kDelta,
       "predicted_loss_change = (1/n)vᵀ[(1/(nμ))Σⱼ(I − gⱼgⱼᵀ/(μ + ‖gⱼ‖²))]∇ℓ̃(z), v = ∇ℓ(z_t), gⱼ = ∇ℓ̃(zⱼ); predicted Δ with DataInf's inverse (÷n)",
       {"damping"}, datainf_rows},
      {Estimator::Unrolled, "unrolled", "exact attribution through the sgd run that trained θ (Ilyas & Engstrom 2025): −∂ℓ(z_t; θ_T)/∂wᵢ by its adjoint", std::nullopt,
       true, kDelta,
       "predicted_loss_change = −∂ℓ(z_t; θ_T)/∂wᵢ, wᵢ row i's weight in every batch gradient of the deterministic run (> 0: the row helped; its 1/|B| per step in place of ÷n)",
       {}, unrolled_rows, nullptr, false},
  };
  return t;
}

const EstimatorRow& row_of(Estimator e) {
  for (const auto& r : estimator_rows())
    if (r.id == e) return r;
  throw std::logic_error("an estimator without a row in its table");
}

const Choices<Estimator>& estimators() {
  static const Choices<Estimator> t = [] {
    Choices<Estimator> c{"estimator", {}};
    for (const auto& r : estimator_rows()) c.rows.push_back({r.name, r.id, r.help});
    return c;
  }();
  return t;
}

std::vector<std::string> estimator_options() {
  std::vector<std::string> out;
  for (const auto& r : estimator_rows())
    for (const auto& o : r.options)
      if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  return out;
}

namespace {
double number(const std::string& option, const std::string& text, double lo, double hi) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !std::isfinite(v)) throw Error(option + " = '" + text + "' is not a number");
  if (v < lo || v > hi) throw Error(option + " = " + text + " is not in [" + shortest(lo) + ", " + shortest(hi) + "]");
  return v;
}
std::size_t whole(const std::string& option, const std::string& text, double lo = 0, double hi = 1e15) {
  const double v = number(option, text, lo, hi);
  if (v != std::floor(v)) throw Error(option + " = " + text + " is not a whole number");
  return static_cast<std::size_t>(v);
}
}  // namespace

std::string option_conflict(const EstimatorSettings& s, const std::vector<std::string>& given,
                            const std::function<std::string(const std::string&)>& spell) {
  auto has = [&](const char* o) { return std::find(given.begin(), given.end(), o) != given.end(); };
  const std::string curvature = spell("curvature") + " " + curvatures().name(s.curvature.kind);
  if (!factored(s.curvature.kind)) {
    for (const char* o : {"fisher", "fisher-seed"})
      if (has(o)) return spell(o) + " applies to " + spell("curvature") + " kfac or ekfac only";
    return "";
  }
  // K-FAC is one factored matrix: positive semi-definite + λI, the same on every mini-batch
  if (has("indefinite")) return spell("indefinite") + " does not apply to " + curvature + " (its matrix is positive semi-definite + λI)";
  if (has("lissa-batch"))
    return spell("lissa-batch") + " does not apply to " + curvature + " (one factored matrix built from all rows, not mini-batch products)";
  if (s.curvature.labels != FisherLabels::Sampled && has("fisher-seed"))
    return spell("fisher-seed") + " applies to " + spell("fisher") + " sampled only (" + spell("fisher") + " " +
           fisher_labels().name(s.curvature.labels) + " draws nothing)";
  return "";
}

void set_option(EstimatorSettings& s, const std::string& o, const std::string& t) {
  if (o == "curvature") s.curvature.kind = curvatures().parse(t);
  else if (o == "fisher") s.curvature.labels = fisher_labels().parse(t);
  else if (o == "fisher-seed") s.curvature.seed = whole(o, t);
  else if (o == "damping") s.solver.damping = number(o, t, 0, 1e6);
  else if (o == "indefinite") s.solver.exact.indefinite = indefinite_treatments().parse(t);
  else if (o == "tol") {
    s.solver.cg.tol = number(o, t, 0, 1);
    if (s.solver.cg.tol == 0) throw Error("tol = 0 is never met in floating point; give a residual > 0 (e.g. 1e-14)");
  } else if (o == "max-iterations") s.solver.cg.max_iterations = whole(o, t, 1);
  else if (o == "lissa-scale") s.solver.lissa.scale = number(o, t, 1e-12, 1e12);
  else if (o == "lissa-depth") s.solver.lissa.depth = whole(o, t, 1);
  else if (o == "lissa-repeats") s.solver.lissa.repeats = whole(o, t, 1);
  else if (o == "lissa-batch") s.solver.lissa.batch = whole(o, t);
  else if (o == "rank") s.solver.lowrank.rank = whole(o, t, 1);
  else if (o == "solver-seed") s.solver.lissa.seed = s.solver.lowrank.seed = whole(o, t);
  else if (o == "projection-dim") s.trak.dim = whole(o, t, 1);
  else if (o == "projection") s.trak.projection = projections().parse(t);
  else if (o == "projection-seed") s.trak.seed = whole(o, t);
  else if (o == "models") s.models = whole(o, t, 1, 1000);
  else {
    std::string all;
    for (const auto& x : estimator_options()) all += (all.empty() ? "" : ", ") + x;
    throw Error("unknown estimator option '" + o + "' (the options: " + all + ")");
  }
}

std::string Estimate::first_warning() const {
  for (const auto& s : solves)
    if (!s.warning.empty()) return s.warning;
  return "";
}

namespace {
EstimatorSettings for_row(const EstimatorRow& r, EstimatorSettings s) {
  if (r.method) s.solver.method = *r.method;
  return s;
}
}  // namespace

Estimate estimate(Estimator e, const Trained& t, const std::vector<std::size_t>& test_rows, const EstimatorSettings& s) {
  const EstimatorRow& r = row_of(e);
  const auto t0 = std::chrono::steady_clock::now();
  Estimate out = r.run(t, test_rows, for_row(r, s));
  out.estimator = e;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void check_feasible(Estimator e, const EstimatorSettings& s, std::size_t p) {
  const EstimatorRow& r = row_of(e);
  if (r.method == Method::Exact && !factored(s.curvature.kind)) check_dense_feasible(p, s.solver.exact.max_gib, s.solver.exact.max_seconds);
}

SelfCost self_cost(Estimator e, const EstimatorSettings&) {
  const EstimatorRow& r = row_of(e);
  if (!r.self) return SelfCost::None;
  // exact: one eigendecomposition (or K-FAC's factors) serves every row; the iterative
  // solvers need one solve per training row
  return r.method && *r.method != Method::Exact ? SelfCost::SolvePerRow : SelfCost::Cheap;
}

Tensor self_influence(Estimator e, const Trained& t, const EstimatorSettings& s, std::string* warning) {
  const EstimatorRow& r = row_of(e);
  if (!r.self) throw Error(r.name + " has no self-influence form");
  if (warning) warning->clear();
  if (r.method && warning) {  // the inverse-HVP rows: their solves' warnings
    const EstimatorSettings rs = for_row(r, s);
    const CurvatureOperator A(t.obj, t.train, t.theta, rs.curvature);
    return self_influence(A, rs.solver, warning);
  }
  return r.self(t, for_row(r, s));
}

}  // namespace inflab::influence
