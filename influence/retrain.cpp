#include "influence/retrain.hpp"
#include "nn/choices.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"
#include "datasets/split.hpp"
#include "nn/choices.hpp"
#include "influence/group.hpp"
#include "influence/influence.hpp"

namespace inflab::influence {

using json = nlohmann::json;

namespace {
// FNV-1a over bytes: a fingerprint of θ̂, the data and the groups for the resume check.
std::uint64_t fnv(const void* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}
std::string hex(std::uint64_t h) {
  char s[20];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

// The data a result depends on: inputs, labels or targets, class names.
std::string data_print(const data::Dataset& d) {
  std::uint64_t h = fnv(d.X.data(), d.X.size() * sizeof(double));
  h = fnv(d.y.data(), d.y.size() * sizeof(std::size_t), h);
  if (d.targets.size() && !d.is_classification()) h = fnv(d.targets.data(), d.targets.size() * sizeof(double), h);
  for (const auto& c : d.class_names) h = fnv(c.data(), c.size(), fnv("|", 1, h));
  return d.name + " n=" + std::to_string(d.size()) + " " + hex(h);
}

json config_of(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const Tensor& th,
               const std::vector<std::vector<std::size_t>>& groups, const std::vector<std::size_t>& test_rows,
               const RetrainProtocol& p) {
  std::uint64_t gh = 1469598103934665603ull;
  for (const auto& g : groups) gh = fnv(g.data(), g.size() * sizeof(std::size_t), fnv("|", 1, gh));
  return {{"optimizer", nn::optimizers().name(p.optimizer)}, {"grad_tol", p.grad_tol}, {"max_steps", p.max_steps}, {"lr", p.lr},
          {"epochs", p.epochs}, {"batch_size", p.batch_size}, {"seed", p.seed},
          {"loss", nn::loss_name(obj.loss())}, {"weight_decay", obj.weight_decay()},
          {"model", obj.model().summary()}, {"theta_hat", hex(fnv(th.data(), th.size() * sizeof(double)))},
          {"train", data_print(train)}, {"test", data_print(test)},
          {"test_rows", test_rows}, {"groups", std::to_string(groups.size()) + " " + hex(gh)}};
}

json to_json(const RetrainRecord& r) {
  return {{"job", r.job}, {"removed", r.removed}, {"test_loss_change", r.test_loss_change}, {"grad_norm", r.grad_norm},
          {"converged", r.converged}, {"steps", r.steps}, {"seconds", r.seconds}};
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
  return r;
}
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
          const RetrainRecord r = from_json(json::parse(line));
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
        const nn::TrainResult tr = nn::train(obj, rest, theta_hat, o);
        RetrainRecord r;
        r.job = j;
        r.removed = groups[j];
        for (std::size_t t = 0; t < test_rows.size(); ++t) {
          double l = 0;
          test_loss_gradient(obj, test, {test_rows[t]}, tr.theta, &l);
          r.test_loss_change.push_back(l - base[t]);
        }
        r.grad_norm = tr.grad_norm;
        r.converged = tr.converged;
        r.steps = tr.steps;
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
