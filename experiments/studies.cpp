#include "experiments/studies.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "datasets/split.hpp"
#include "nn/trainer.hpp"
#include "influence/choices.hpp"
#include "influence/metrics.hpp"
#include "util/format.hpp"

namespace inflab::experiments {

std::string FragilitySetting::key(const std::string& test) const {
  return sweeps().name(sweep) + "-d" + std::to_string(depth) + "-w" + std::to_string(width) + "-wd" + shortest(weight_decay) + "-s" +
         std::to_string(seed) + "-" + test;
}

std::vector<FragilitySetting> fragility_settings(const ProblemSpec& base, const std::vector<std::size_t>& depths,
                                                 const std::vector<std::size_t>& widths, const std::vector<double>& decays,
                                                 std::size_t seeds) {
  if (seeds == 0) throw Error("fragility: seeds must be at least 1");
  std::vector<FragilitySetting> out;
  auto add = [&](FragilitySetting s) {
    for (const auto& o : out)
      if (o.sweep == s.sweep && o.depth == s.depth && o.width == s.width && o.weight_decay == s.weight_decay && o.seed == s.seed) return;
    out.push_back(std::move(s));
  };
  for (std::size_t k = 0; k < seeds; ++k)
    for (double wd : decays) {
      if (!(wd >= 0) || !std::isfinite(wd)) throw Error("fragility: weight decay " + shortest(wd) + " is not ≥ 0");
      for (auto d : depths) add({Sweep::Depth, d, base.width, wd, k});
      for (auto w : widths) add({Sweep::Width, base.depth, w, wd, k});
    }
  return out;
}

std::vector<std::pair<std::string, std::size_t>> fragility_tests(const Problem& p, std::size_t random, std::uint64_t seed) {
  const std::size_t want = 1 + random;
  if (p.test.size() < want)
    throw SettingError("--random-tests " + std::to_string(random) + " needs " + std::to_string(want) + " test rows; the test set has " +
                std::to_string(p.test.size()));
  // names: highest, random0, …, random{random−1} — always all of them (fragility_setting's skip relies on it)
  std::vector<std::pair<std::string, std::size_t>> tests = {{"highest", pick_test_rows("highest", p, seed).at(0)}};
  if (random)
    for (auto r : pick_test_rows("random:" + std::to_string(want), p, seed + 7))
      if (r != tests[0].second && tests.size() < want) tests.push_back({"random" + std::to_string(tests.size() - 1), r});
  return tests;
}

std::vector<std::size_t> fragility_candidates(const Problem& p, const Tensor& predicted, Candidates rule, std::size_t top,
                                              std::uint64_t seed) {
  switch (rule) {
    case Candidates::TopInfluence: return largest_magnitude(predicted, top);
    case Candidates::HighestLoss: {
      const Tensor l = row_losses(*p.obj, p.train, p.theta);
      std::vector<std::size_t> rows(l.size());
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
      std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) { return l(a) > l(b); });
      rows.resize(std::min(top, rows.size()));
      return rows;
    }
    case Candidates::Random: {
      auto rows = data::permutation(p.train.size(), seed * 7919 + 13);  // its own stream, apart from the split's
      rows.resize(std::min(top, rows.size()));
      return rows;
    }
  }
  throw Error("fragility: unknown candidate rule");
}

FragilityRow fragility_row(const Problem& p, const Problem& est, const InverseHvp& inv, const SpectrumSummary& spectrum, const FragilitySetting& s,
                           const std::string& test, std::size_t test_row, const FragilityOptions& o, const RetrainRun& run) {
  FragilityRow r;
  r.setting = s;
  r.test = test;
  r.test_row = test_row;
  r.test_source_row = p.test.source_row(test_row);
  r.parameters = est.theta.size();
  r.train_accuracy = p.train_accuracy;
  r.test_accuracy = p.test_accuracy;
  r.grad_norm = p.fit.grad_norm;  // ‖∇R(θ̂)‖ of the whole network, also with the last layer's Δ̂
  r.spectrum = spectrum;
  const Tensor tg = test_loss_gradient(*est.obj, est.test, {test_row}, est.theta);
  SolveResult sol;
  try {
    sol = inv(tg);
  } catch (const Error& e) {  // e.g. a singular H at λ = 0: this row has no Δ̂, the study goes on
    r.warning = std::string("no predicted Δ: ") + e.what();
    r.scores.undefined = r.warning;
    return r;
  }
  r.rel_residual = sol.rel_residual;
  r.warning = sol.warning;
  const Tensor pc = train_gradient_dots(*est.obj, est.train, est.theta, sol.x) / static_cast<double>(est.train.size());
  const auto rows = fragility_candidates(p, pc, o.candidates, o.top, p.spec.seed + test_row);
  std::vector<std::vector<std::size_t>> groups;
  for (auto i : rows) groups.push_back({i});
  // the last job removes nothing: the noise floor of a budget retrained from θ̂ (from scratch it
  // replays the reference exactly: 0)
  const RetrainProtocol rp = for_problem(o.retrain, p.spec);
  const bool budget = !nn::to_tolerance(rp.optimizer) && !from_scratch(rp.target);
  if (budget) groups.push_back({});
  auto rec = retrain_groups(p, groups, {test_row}, o.retrain, run);
  if (budget) r.noise_floor = std::fabs(rec.back().test_loss_change.at(0)), rec.pop_back();
  Tensor pred = zeros({rows.size()}), act = zeros({rows.size()});
  for (std::size_t j = 0; j < rows.size(); ++j) {
    pred(j) = pc(rows[j]), act(j) = rec[j].test_loss_change.at(0);
    r.mean_abs_actual += std::fabs(act(j)) / static_cast<double>(rows.size());
  }
  r.retrain = summarize(rec);
  r.scores = score(pred, act, r.retrain);
  return r;
}

