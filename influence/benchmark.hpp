// The attribution benchmark (docs/benchmark.md), after the protocol of dattri (Deng et al.,
// NeurIPS 2024), scored against ground truth that inflab computes to a tolerance:
//   LOO   for each of m test points, Pearson and Spearman of Δ̂(zᵢ) against the actual Δ over
//         the removed rows (one retrain per row gives Δ for all m points); mean over points;
//   LDS   for each test point, Spearman of Σ_{i∈U} Δ̂(zᵢ) against the actual Δ over random
//         subsets U (retraining keeps a fraction α); mean over points;
//   noisy labels: ROC AUC of self-influence as a detector of flipped training labels, on a
//         second problem trained on them; training loss is the baseline;
//   time  of the estimator alone (its solves and passes, not the ground truth).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "influence/experiments.hpp"
#include "util/choice.hpp"

namespace inflab::influence {

// What the benchmark scores: inverse-HVP estimates on a curvature, and estimators of their own.
enum class BenchEstimator { Exact, Cg, Minres, Lissa, LowRank, GaussNewton, Kfac, Ekfac, GradDot, Trak };
const Choices<BenchEstimator>& benchmark_estimators();

struct BenchmarkSettings {
  double damping = 0;          // μ for every curvature (K-FAC needs > 0 only if λ = 0)
  double tol = 1e-10;          // cg, minres
  std::size_t max_iterations = 2000;
  LissaOptions lissa;
  std::size_t rank = 50;       // lowrank
  std::size_t trak_dim = 256;  // trak: projection dimension (at most p)
};

// Retraining ground truth for m test points: job j removed `removed[j]`; actual(j, t) = Δ.
struct GroundTruth {
  std::vector<std::size_t> test_rows;
  std::vector<std::vector<std::size_t>> removed;
  Tensor actual;  // [jobs, m]
  RetrainSummary retrain;
};
// The benchmark's removal groups: `subsets` random subsets keeping round(α n) of n rows
// (seeded); each group is the rows its subset leaves out, sorted.
std::vector<std::vector<std::size_t>> lds_groups(std::size_t n, std::size_t subsets, double alpha, std::uint64_t seed);
// Where the ground truth comes from: retraining, or a reference influence computed to a tolerance.
enum class BenchTruth { Retrain, Cg };
const Choices<BenchTruth>& benchmark_truths();
// The reference instead of retraining: `reference` [m, n] is Δ̂ of CG on H + μI to a tolerance
// (exact first-order influence, where retraining a network to a tolerance is out of reach);
// job j's "actual" change is Σ_{i ∈ groups[j]} reference(t, i) (first order is additive), so
// LOO scores compare Δ̂ row by row and LDS scores compare subset sums with the reference's.
GroundTruth reference_truth(const Tensor& reference, std::vector<std::vector<std::size_t>> groups, const std::vector<std::size_t>& test_rows);
// One retrain per row (leave-one-out).
GroundTruth loo_truth(const Problem& p, const std::vector<std::size_t>& rows, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run);
// `subsets` random subsets keeping round(α n) rows (seeded); each retrain removes the rest.
GroundTruth lds_truth(const Problem& p, std::size_t subsets, double alpha, const std::vector<std::size_t>& test_rows,
                      const RetrainProtocol& protocol, const RetrainRun& run, std::uint64_t seed);

// The ground truth's noise floor: |ℓ(z_t; θ′) − ℓ(z_t; θ̂)| for each test row, θ′ trained on the
// same data from another initialisation (seed + 1) the way θ̂ was. Where the objective has one
// minimum this is the training tolerance's imprecision; an actual change below it is noise.
// `converged` (if given): whether θ′ met the training tolerance.
Tensor seed_floor(const Problem& p, const std::vector<std::size_t>& test_rows, bool* converged = nullptr);

// One estimator's Δ̂ [m, n] for the test rows (÷n, docs/conventions.md), and its time.
struct Estimate {
  Tensor predicted;
  double seconds = 0;
  std::string warning;  // the first solve warning, "" when none
};
Estimate estimate(const Problem& p, BenchEstimator e, const std::vector<std::size_t>& test_rows, const BenchmarkSettings& s);
// Self-influence [n] for the noisy-label score, or nullopt with the reason in `why` when it
// would take one iterative solve per row (cg, minres, lissa, lowrank, ggn) or has no form here (trak).
std::optional<Tensor> self_scores(const Problem& p, BenchEstimator e, const BenchmarkSettings& s, std::string* why);

// Scores of an estimate against ground truth (means over test points; the points where a
// correlation is undefined are counted in `undefined`, not averaged).
struct BenchScores {
  double pearson = 0, spearman = 0;
  std::size_t points = 0, undefined = 0;
};
BenchScores loo_scores(const Tensor& predicted, const GroundTruth& truth);
BenchScores lds_scores(const Tensor& predicted, const GroundTruth& truth);  // pearson unused (NaN)

}  // namespace inflab::influence
