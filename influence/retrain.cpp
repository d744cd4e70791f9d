#include "influence/retrain.hpp"
#include "nn/choices.hpp"
#include "util/hash.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "autodiff/blas.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"
#include "datasets/split.hpp"
#include "nn/choices.hpp"
#include "influence/group.hpp"
#include "influence/influence.hpp"
#include "influence/spectrum.hpp"

namespace inflab::influence {

using json = nlohmann::json;

namespace {
using util::hex;
std::uint64_t fnv(const void* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) { return util::fnv1a(p, n, h); }
std::string data_print(const data::Dataset& d) { return data::fingerprint(d); }

json config_of(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const Tensor& th,
               const std::vector<std::vector<std::size_t>>& groups, const std::vector<std::size_t>& test_rows,
               const RetrainProtocol& p) {
  std::uint64_t gh = 1469598103934665603ull;
  for (const auto& g : groups) gh = fnv(g.data(), g.size() * sizeof(std::size_t), fnv("|", 1, gh));
  return {{"optimizer", nn::optimizers().name(p.optimizer)}, {"grad_tol", p.grad_tol}, {"max_steps", p.max_steps}, {"lr", p.lr},
          {"epochs", p.epochs}, {"batch_size", p.batch_size}, {"seed", p.seed},
          {"check_saddles", p.check_saddles}, {"saddle_tol", p.saddle_tol}, {"exact_eigen_up_to", p.exact_eigen_up_to},
          {"lanczos_steps", p.lanczos_steps}, {"escape_saddles", p.escape_saddles}, {"max_escapes", p.max_escapes},
          {"loss", nn::loss_name(obj.loss())}, {"weight_decay", obj.weight_decay()},
          {"model", obj.model().summary()}, {"theta_hat", hex(fnv(th.data(), th.size() * sizeof(double)))},
          {"train", data_print(train)}, {"test", data_print(test)},
          {"test_rows", test_rows}, {"groups", std::to_string(groups.size()) + " " + hex(gh)}};
}

// NaN (λmin not checked) is written as null
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double num_of(const json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

json to_json(const RetrainRecord& r) {
  return {{"job", r.job}, {"removed", r.removed}, {"test_loss_change", r.test_loss_change}, {"grad_norm", r.grad_norm},
          {"converged", r.converged}, {"steps", r.steps}, {"seconds", r.seconds}, {"status", status_name(r.status)},
          {"status_reason", r.status_reason}, {"lambda_min", num(r.lambda_min)}, {"lambda_max", num(r.lambda_max)},
          {"saddle", r.saddle}, {"escapes", r.escapes}};
}
RetrainRecord from_json(const json& j) {
  RetrainRecord r;
  r.job = j.at("job").get<std::size_t>();
  r.removed = j.at("removed").get<std::vector<std::size_t>>();
  r.test_loss_change = j.at("test_loss_change").get<std::vector<double>>();
  r.grad_norm = j.at("grad_norm").get<double>();
  r.converged = j.at("converged").get<bool>();
  r.steps = j.at("steps").get<std::size_t>();
  r.seconds = j.at("seconds").get<double>();
  r.status = status_from_name(j.at("status").get<std::string>());
  r.status_reason = j.at("status_reason").get<std::string>();
  r.lambda_min = num_of(j.at("lambda_min"));
  r.lambda_max = num_of(j.at("lambda_max"));
  r.saddle = j.at("saddle").get<bool>();
  r.escapes = j.at("escapes").get<std::size_t>();
  return r;
}

std::string sci(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3g", v);
  return s;
}

// The extreme eigenvalues of ∇²R₋U(θ) (and the eigenvector of λmin when asked): dense and
// exact for p ≤ exact_eigen_up_to, else Lanczos (its smallest Ritz value bounds λmin from above).
struct Extremes {
  double lmin = 0, lmax = 0;
  Tensor vmin;
};
Extremes extremes(const nn::Objective& obj, const data::Dataset& rest, const Tensor& theta, const RetrainProtocol& p,
                  bool want_vector, std::uint64_t seed) {
  const CurvatureOperator A(obj, rest, theta);
  const std::size_t n = A.dim();
  Extremes e;
  if (n <= p.exact_eigen_up_to) {
    const Tensor H = dense_matrix(A);
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
  const Lanczos l = lanczos(A, std::min(p.lanczos_steps, n), seed, want_vector);
  e.lmin = l.ritz_values(0), e.lmax = l.ritz_values(l.steps - 1);
  if (want_vector) {
    e.vmin = zeros({n});
    for (std::size_t i = 0; i < n; ++i) e.vmin(i) = l.ritz_vectors(0, i);
    const double vn = norm2(e.vmin);
    for (auto& x : e.vmin) x /= vn;
  }
  return e;
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

const char* status_name(RetrainStatus s) {
  switch (s) {
    case RetrainStatus::Converged: return "converged";
    case RetrainStatus::Budget: return "budget";
    case RetrainStatus::Saddle: return "saddle";
    case RetrainStatus::Unresolved: return "unresolved";
  }
  return "?";
}
RetrainStatus status_from_name(const std::string& s) {
  for (auto st : {RetrainStatus::Converged, RetrainStatus::Budget, RetrainStatus::Saddle, RetrainStatus::Unresolved})
    if (s == status_name(st)) return st;
  throw Error("unknown retraining status '" + s + "' (converged, budget, saddle, unresolved)");
}

namespace {
}  // namespace

std::vector<RetrainRecord> retrain_groups(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                          const Tensor& theta_hat, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& p,
                                          const RetrainRun& run) {
  for (const auto& g : groups) check_group(g, train.size());
  if (run.threads == 0) throw Error("retrain: threads must be at least 1");
  std::vector<double> base;
  for (auto t : test_rows) {
    double l = 0;
    test_loss_gradient(obj, test, {t}, theta_hat, &l);  // also checks the index
    base.push_back(l);
  }
  const json config = config_of(obj, train, test, theta_hat, groups, test_rows, p);
  std::map<std::size_t, RetrainRecord> done;
  // resume: the header must match; complete lines are kept, a torn last line is dropped
  if (!run.results_path.empty()) {
    std::ifstream in(run.results_path);
    std::string line;
    if (in && std::getline(in, line)) {
      json head;
      try {
        head = json::parse(line);
      } catch (const std::exception&) {
        throw Error(run.results_path + ": first line is not a retraining header; refusing to overwrite it");
      }
      if (!head.contains("inflab_retrain") || !head.contains("config"))
        throw Error(run.results_path + ": not an inflab retraining results file; refusing to overwrite it");
      for (auto it = config.begin(); it != config.end(); ++it)
        if (!head["config"].contains(it.key()) || head["config"][it.key()] != it.value())
          throw Error(run.results_path + ": written for a different configuration — '" + it.key() + "' was " +
                      (head["config"].contains(it.key()) ? head["config"][it.key()].dump() : std::string("missing")) +
                      ", now " + it.value().dump() + "; use another file or the same settings");
      while (std::getline(in, line)) {
        try {
          RetrainRecord r = from_json(json::parse(line));
          r.resumed = true;
          if (r.job < groups.size()) done[r.job] = r;
        } catch (const std::exception&) {
          // an interrupted write: that job runs again
        }
      }
    }
    // (re)write the header and the complete records — dropping a torn tail, so appended
    // lines start on a line of their own — into a temporary file renamed over the old one:
    // an interruption here loses nothing
    std::string text = json{{"inflab_retrain", 1}, {"config", config}}.dump() + "\n";
    for (const auto& [j, r] : done) text += to_json(r).dump() + "\n";
    util::write_file_atomic(run.results_path, text);
  }
  std::vector<std::size_t> pending;
  for (std::size_t j = 0; j < groups.size(); ++j)
    if (!done.count(j)) pending.push_back(j);
  if (run.stop_after && pending.size() > run.stop_after) pending.resize(run.stop_after);

  std::mutex mu;
  std::atomic<std::size_t> next{0};
  std::string failure;
  util::Progress prog("retrain", done.size() + pending.size(), run.progress);
  prog.skip(done.size());  // resumed jobs: counted, but not in the rate
  // parallel jobs, not parallel GEMMs; restored when the workers have been joined
  const blas::ThreadsGuard blas_threads(run.threads > 1 ? 1 : blas::threads());
  auto worker = [&] {
    for (;;) {
      const std::size_t q = next++;
      if (q >= pending.size()) return;
      const std::size_t j = pending[q];
      try {
        const auto tj = std::chrono::steady_clock::now();
        std::vector<std::size_t> keep;
        std::vector<bool> drop(train.size(), false);
        for (auto r : groups[j]) drop[r] = true;
        for (std::size_t i = 0; i < train.size(); ++i)
          if (!drop[i]) keep.push_back(i);
        const data::Dataset rest = data::subset(train, keep);
        nn::TrainOptions o;
        o.optimizer = p.optimizer;
        o.grad_tol = p.grad_tol;
        o.max_steps = p.max_steps;
        o.lr = p.lr;
        o.epochs = p.epochs;
        o.batch_size = p.batch_size;
        o.seed = p.seed + j;
        o.progress = false;
        nn::TrainResult tr = nn::train(obj, rest, theta_hat, o);
        RetrainRecord r;
        r.job = j;
        r.removed = groups[j];
        r.steps = tr.steps;
        const bool to_tolerance = nn::to_tolerance(p.optimizer);
        const std::string opt_name = nn::optimizers().name(p.optimizer);
        // A retrain that took 0 steps is not "converged": θ̂ already met the tolerance without
        // U, so Δ = 0 reflects the tolerance, not the removal. Forcing a step would need the
        // trainer to ignore its own stopping test (and one step of a quasi-Newton method is no
        // better resolved), so the job is marked unresolved instead (docs/influence.md).
        if (tr.converged && tr.steps == 0 && to_tolerance) {
          r.status = RetrainStatus::Unresolved;
          r.status_reason = "θ̂ already met ‖∇R₋U‖ ≤ tol (" + sci(tr.grad_norm) + " ≤ " + sci(p.grad_tol) +
                            "): no step was taken, so the change is not resolved; lower the retraining tolerance";
        } else if (!tr.converged) {
          r.status = RetrainStatus::Budget;
          r.status_reason = to_tolerance ? "‖∇R₋U‖ = " + sci(tr.grad_norm) + " > tol " + sci(p.grad_tol) + " when " + opt_name + " stopped" +
                                               (tr.stop_reason.empty() ? "" : " (" + tr.stop_reason + ")")
                                         : "a fixed " + opt_name + " budget: θ is not checked to be a stationary point";
        } else {
          r.status = RetrainStatus::Converged;
        }
        if (p.check_saddles && r.status != RetrainStatus::Unresolved) {
          const ad::Fn R = obj.fn(rest);
          Extremes e = extremes(obj, rest, tr.theta, p, p.escape_saddles, p.seed + j);
          while (p.escape_saddles && r.status == RetrainStatus::Converged && is_saddle(e, p.saddle_tol) && r.escapes < p.max_escapes) {
            Tensor th = tr.theta;
            if (!escape_step(R, th, e.vmin, e.lmin)) break;
            ++r.escapes;
            tr = nn::train(obj, rest, th, o);
            r.steps += tr.steps;
            if (!tr.converged) {
              r.status = RetrainStatus::Budget;
              r.status_reason = "‖∇R₋U‖ = " + sci(tr.grad_norm) + " > tol " + sci(p.grad_tol) + " when " + opt_name +
                                " stopped after saddle escape " + std::to_string(r.escapes);
            }
            e = extremes(obj, rest, tr.theta, p, true, p.seed + j);
          }
          r.lambda_min = e.lmin, r.lambda_max = e.lmax;
          r.saddle = is_saddle(e, p.saddle_tol);
          if (r.saddle && r.status == RetrainStatus::Converged) {
            r.status = RetrainStatus::Saddle;
            r.status_reason = "‖∇R₋U‖ ≤ tol but λmin(∇²R₋U) = " + sci(e.lmin) + " < −" + sci(p.saddle_tol) + "·max(1, |λmax| = " +
                              sci(std::fabs(e.lmax)) + "): a saddle, not a minimum" +
                              (p.escape_saddles ? " (after " + std::to_string(r.escapes) + " escapes)" : "; escape_saddles continues past it");
          }
        }
        for (std::size_t t = 0; t < test_rows.size(); ++t) {
          double l = 0;
          test_loss_gradient(obj, test, {test_rows[t]}, tr.theta, &l);
          r.test_loss_change.push_back(l - base[t]);
        }
        r.grad_norm = tr.grad_norm;
        r.converged = r.status == RetrainStatus::Converged;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tj).count();
        std::lock_guard<std::mutex> lock(mu);
        if (!failure.empty()) return;  // after a failure nothing more is appended (no torn lines)
        if (!run.results_path.empty()) {
          std::ofstream out(run.results_path, std::ios::app);
          out << to_json(r).dump() << "\n";
          out.flush();
          if (!out) throw Error("cannot append to '" + run.results_path + "'");
        }
        done[j] = r;
        prog.tick();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.empty()) failure = "retraining job " + std::to_string(j) + " failed: " + e.what();
        next = pending.size();  // stop handing out work; finished jobs are already saved
      }
    }
  };
  {
    // joins every started thread on any exit
    struct Pool {
      std::vector<std::thread> threads;
      ~Pool() {
        for (auto& t : threads)
          if (t.joinable()) t.join();
      }
    } pool;
    for (std::size_t t = 1; t < std::min(run.threads, pending.size()); ++t) pool.threads.emplace_back(worker);
    worker();
  }
  prog.done();
  if (!failure.empty()) throw Error(failure + (run.results_path.empty() ? "" : " (finished jobs are in " + run.results_path + ")"));
  std::vector<RetrainRecord> out;
  for (auto& [j, r] : done) out.push_back(r);
  return out;
}

std::vector<RetrainRecord> leave_one_out(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                         const Tensor& theta_hat, const std::vector<std::size_t>& rows,
                                         const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                         const RetrainRun& run) {
  std::vector<std::vector<std::size_t>> groups;
  for (auto r : rows) groups.push_back({r});
  return retrain_groups(obj, train, test, theta_hat, groups, test_rows, protocol, run);
}

}  // namespace inflab::influence
