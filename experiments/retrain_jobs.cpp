#include "experiments/retrain_jobs.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "datasets/split.hpp"
#include "influence/group.hpp"
#include "influence/influence.hpp"
#include "influence/kfac.hpp"
#include "influence/pbrf.hpp"
#include "influence/spectrum.hpp"
#include "influence/unrolled.hpp"
#include "nn/choices.hpp"
#include "nn/module.hpp"
#include "util/hash.hpp"
#include "util/format.hpp"

namespace inflab::experiments {

using json = nlohmann::json;

namespace {
// NaN (λmin not checked) is written as null
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double num_of(const json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

json record_json(const RetrainRecord& r) {
  json changes = json::array();
  for (double d : r.test_loss_change) changes.push_back(num(d));  // a diverged retrain's NaN survives the trip
  return {{"job", r.job}, {"removed", r.removed}, {"test_loss_change", changes}, {"grad_norm", num(r.grad_norm)},
          {"converged", r.converged}, {"steps", r.steps}, {"seconds", r.seconds}, {"status", status_name(r.status)},
          {"status_reason", r.status_reason}, {"lambda_min", num(r.lambda_min)}, {"lambda_max", num(r.lambda_max)},
          {"saddle", r.saddle}, {"escapes", r.escapes}, {"rank", r.rank}, {"distance", num(r.distance)}};
}
RetrainRecord record_of(const json& j) {
  RetrainRecord r;
  r.job = j.at("job").get<std::size_t>();
  r.removed = j.at("removed").get<std::vector<std::size_t>>();
  for (const auto& d : j.at("test_loss_change")) r.test_loss_change.push_back(num_of(d));
  r.grad_norm = num_of(j.at("grad_norm"));
  r.converged = j.at("converged").get<bool>();
  r.steps = j.at("steps").get<std::size_t>();
  r.seconds = j.at("seconds").get<double>();
  r.status = status_from_name(j.at("status").get<std::string>());
  r.status_reason = j.at("status_reason").get<std::string>();
  r.lambda_min = num_of(j.at("lambda_min"));
  r.lambda_max = num_of(j.at("lambda_max"));
  r.saddle = j.at("saddle").get<bool>();
  r.escapes = j.at("escapes").get<std::size_t>();
  r.rank = j.value("rank", std::size_t{0});  // journals before MPI have none
  r.distance = j.contains("distance") ? num_of(j.at("distance")) : std::numeric_limits<double>::quiet_NaN();  // nor before the PBRF
  return r;
}

// The extreme eigenvalues of the Hessian A of the retrained objective at θ (and the eigenvector of
// λmin when asked): dense and exact for p ≤ exact_eigen_up_to, else Lanczos (its smallest Ritz
// value bounds λmin from above).
struct Extremes {
  double lmin = 0, lmax = 0;
  Tensor vmin;
};
Extremes extremes(const SymmetricOperator& A, std::size_t n, const RetrainProtocol& p, bool want_vector, std::uint64_t seed) {
  Extremes e;
  if (n <= p.exact_eigen_up_to) {
    Tensor H = ad::dense_from_products(n, A, 64);
    for (std::size_t i = 0; i < n; ++i)  // symmetrise the rounding (as influence::dense_matrix)
      for (std::size_t j = i + 1; j < n; ++j) H(i, j) = H(j, i) = 0.5 * (H(i, j) + H(j, i));
    const xt::xarray<double> M = H;
    if (want_vector) {
      const auto [w, v] = xt::linalg::eigh(M);
      e.lmin = w(0), e.lmax = w(n - 1);
      e.vmin = zeros({n});
      for (std::size_t i = 0; i < n; ++i) e.vmin(i) = v(i, 0);
    } else {
      const auto w = xt::linalg::eigvalsh(M);
      e.lmin = w(0), e.lmax = w(n - 1);
    }
    return e;
  }
  const Lanczos l = lanczos(A, n, std::min(p.lanczos_steps, n), seed, want_vector);
  e.lmin = l.ritz_values(0), e.lmax = l.ritz_values(l.steps - 1);
  if (want_vector) {
    e.vmin = zeros({n});
    for (std::size_t i = 0; i < n; ++i) e.vmin(i) = l.ritz_vectors(0, i);
    const double vn = norm2(e.vmin);
    for (auto& x : e.vmin) x /= vn;
  }
  return e;
}
// R₋U's by the curvature operator (as every Hessian of R); another target's (loo-proximal, pbrf)
// by HVPs of its function
Extremes extremes(const nn::Objective& obj, const data::Dataset& rest, const ad::Fn* target, const Tensor& theta, const RetrainProtocol& p,
                  bool want_vector, std::uint64_t seed) {
  if (target) {
    ad::Recording rec(*target, theta);
    return extremes([&rec](const Tensor& v) { return rec.hvp(v); }, theta.size(), p, want_vector, seed);
  }
  const CurvatureOperator A(obj, rest, theta);
  return extremes([&A](const Tensor& v) { return A.apply(v); }, A.dim(), p, want_vector, seed);
}
// unrolled: the sgd run from init(seed) with the removed rows' weights 0, its own number of steps
Tensor replay_without(const nn::Objective& obj, const data::Dataset& train, const RetrainProtocol& p, const std::vector<std::size_t>& removed) {
  const nn::TrainOptions o = nn::train_options(p, false);
  std::vector<double> w(train.size(), 1.0);
  for (auto r : removed) w[r] = 0;
  return influence::train_weighted(obj, train, {obj.model().init(p.seed), o}, w, nn::planned_steps(o, train.size()));
}

bool is_saddle(const Extremes& e, double tol) { return e.lmin < -tol * std::max(1.0, std::fabs(e.lmax)); }

// One step off a saddle along ±v (v the unit eigenvector of λmin < 0): ε = 1, ½, ¼, …, the
// first whose better sign lowers R₋U by at least half the quadratic model's ½|λmin|ε².
// Returns false when no ε down to 2⁻⁴⁰ does (then the saddle stays).
bool escape_step(const ad::Fn& R, Tensor& theta, const Tensor& v, double lmin) {
  const double r0 = ad::Recording(R, theta).scalar_value();
  double eps = 1;
  for (int k = 0; k <= 40; ++k, eps *= 0.5) {
    const Tensor plus = axpy(theta, eps, v), minus = axpy(theta, -eps, v);
    const double rp = ad::Recording(R, plus).scalar_value(), rm = ad::Recording(R, minus).scalar_value();
    const bool take_plus = !(rm < rp);
    const double best = take_plus ? rp : rm;
    if (std::isfinite(best) && r0 - best >= 0.25 * std::fabs(lmin) * eps * eps) {
      theta = take_plus ? plus : minus;
      return true;
    }
  }
  return false;
}
}  // namespace

Tensor scratch_reference(const nn::Objective& obj, const data::Dataset& train, const RetrainProtocol& p) {
  const blas::ThreadsGuard one(1);
  if (p.target == RetrainTarget::Unrolled) {
    try {
      influence::check_unrollable(nn::train_options(p, false));
    } catch (const Error& e) {
      throw Error(std::string("retraining target unrolled replays θ̂'s training run: ") + e.what());
    }
    return replay_without(obj, train, p, {});
  }
  const nn::TrainResult r = nn::train(obj, train, obj.model().init(p.seed), nn::train_options(p, false));
  if (nn::to_tolerance(p.optimizer) && !r.converged)
    throw Error("retraining target loo-cold: the full training set trained from the initialisation stopped at ‖∇R‖ = " + significant(r.grad_norm) +
                " > tol " + significant(p.grad_tol) + (r.stop_reason.empty() ? "" : " (" + r.stop_reason + ")") +
                "; every Δ would be measured from a point that is not a minimum — train θ̂ with more steps (--max-steps) or a looser --tol");
  return r.theta;
}

RetrainRecord run_retrain_job(const RetrainJobs& J, std::size_t j) {
  const RetrainProtocol& p = J.protocol;
  const auto tj = std::chrono::steady_clock::now();
  std::vector<std::size_t> keep;
  std::vector<bool> drop(J.train.size(), false);
  for (auto r : J.groups[j]) drop[r] = true;
  for (std::size_t i = 0; i < J.train.size(); ++i)
    if (!drop[i]) keep.push_back(i);
  const data::Dataset rest = data::subset(J.train, keep);
  nn::TrainOptions o = nn::train_options(p, false);
  const bool scratch = from_scratch(p.target), unrolled = p.target == RetrainTarget::Unrolled;
  o.seed = scratch ? p.seed : p.seed + j;  // from scratch: θ̂'s batch order; from θ̂: each job its own
  o.preconditioner = J.preconditioner;
  // R₋U itself (loo), or another objective minimised from θ̂: R₋U + (μ/2)‖θ − θ̂‖² (loo-proximal),
  // the PBRF of U on the whole training set (pbrf)
  std::optional<influence::Pbrf> pbrf;
  ad::Fn target_fn;  // empty for loo: nn::train on R₋U
  if (p.target == RetrainTarget::Pbrf) {
    pbrf.emplace(J.obj, J.train, J.theta_hat, p.damping);
    target_fn = pbrf->removal(J.groups[j]);
  } else if (p.target == RetrainTarget::LooProximal) {
    target_fn = [&obj = J.obj, &rest, &th = J.theta_hat, mu = p.damping](ad::Var theta) {
      const ad::Var prox = ad::sq_norm(ad::sub(theta, theta.tape->leaf(th, false)));
      return ad::add(obj.value(theta, rest), ad::mul_scalar(prox, mu / 2));
    };
  }
  auto retrain = [&](const Tensor& start) {
    if (unrolled) {  // a budget, not a minimisation: no stationarity to check
      nn::TrainResult t;
      t.theta = replay_without(J.obj, J.train, p, J.groups[j]);
      t.steps = nn::planned_steps(o, J.train.size());
      t.grad_norm = norm2(ad::value_and_grad(J.obj.fn(rest), t.theta).grad);
      return t;
    }
    if (!target_fn) return nn::train(J.obj, rest, start, o);
    const nn::MinimizeResult m = nn::minimize(target_fn, start, o);
    nn::TrainResult t;
    t.theta = m.theta, t.loss = m.value, t.grad_norm = m.grad_norm, t.steps = m.iterations;
    t.evaluations = m.evaluations, t.hvps = m.hvps, t.converged = m.converged, t.stop_reason = m.message;
    return t;
  };
  const ad::Fn R = target_fn ? target_fn : J.obj.fn(rest);
  const char* grad_name = pbrf ? "‖∇P‖" : target_fn ? "‖∇(R₋U + prox)‖" : "‖∇R₋U‖";
  // J.theta_hat is the reference: θ̂, or for a run from scratch the full data trained the same way
  nn::TrainResult tr = retrain(scratch ? J.obj.model().init(p.seed) : J.theta_hat);
  RetrainRecord r;
  r.job = j;
  r.removed = J.groups[j];
  r.steps = tr.steps;
  const bool to_tolerance = nn::to_tolerance(p.optimizer);
  const std::string opt_name = nn::optimizers().name(p.optimizer);
  // A retrain that took 0 steps is not "converged": θ̂ already met the tolerance without
  // U, so Δ = 0 reflects the tolerance, not the removal. Forcing a step would need the
  // trainer to ignore its own stopping test (and one step of a quasi-Newton method is no
  // better resolved), so the job is marked unresolved instead (docs/influence.md).
  if (unrolled) {
    r.status = RetrainStatus::Replayed;
  } else if (tr.converged && tr.steps == 0 && to_tolerance) {
    r.status = RetrainStatus::Unresolved;
    r.status_reason = "θ̂ already met " + std::string(grad_name) + " ≤ tol (" + significant(tr.grad_norm) + " ≤ " + significant(p.grad_tol) +
                      "): no step was taken, so the change is not resolved; lower the retraining tolerance";
  } else if (!tr.converged) {
    r.status = RetrainStatus::Budget;
    r.status_reason = to_tolerance ? std::string(grad_name) + " = " + significant(tr.grad_norm) + " > tol " + significant(p.grad_tol) + " when " + opt_name + " stopped" +
                                         (tr.stop_reason.empty() ? "" : " (" + tr.stop_reason + ")")
                                   : "a fixed " + opt_name + " budget: θ is not checked to be a stationary point";
  } else {
    r.status = RetrainStatus::Converged;
  }
  if (p.check_saddles && r.status != RetrainStatus::Unresolved && !unrolled) {
    const ad::Fn* pf = target_fn ? &target_fn : nullptr;
    Extremes e = extremes(J.obj, rest, pf, tr.theta, p, p.escape_saddles, p.seed + j);
    // Escape from a converged saddle; after an escape, also from a retrain that ended short of
    // the tolerance (line search at the precision floor, or its budget) where the curvature is
    // negative: escaping again and converging to a minimum makes the job converged.
    while (p.escape_saddles && (r.status == RetrainStatus::Converged || r.escapes > 0) && is_saddle(e, p.saddle_tol) &&
           r.escapes < p.max_escapes) {
      Tensor th = tr.theta;
      if (!escape_step(R, th, e.vmin, e.lmin)) break;
      ++r.escapes;
      tr = retrain(th);
      r.steps += tr.steps;
      if (tr.converged) {
        r.status = RetrainStatus::Converged;
        r.status_reason.clear();
      } else {
        r.status = RetrainStatus::Budget;
        r.status_reason = std::string(grad_name) + " = " + significant(tr.grad_norm) + " > tol " + significant(p.grad_tol) + " when " + opt_name +
                          " stopped after saddle escape " + std::to_string(r.escapes);
      }
      e = extremes(J.obj, rest, pf, tr.theta, p, true, p.seed + j);
    }
    r.lambda_min = e.lmin, r.lambda_max = e.lmax;
    r.saddle = is_saddle(e, p.saddle_tol);
    if (r.saddle && r.status == RetrainStatus::Converged) {
      r.status = RetrainStatus::Saddle;
      r.status_reason = std::string(grad_name) + " ≤ tol but λmin(" + (pbrf ? "∇²P" : "∇²R₋U") + ") = " + significant(e.lmin) + " < −" + significant(p.saddle_tol) + "·max(1, |λmax| = " +
                        significant(std::fabs(e.lmax)) + "): a saddle, not a minimum" +
                        (p.escape_saddles ? " (after " + std::to_string(r.escapes) + " escapes)" : "; escape_saddles continues past it");
    }
  }
  for (std::size_t t = 0; t < J.test_rows.size(); ++t) {
    double l = 0;
    test_loss_gradient(J.obj, J.test, {J.test_rows[t]}, tr.theta, &l);
    r.test_loss_change.push_back(l - J.base[t]);
  }
  r.grad_norm = tr.grad_norm;
  r.distance = norm2(axpy(tr.theta, -1.0, J.theta_hat));
  r.converged = r.status == RetrainStatus::Converged;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tj).count();
  return r;
}

std::shared_ptr<const nn::Preconditioner> retrain_preconditioner(const nn::Objective& obj, const data::Dataset& train,
                                                                const Tensor& theta_hat, const RetrainProtocol& p) {
  // (none from scratch: its reference was trained without one, and an empty group must reproduce it)
  if (p.optimizer != nn::Optimizer::NewtonCg || p.preconditioning == RetrainPreconditioning::None || from_scratch(p.target)) return nullptr;
  if (p.preconditioning == RetrainPreconditioning::Ekfac) {
    const blas::ThreadsGuard one(1);
    // λ keeps EK-FAC + λI positive definite; with λ = 0, 1e-8 of the largest eigenvalue
    Kfac k(obj, train, theta_hat, CurvatureChoice(Curvature::Ekfac));
    double top = 0;
    for (const auto& b : k.blocks())
      for (double e : b.eigen) top = std::max(top, e);
    return std::make_shared<const KfacPreconditioner>(std::move(k), std::max(obj.weight_decay(), 1e-8 * top));
  }
  if (p.preconditioner_rank == 0) throw Error("newton-cg: a spectral preconditioner of rank 0 (choose the preconditioner none)");
  // memory: 2k Lanczos vectors, then k eigenvectors, of p doubles each
  const std::size_t k = p.preconditioner_rank, n = theta_hat.size(), steps = std::min(n, 2 * k);
  const double gib = static_cast<double>(steps * n + std::min(k, steps) * n + steps * n) * 8 / (1ull << 30);
  if (gib > 8)
    throw Error("newton-cg's preconditioner of rank " + std::to_string(k) + " needs " + significant(gib) + " GiB for p = " +
                std::to_string(n) + " (Lanczos vectors and Ritz vectors); lower --retrain-precondition (0: none)");
  const blas::ThreadsGuard one(1);
  return std::make_shared<const nn::SpectralPreconditioner>(
      influence::spectral_preconditioner(CurvatureOperator(obj, train, theta_hat), p.preconditioner_rank, p.seed));
}

json protocol_json(const RetrainProtocol& p) {
  json j = {{"optimizer", nn::optimizers().name(p.optimizer)}, {"grad_tol", p.grad_tol}, {"max_steps", p.max_steps}, {"lr", p.lr},
          {"epochs", p.epochs}, {"batch_size", p.batch_size}, {"seed", p.seed},
          {"check_saddles", p.check_saddles}, {"saddle_tol", p.saddle_tol}, {"exact_eigen_up_to", p.exact_eigen_up_to},
          {"lanczos_steps", p.lanczos_steps}, {"escape_saddles", p.escape_saddles}, {"max_escapes", p.max_escapes}};
  if (p.optimizer == nn::Optimizer::NewtonCg) {  // (older journals have neither)
    j["preconditioner"] = retrain_preconditionings().name(p.preconditioning);
    j["preconditioner_rank"] = p.preconditioner_rank;
  }
  if (p.target != RetrainTarget::Loo) j["target"] = retrain_targets().name(p.target);  // (loo journals have neither)
  if (damped(p.target)) j["damping"] = p.damping;
  return j;
}

namespace {
RetrainProtocol protocol_of(const json& j) {
  RetrainProtocol p;
  p.optimizer = nn::optimizers().parse(j.at("optimizer").get<std::string>());
  p.grad_tol = j.at("grad_tol").get<double>();
  p.max_steps = j.at("max_steps").get<std::size_t>();
  p.lr = j.at("lr").get<double>();
  p.epochs = j.at("epochs").get<std::size_t>();
  p.batch_size = j.at("batch_size").get<std::size_t>();
  p.seed = j.at("seed").get<std::uint64_t>();
  p.check_saddles = j.at("check_saddles").get<bool>();
  p.saddle_tol = j.at("saddle_tol").get<double>();
  p.exact_eigen_up_to = j.at("exact_eigen_up_to").get<std::size_t>();
  p.lanczos_steps = j.at("lanczos_steps").get<std::size_t>();
  p.escape_saddles = j.at("escape_saddles").get<bool>();
  p.max_escapes = j.at("max_escapes").get<std::size_t>();
  p.preconditioner_rank = j.value("preconditioner_rank", std::size_t{0});
  p.preconditioning = retrain_preconditionings().parse(j.value("preconditioner", std::string("none")));
  p.target = retrain_targets().parse(j.value("target", std::string("loo")));
  p.damping = j.value("damping", 0.0);
  return p;
}

// A tensor travels as its shape in the header and its float64 values in the byte tail.
json put(const Tensor& t, std::string& tail) {
  json j = {{"shape", shape_of(t)}, {"at", tail.size()}};
  tail.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(double));
  return j;
}
Tensor take(const json& j, const char* tail, std::size_t tail_size) {
  Tensor t = Tensor::from_shape(j.at("shape").get<Shape>());
  const std::size_t at = j.at("at").get<std::size_t>(), bytes = t.size() * sizeof(double);
  if (at + bytes > tail_size) throw Error("retraining batch: truncated (a tensor ends past the data)");
  if (bytes) std::memcpy(t.data(), tail + at, bytes);
  return t;
}
json put(const data::Dataset& d, std::string& tail) {
  return {{"name", d.name}, {"X", put(d.X, tail)}, {"y", d.y}, {"class_names", d.class_names},
          {"targets", put(d.targets, tail)}, {"feature_names", d.feature_names}, {"source_rows", d.source_rows},
          {"fingerprint", data::fingerprint(d)}};
}
data::Dataset take_dataset(const json& j, const char* tail, std::size_t n) {
  data::Dataset d;
  d.name = j.at("name").get<std::string>();
  d.X = take(j.at("X"), tail, n);
  d.y = j.at("y").get<std::vector<std::size_t>>();
  d.class_names = j.at("class_names").get<std::vector<std::string>>();
  d.targets = take(j.at("targets"), tail, n);
  d.feature_names = j.at("feature_names").get<std::vector<std::string>>();
  d.source_rows = j.at("source_rows").get<std::vector<std::size_t>>();
  if (data::fingerprint(d) != j.at("fingerprint").get<std::string>())
    throw Error("retraining batch: dataset '" + d.name + "' arrived different from what was sent");
  return d;
}
std::string theta_print(const Tensor& t) { return util::hex(util::fnv1a(t.data(), t.size() * sizeof(double))); }
}  // namespace

