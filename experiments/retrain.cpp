#include "experiments/retrain.hpp"
#include "experiments/problem.hpp"
#include "experiments/retrain_jobs.hpp"
#include "nn/choices.hpp"
#include "util/hash.hpp"

#include <atomic>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"
#include "util/stop.hpp"
#include "influence/group.hpp"
#include "influence/influence.hpp"
#include "influence/pbrf.hpp"
#include "nn/choices.hpp"

namespace inflab::experiments {

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
  json c = protocol_json(p);
  c.update({{"loss", nn::loss_name(obj.loss())}, {"weight_decay", obj.weight_decay()},
            {"model", obj.model().summary()}, {"theta_hat", hex(fnv(th.data(), th.size() * sizeof(double)))},
            {"train", data_print(train)}, {"test", data_print(test)},
            {"test_rows", test_rows}, {"groups", std::to_string(groups.size()) + " " + hex(gh)}});
  return c;
}

}  // namespace

const char* status_name(RetrainStatus s) {
  switch (s) {
    case RetrainStatus::Converged: return "converged";
    case RetrainStatus::Budget: return "budget";
    case RetrainStatus::Saddle: return "saddle";
    case RetrainStatus::Unresolved: return "unresolved";
    case RetrainStatus::Replayed: return "replayed";
  }
  return "?";
}
RetrainStatus status_from_name(const std::string& s) {
  for (auto st : {RetrainStatus::Converged, RetrainStatus::Budget, RetrainStatus::Saddle, RetrainStatus::Unresolved, RetrainStatus::Replayed})
    if (s == status_name(st)) return st;
  throw Error("unknown retraining status '" + s + "' (converged, budget, saddle, unresolved, replayed)");
}