std::vector<std::string> fragility_keys(const FragilitySetting& s, const FragilityOptions& o) {
  std::vector<std::string> keys = {s.key("highest")};
  for (std::size_t r = 0; r < o.random_tests; ++r) keys.push_back(s.key("random" + std::to_string(r)));
  return keys;
}

std::vector<FragilityRow> fragility_setting(const ProblemSpec& base, const FragilitySetting& s, const FragilityOptions& o,
                                            const std::function<bool(const std::string&)>& done,
                                            const std::function<std::string(const std::string&)>& journal, const RetrainRun& how) {
  if (done) {  // every row of the setting finished: no need to train its network again
    const auto keys = fragility_keys(s, o);
    if (std::all_of(keys.begin(), keys.end(), done)) return {};
  }
  ProblemSpec spec = base;
  spec.model = ModelKind::Mlp;
  spec.depth = s.depth, spec.width = s.width, spec.hidden.clear(), spec.weight_decay = s.weight_decay;
  spec.seed = base.seed + s.seed;
  const Problem p = build_problem(spec, false);
  std::optional<Problem> head;
  const Problem& est = scoped(p, o.params, head);  // the same rows as p
  const CurvatureOperator A(*est.obj, est.train, est.theta);
  const SpectrumSummary spectrum = influence::spectrum(A);
  const InverseHvp inv(A, o.solver);
  std::vector<FragilityRow> rows;
  for (const auto& [name, t] : fragility_tests(p, o.random_tests, spec.seed)) {
    if (done && done(s.key(name))) continue;
    RetrainRun run = how;
    run.progress = false;
    run.results_path = journal ? journal(s.key(name)) : "";
    rows.push_back(fragility_row(p, est, inv, spectrum, s, name, t, o, run));
  }
  return rows;
}

FragilityRecord record_of(const FragilityRow& r) {
  const auto& s = r.setting;
  return {s.sweep, s.depth, s.width, s.weight_decay, r.test_kind(), r.retrain.saddles, r.retrain.unresolved, r.retrain.jobs,
          r.scores.pearson, r.scores.spearman, r.mean_abs_actual, r.noise_floor};
}

std::vector<SweepPoint> sweep_points(const std::vector<FragilityRecord>& rows, const std::vector<double>& decays) {
  struct Values {
    std::vector<double> pearson, spearman, mean_abs_actual, noise_floor;
  };
  std::vector<SweepPoint> out;
  for (const Sweep sweep : {Sweep::Depth, Sweep::Width})
    for (double wd : decays)
      for (const TestKind test : {TestKind::Highest, TestKind::Random}) {
        std::map<std::size_t, Values> at;
        std::map<std::size_t, SweepPoint> pts;
        for (const auto& r : rows) {
          // λ as the study writes it, so 0.001 read back from a table matches 0.001 given
          if (r.sweep != sweep || shortest(r.weight_decay) != shortest(wd) || r.test != test) continue;
          const std::size_t x = sweep == Sweep::Depth ? r.depth : r.width;
          SweepPoint& p = pts[x];
          p.rows += 1, p.saddles += r.saddles, p.unresolved += r.unresolved, p.retrained += r.retrained;
          if (r.unresolved > 0) {
            ++p.unmeasured;
            continue;
          }
          Values& v = at[x];
          v.pearson.push_back(r.pearson), v.spearman.push_back(r.spearman);
          v.mean_abs_actual.push_back(r.mean_abs_actual), v.noise_floor.push_back(r.noise_floor);
        }
        for (auto& [x, p] : pts) {
          p.sweep = sweep, p.test = test, p.x = x, p.weight_decay = wd;
          p.pearson = spread(at[x].pearson), p.spearman = spread(at[x].spearman);
          p.mean_abs_actual = spread(at[x].mean_abs_actual), p.noise_floor = spread(at[x].noise_floor);
          out.push_back(p);
        }
      }
  return out;
}

}  // namespace inflab::experiments
