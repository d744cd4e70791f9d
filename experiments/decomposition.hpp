// What influence answers (Bae, Ng, Lo, Ghassemi & Grosse, NeurIPS 2022): for removing one
// training row, a ladder of references for the change Δ of a test loss, each a ground truth of
// its own, from leave-one-out retrained from scratch down to the practical estimate:
//   loo-cold      retrained without the row from the problem's initialisation, θ̂'s own protocol
//   loo           retrained from θ̂ (inflab's leave-one-out)
//   loo-proximal  R₋z + (μ/2)‖θ − θ̂‖² minimised from θ̂
//   pbrf          the proximal Bregman response at θ̂ (influence/pbrf.hpp)
//   linear        first-order influence with the damped Gauss–Newton matrix, solved exactly
//   estimate      the chosen estimator (a row of influence/estimator.hpp's table)
// The difference of each adjacent pair is one term of the gap — warm start, proximity,
// non-convergence, linearisation, solver — and the five add up to (loo-cold − estimate).
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "experiments/benchmark.hpp"
#include "experiments/problem.hpp"
#include "experiments/retrain.hpp"
#include "influence/metrics.hpp"

namespace inflab::experiments {

enum class Rung { Cold, Warm, Proximal, Pbrf, Linear, Estimate };
constexpr std::size_t kRungs = 6;
const Choices<Rung>& rungs();  // loo-cold, loo, loo-proximal, pbrf, linear, estimate; in ladder order
// Term k of the gap is rung k minus rung k + 1 (k = 0 … 4).
constexpr std::size_t kGapTerms = kRungs - 1;
const std::vector<std::string>& gap_term_names();  // warm-start, proximity, non-convergence, linearisation, solver

struct LadderOptions {
  double damping = 1e-3;  // μ of loo-proximal, pbrf and linear (docs/conventions.md: μ, not λ)
  // how loo, loo-proximal and pbrf are solved (their target and damping are set per rung)
  RetrainProtocol retrain;
  // loo-cold: the problem's own training spec with these L-BFGS histories (the first gives the
  // rung's value against θ̂; each other trains its own full-data θ too, and the spread of the
  // cold Δ over all of them is how much the optimizer's path alone moves it). Not L-BFGS: one run.
  std::vector<std::size_t> cold_histories = {10, 5, 20};
  // the practical estimate (rung `estimate`: the first), and others scored against every
  // reference too; entries as the benchmark names them (ekfac, cg, cg:ggn, graddot, …)
  std::vector<BenchEntry> estimators = {parse_bench_entry("ekfac")};
  EstimatorSettings settings;  // their damping is their own (the CLI passes μ)
  // Branch check (0: off): loo, loo-proximal and pbrf are also followed from θ̂ as the row's
  // removal weight t goes 0 → 1 in this many equal steps, each minimised from the last with the
  // retraining protocol (continuation); a direct retrain whose Δ or ‖θ − θ̂‖ differs from the
  // path's end has jumped to another branch of solutions.
  std::size_t continuation_steps = 0;
};
// The branch test: the direct and continued ends differ by more than this, relative to the
// larger |Δ| (and ‖θ − θ̂‖), plus 1e-9 absolute — far above what a 1e-10 gradient tolerance moves.
constexpr double kBranchTol = 1e-3;

struct LadderRow {
  std::size_t row = 0;                   // the removed training row
  double value[kRungs] = {};             // Δ at each rung (the estimate's ÷ n value)
  std::vector<double> estimates;         // Δ̂ of every estimator of the options, in order
  std::vector<double> cold_values;       // cold Δ for each L-BFGS history, each against its own full-data θ
  double cold_spread = 0;                // max − min of cold_values
  bool cold_converged = true;            // every cold run reached the problem's tolerance
  RetrainRecord warm, proximal, pbrf;    // the three retrains from θ̂ (status, λmin, ‖θ − θ̂‖)
  double linear_step = 0;                // ‖(G + μI)⁻¹ ∇ℓ̃(z)‖ / n: the linear rung's ‖Δθ‖
  // loo, loo-proximal, pbrf (index rung − 1) followed by continuation: Δ and ‖θ − θ̂‖ at the
  // path's end (NaN: not checked), whether every step converged, and whether the direct retrain
  // left that branch
  double continued[3] = {NAN, NAN, NAN}, continued_distance[3] = {NAN, NAN, NAN};
  bool continued_converged[3] = {true, true, true}, jumped[3] = {false, false, false};
  double term(std::size_t k) const { return value[k] - value[k + 1]; }
};

struct Ladder {
  std::size_t test_row = 0;
  double test_loss = 0;
  std::vector<LadderRow> rows;
  // each estimator's first solve warning, or why it failed (its values then NaN); "" when fine
  std::vector<std::string> estimator_warnings;
  std::string linear_warning;                   // the linear rung's solve, if it warned
};

// The ladder for removing each of `rows` (one at a time) on test row `test_row` of p. Retrains
// run as `run` says (threads, MPI ranks); a results_path is a prefix: the three retraining
// journals are prefix + "loo.jsonl", "loo-proximal.jsonl", "pbrf.jsonl" (resumable). Cold runs
// use run.threads threads. Errors: a θ̂ trained by sgd/adam with histories given (nothing to
// vary), an empty row list, μ < 0.
Ladder ladder(const Problem& p, std::size_t test_row, const std::vector<std::size_t>& rows, const LadderOptions& o,
              const RetrainRun& run);

// ---- the decomposition study (inflab study decomposition): the ladder over depth, λ and seeds
struct DecompositionSetting {
  std::size_t depth = 1;
  double weight_decay = 0;
  std::size_t seed = 0;  // repeat k: the problem's seed is the base seed + k
  std::string key() const;  // e.g. d2-wd0.001-s0
};
// The test point (the highest-loss one) and the `top` rows of largest |linear Δ̂| of a setting's
// problem, trained from base with the setting's depth, λ and seed; the ladder over them.
struct DecompositionRun {
  DecompositionSetting setting;
  Problem problem;
  Ladder ladder;
};
DecompositionRun decomposition_setting(const ProblemSpec& base, const DecompositionSetting& s, std::size_t top, const LadderOptions& o,
                                       const RetrainRun& run);

// One removed row of the study as its table keeps it (a LadderRow, or a resumed line).
struct DecompositionRecord {
  std::size_t depth = 0, seed = 0;
  double weight_decay = 0;
  double value[kRungs] = {};
  std::vector<double> estimates;  // every estimator, in the options' order
  bool cold_converged = true;     // every cold run met the problem's tolerance
  std::size_t not_minima = 0;     // of loo, loo-proximal, pbrf: retrains not ending converged (budget, saddle, unresolved)
  std::size_t jumps = 0;          // of loo, loo-proximal, pbrf: direct retrains off the continued branch
};
// One (depth, λ) point: each term's mean |term| over its rows, the same relative to the mean
// |loo-cold Δ|, and for each estimator and reference the median over seeds of the Pearson
// correlation over a seed's rows (NaN: fewer than 3 rows or a constant side).
struct DecompositionPoint {
  std::size_t depth = 0;
  double weight_decay = 0;
  std::size_t rows = 0, seeds = 0;
  std::size_t cold_unconverged = 0, not_minima = 0;  // rows with a cold run short of tolerance; retrains not at a minimum
  std::size_t jumps = 0;                             // retrains from θ̂ off the continued branch (when checked)
  double mean_abs_term[kGapTerms] = {};
  double mean_abs_cold = 0, mean_abs_gap = 0;  // |loo-cold Δ| and |loo-cold − estimate|, means
  std::vector<std::vector<Spread>> pearson;    // [estimator][rung 0 … linear]: over seeds
};
std::vector<DecompositionPoint> decomposition_points(const std::vector<DecompositionRecord>& records, std::size_t estimators);

}  // namespace inflab::experiments