std::vector<RetrainRecord> retrain_groups(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                          const Tensor& theta_hat, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& p,
                                          const RetrainRun& run) {
  for (const auto& g : groups)  // an empty group removes nothing: the protocol's own noise (studies.hpp)
    if (!g.empty()) check_group(g, train.size());
  if (run.threads == 0) throw Error("retrain: threads must be at least 1");
  if (damped(p.target)) {
    if (!nn::to_tolerance(p.optimizer))
      throw Error("retraining target " + retrain_targets().name(p.target) + " is minimised to a tolerance: retrain with lbfgs, newton-cg or newton, not " +
                  nn::optimizers().name(p.optimizer));
    if (!(p.damping >= 0) || !std::isfinite(p.damping)) throw Error("retraining: damping μ must be a finite number ≥ 0");
    if (p.target == RetrainTarget::Pbrf) influence::Pbrf(obj, train, theta_hat, p.damping);  // its errors (λ + μ = 0, θ̂'s size) before any job
  }
  // loo-cold, unrolled: Δ is measured from the full data trained the same way, not from θ̂
  const Tensor theta_ref = from_scratch(p.target) ? scratch_reference(obj, train, p) : theta_hat;
  std::vector<double> base;
  for (auto t : test_rows) {
    double l = 0;
    test_loss_gradient(obj, test, {t}, theta_ref, &l);  // also checks the index
    base.push_back(l);
  }
  const json config = config_of(obj, train, test, theta_ref, groups, test_rows, p);
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
      for (std::size_t at = 2; std::getline(in, line); ++at) {
        RetrainRecord r;
        try {
          r = decode_record(line);
        } catch (const std::exception&) {
          continue;  // an interrupted write: that job runs again
        }
        // a record is its job's when it removed that job's rows (not by its number alone)
        if (r.job >= groups.size() || r.removed != groups[r.job])
          throw Error(run.results_path + ", line " + std::to_string(at) + ": a record of job " + std::to_string(r.job) + " that removed " +
                      std::to_string(r.removed.size()) + " rows other than that job's; the journal does not belong to these jobs — use another file");
        if (r.test_loss_change.size() != test_rows.size()) continue;  // a damaged line: that job runs again
        r.resumed = true;
        done[r.job] = r;
      }
    }
    // (re)write the header and the complete records — dropping a torn tail, so appended
    // lines start on a line of their own — into a temporary file renamed over the old one:
    // an interruption here loses nothing
    std::string text = json{{"inflab_retrain", 1}, {"config", config}}.dump() + "\n";
    for (const auto& [j, r] : done) text += encode_record(r) + "\n";
    util::write_file_atomic(run.results_path, text);
  }
  std::vector<std::size_t> pending;
  for (std::size_t j = 0; j < groups.size(); ++j)
    if (!done.count(j)) pending.push_back(j);
  if (run.stop_after && pending.size() > run.stop_after) pending.resize(run.stop_after);

  const RetrainJobs jobs{obj, train, test, theta_ref, groups, test_rows, p, base,
                         pending.empty() ? nullptr : retrain_preconditioner(obj, train, theta_ref, p)};
  // One queue for this process's threads and, under MPI, the other ranks' threads. Every
  // result lands here: appended to the journal (under the lock) and counted.
  std::mutex mu;
  std::atomic<std::size_t> next{0};
  std::string failure;
  util::Progress prog("retrain", done.size() + pending.size(), run.progress);
  prog.skip(done.size());  // resumed jobs: counted, but not in the rate
  auto take = [&]() -> std::optional<std::size_t> {
    if (util::stop_requested()) return std::nullopt;  // finished jobs are in the journal
    const std::size_t q = next++;
    if (q >= pending.size()) return std::nullopt;
    return pending[q];
  };
  auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (failure.empty()) failure = why;
    next = pending.size();  // stop handing out work; finished jobs are already saved
  };
  auto finish = [&](RetrainRecord r) {
    std::lock_guard<std::mutex> lock(mu);  // whole lines only: appends are serialised here
    if (!run.results_path.empty()) {
      std::ofstream out(run.results_path, std::ios::app);
      out << encode_record(r) << "\n";
      out.flush();
      if (!out) throw Error("cannot append to '" + run.results_path + "'");
    }
    done[r.job] = std::move(r);
    prog.tick();
  };
  auto worker = [&] {
    while (const auto j = take()) {
      try {
        finish(run_retrain_job(jobs, *j));
      } catch (const Interrupted&) {
        return;  // a stop request: this job reruns on resume
      } catch (const std::exception& e) {
        fail("retraining job " + std::to_string(*j) + " failed: " + e.what());
      }
    }
  };
  const bool remote = run.remote && !pending.empty();
  // parallel jobs, not parallel GEMMs (a result must not depend on where it ran); restored
  // when the workers have been joined
  // (a run from scratch amplifies rounding: always one BLAS thread, as its reference was trained)
  const blas::ThreadsGuard blas_threads(run.threads > 1 || remote || from_scratch(p.target) ? 1 : blas::threads());
  {
    // joins every started thread on any exit
    struct Pool {
      std::vector<std::thread> threads;
      ~Pool() {
        for (auto& t : threads)
          if (t.joinable()) t.join();
      }
    } pool;
    // under MPI this thread serves the other ranks and `threads` threads compute here
    const std::size_t local = remote ? run.threads : std::min(run.threads, pending.size());
    for (std::size_t t = remote ? 0 : 1; t < local; ++t) pool.threads.emplace_back(worker);
    if (remote) {
      try {
        run.remote->serve(jobs, run.threads, take, finish, fail);
      } catch (const std::exception& e) {
        fail(std::string("MPI: ") + e.what());
      }
    } else {
      worker();
    }
  }
  prog.done();
  if (failure.empty() && util::stop_requested())
    throw Interrupted("retraining interrupted after " + std::to_string(done.size()) + " of " + std::to_string(groups.size()) + " jobs" +
                      (run.results_path.empty() ? "" : " (they are in " + run.results_path + "; the same call resumes)"));
  if (!failure.empty()) throw Error(failure + (run.results_path.empty() ? "" : " (finished jobs are in " + run.results_path + ")"));
  std::vector<RetrainRecord> out;
  for (auto& [j, r] : done) out.push_back(r);
  return out;
}

RetrainProtocol for_problem(RetrainProtocol protocol, const nn::TrainingSpec& spec) {
  if (from_scratch(protocol.target)) static_cast<nn::TrainingSpec&>(protocol) = spec;
  return protocol;
}

std::vector<RetrainRecord> retrain_groups(const Problem& p, const std::vector<std::vector<std::size_t>>& groups,
                                          const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol, const RetrainRun& run) {
  return retrain_groups(*p.obj, p.train, p.test, p.theta, groups, test_rows, for_problem(protocol, p.spec), run);
}

std::vector<RetrainRecord> leave_one_out(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                                         const Tensor& theta_hat, const std::vector<std::size_t>& rows,
                                         const std::vector<std::size_t>& test_rows, const RetrainProtocol& protocol,
                                         const RetrainRun& run) {
  std::vector<std::vector<std::size_t>> groups;
  for (auto r : rows) groups.push_back({r});
  return retrain_groups(obj, train, test, theta_hat, groups, test_rows, protocol, run);
}

}  // namespace inflab::experiments