std::string encode_record(const RetrainRecord& r) { return record_json(r).dump(); }
RetrainRecord decode_record(const std::string& line) { return record_of(json::parse(line)); }

std::string encode_jobs(const RetrainJobs& J) {
  std::string tail;
  json arch;
  J.obj.model().root().to_json(arch);
  const json head = {{"model", arch}, {"input_shape", J.obj.model().input_shape()}, {"loss", nn::loss_name(J.obj.loss())},
                     {"weight_decay", J.obj.weight_decay()}, {"theta_hat", put(J.theta_hat, tail)},
                     {"theta_print", theta_print(J.theta_hat)}, {"train", put(J.train, tail)}, {"test", put(J.test, tail)},
                     {"groups", J.groups}, {"test_rows", J.test_rows}, {"protocol", protocol_json(J.protocol)}, {"base", J.base}};
  const std::string h = head.dump();
  const std::uint64_t hn = h.size();
  std::string bytes(reinterpret_cast<const char*>(&hn), sizeof hn);
  return bytes + h + tail;
}

struct DecodedJobs::Owned {
  nn::Objective obj;
  data::Dataset train, test;
  Tensor theta_hat;
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::size_t> test_rows;
  RetrainProtocol protocol;
  std::vector<double> base;
};

DecodedJobs::DecodedJobs(const std::string& bytes) {
  std::uint64_t hn = 0;
  if (bytes.size() < sizeof hn) throw Error("retraining batch: truncated (no header)");
  std::memcpy(&hn, bytes.data(), sizeof hn);
  if (hn > bytes.size() - sizeof hn) throw Error("retraining batch: truncated (header)");
  const json h = json::parse(bytes.substr(sizeof hn, hn));
  const char* tail = bytes.data() + sizeof hn + hn;
  const std::size_t tn = bytes.size() - sizeof hn - hn;
  nn::Model model(nn::module_from_json(h.at("model"), "retraining batch: model"), h.at("input_shape").get<Shape>());
  owned_.reset(new Owned{nn::Objective(std::move(model), nn::parse_loss(h.at("loss").get<std::string>()), h.at("weight_decay").get<double>()),
                         take_dataset(h.at("train"), tail, tn), take_dataset(h.at("test"), tail, tn),
                         take(h.at("theta_hat"), tail, tn), h.at("groups").get<std::vector<std::vector<std::size_t>>>(),
                         h.at("test_rows").get<std::vector<std::size_t>>(), protocol_of(h.at("protocol")),
                         h.at("base").get<std::vector<double>>()});
  if (theta_print(owned_->theta_hat) != h.at("theta_print").get<std::string>())
    throw Error("retraining batch: θ̂ arrived different from what was sent");
  const Owned& o = *owned_;
  jobs_.reset(new RetrainJobs{o.obj, o.train, o.test, o.theta_hat, o.groups, o.test_rows, o.protocol, o.base,
                              retrain_preconditioner(o.obj, o.train, o.theta_hat, o.protocol)});
}
DecodedJobs::~DecodedJobs() = default;

}  // namespace inflab::experiments
