// The fragility study of Basu, Pope & Feizi (ICLR 2021) as library calls: one setting
// (depth, width, λ) trains its own MLP; each of its test points gives one row comparing
// first-order Δ̂ with leave-one-out retraining of the top-|Δ̂| rows. The groups study of
// Basu, You & Feizi (ICML 2020) is a loop over evaluate_group_kind and compare_selection
// (experiments.hpp).
#pragma once
#include <functional>

#include "experiments/choices.hpp"
#include "experiments/experiments.hpp"
#include "experiments/last_layer.hpp"
#include "influence/metrics.hpp"
#include "influence/spectrum.hpp"

namespace inflab::experiments {

struct FragilitySetting {
  Sweep sweep = Sweep::Depth;  // the axis this setting belongs to
  std::size_t depth = 1, width = 16;
  double weight_decay = 0;
  std::size_t seed = 0;  // repeat k: the problem's seed is base seed + k — a new split, subsample and initialisation
  std::string key(const std::string& test) const;  // e.g. depth-d2-w16-wd0.001-s0-highest
};
// Every setting of the sweep, for seeds 0..seeds−1 (seed outermost: the first pass is a whole
// sweep): for each λ, the depths at the base width and the widths at the base depth
// (repeats dropped, order kept).
std::vector<FragilitySetting> fragility_settings(const ProblemSpec& base, const std::vector<std::size_t>& depths,
                                                 const std::vector<std::size_t>& widths, const std::vector<double>& decays,
                                                 std::size_t seeds = 1);

struct FragilityOptions {
  std::size_t top = 10, random_tests = 2;
  Candidates candidates = Candidates::TopInfluence;  // which rows are retrained
  ParamScope params = ParamScope::All;               // what Δ̂ differentiates; retraining always trains every parameter
  SolverChoice solver;
  RetrainProtocol retrain;
};
struct FragilityRow {
  FragilitySetting setting;
  std::string test;                 // "highest", "random0", …: the key's last part
  TestKind test_kind() const { return test == "highest" ? TestKind::Highest : TestKind::Random; }
  std::size_t test_row = 0, test_source_row = 0;
  std::size_t parameters = 0;  // of the matrix inverted (the last layer's with ParamScope::LastLayer), as the spectrum
  double train_accuracy = 0, test_accuracy = 0, grad_norm = 0;
  SpectrumSummary spectrum;
  Scores scores;
  double mean_abs_actual = 0;  // beside retraining's precision: how much the correlation can mean
  // |Δ| of the same retraining with nothing removed (a fixed sgd/adam budget from θ̂, its own
  // batch order): what the protocol alone moves the test loss; an actual change below it is
  // noise. NaN for retraining to a tolerance, where removing nothing takes no step.
  double noise_floor = std::numeric_limits<double>::quiet_NaN();
  RetrainSummary retrain;
  double rel_residual = 0;  // of the solve for s = (H + μI)⁻¹∇ℓ(z_t)
  std::string warning;      // the solve's warning ("" when fine)
};
// The test points of a problem: the highest-loss one, then `random` others (seeded; the
// same for every setting since the split is the same).
std::vector<std::pair<std::string, std::size_t>> fragility_tests(const Problem& p, std::size_t random, std::uint64_t seed);
// The rows a fragility row retrains: `top` of them by the rule, Δ̂ the predictions of every row.
std::vector<std::size_t> fragility_candidates(const Problem& p, const Tensor& predicted, Candidates rule, std::size_t top,
                                              std::uint64_t seed);
// One row: Δ̂ for every training row from `est` (p itself, or last_layer(p): the same rows),
// leave-one-out of the candidates by retraining all of p, scores. A solve that fails (a
// singular H) gives a row with no retraining whose scores and warning say why.
FragilityRow fragility_row(const Problem& p, const Problem& est, const InverseHvp& inv, const SpectrumSummary& spectrum, const FragilitySetting& s,
                           const std::string& test, std::size_t test_row, const FragilityOptions& o, const RetrainRun& run);
// The keys of a setting's rows: its highest-loss test point, then each random one.
std::vector<std::string> fragility_keys(const FragilitySetting& s, const FragilityOptions& o);
// Trains the setting's problem and returns the rows of its test points whose key `done`
// does not report finished; `journal(key)` names each row's retraining journal ("" none).
// Retraining runs as `run` says (threads, remote ranks), without a progress line.
std::vector<FragilityRow> fragility_setting(const ProblemSpec& base, const FragilitySetting& s, const FragilityOptions& o,
                                            const std::function<bool(const std::string&)>& done,
                                            const std::function<std::string(const std::string&)>& journal, const RetrainRun& run);

// What the sweep reads of one row: a FragilityRow, or its line of a resumed study's table.
struct FragilityRecord {
  Sweep sweep = Sweep::Depth;
  std::size_t depth = 0, width = 0;
  double weight_decay = 0;
  TestKind test = TestKind::Highest;
  std::size_t saddles = 0, unresolved = 0, retrained = 0;
  double pearson = 0, spearman = 0, mean_abs_actual = 0, noise_floor = 0;
};
FragilityRecord record_of(const FragilityRow& r);

// One point of the sweep: a setting's rows over seeds (and, for random test points, over the
// test points too) and the spread of its Pearson and Spearman (influence/metrics.hpp). Rows
// with an unresolved retrain (no step: Δ = 0 measures nothing) are counted, not used.
struct SweepPoint {
  Sweep sweep = Sweep::Depth;
  TestKind test = TestKind::Highest;
  std::size_t x = 0;  // depth or width
  double weight_decay = 0;
  Spread pearson, spearman;
  std::size_t rows = 0, saddles = 0, unresolved = 0, retrained = 0;
  std::size_t unmeasured = 0;  // rows left out: some retrain took no step
  Spread mean_abs_actual, noise_floor;  // over the rows used
};
// For each sweep, λ in `decays` and test kind, the points in increasing x.
std::vector<SweepPoint> sweep_points(const std::vector<FragilityRecord>& rows, const std::vector<double>& decays);

}  // namespace inflab::experiments
