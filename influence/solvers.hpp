// Inverse-HVP solvers for (A + μI) x = b, A the curvature operator (H or GGN). One result
// type: x with what it cost and how accurate it is, measured, not assumed.
#pragma once
#include <string>
#include <vector>

#include "influence/curvature.hpp"

namespace inflab::influence {

// The inverse-HVP solvers (their table, with names and help: influence/choices.hpp).
enum class Method { Exact, Cg, Minres, Lissa, LowRank };

struct SolveResult {
  Tensor x;
  Method method = Method::Exact;
  std::size_t iterations = 0;
  std::size_t products = 0;    // curvature-vector products used (incl. the residual check)
  double rel_residual = 0;     // ‖(A + μI)x − b‖ / ‖b‖, recomputed with one extra product
  double seconds = 0;
  std::vector<double> eigenvalues;  // exact / lowrank: the eigenvalues of A used, ascending
  std::size_t negative = 0;         // exact: how many eigenvalues of A + μI are < 0
  std::string note;                 // e.g. how an indefinite A was treated
  // cg / minres: the tolerance was met within max_iterations. exact, lissa, lowrank do a
  // fixed amount of work and set it true; whether their x is accurate is what `warning` says.
  bool converged = true;
  // "" when fine. Otherwise a user-facing sentence saying why x should not be taken for
  // (A + μI)⁻¹b: the measured relative residual above residual_warning_threshold(method, tol)
  // ("… the estimate is not the exact inverse-HVP"), or an iterative solver that stopped at
  // its iteration limit. Never an Error: the estimate is still returned.
  std::string warning;
};

// The measured relative residual above which a SolveResult carries a warning:
//   exact 1e-6 (a dense eigendecomposition of a nonsingular A + μI reaches ~1e-12);
//   cg, minres max(1e-6, 10·tol) (what the user asked for, with room for rounding);
//   lissa, lowrank 1e-3 (approximate by design: truncated series, a subspace).
double residual_warning_threshold(Method method, double tol = 0);

void check_damping(double mu);  // Error unless finite and ≥ 0

// Dense M x = b, one right-hand side b [p], by LAPACK dgesv (LU with partial pivoting;
// M [p, p] need not be symmetric). An Error for shapes, non-finite input or a singular M.
Tensor dense_solve(Tensor M, Tensor b);

// What a dense p × p eigendecomposition (exact solver, dense_eigen) costs, estimated before
// any work: memory for the matrix, LAPACK's column-major copy that becomes the eigenvectors
// and dsyevd's 2p² workspace (4·8p² bytes at the peak), and time for p curvature products
// (seconds_per_product each; 0 leaves them out) plus dsyevd's ~6p³ flops (tridiagonal
// reduction (4/3)p³, divide and conquer and the back-transformation) at a conservative
// dense_flops_per_second (measured: OpenBLAS dsyevd on one core of this machine does
// 6p³ in 2.8 s at p = 2000, 17 GFLOP/s; the constant is a third of that).
struct DenseCost {
  double gib = 0;      // peak memory, GiB
  double seconds = 0;  // products + decomposition
};
constexpr double dense_flops_per_second = 5e9;
DenseCost dense_cost(std::size_t p, double seconds_per_product = 0);

// Exact: dense A from batched products, symmetric eigendecomposition (LAPACK dsyevd), then
// x = Σ uᵢ (uᵢᵀb) / f(λᵢ + μ). For an indefinite A + μI, `indefinite` chooses f:
//   Invert — plain inverse (fails on a zero eigenvalue); Abs — 1/|λ + μ|;
//   Drop   — directions with |λ + μ| < drop_below are left out.
struct ExactOptions {
  double damping = 0;
  enum Indefinite { Invert, Abs, Drop } indefinite = Invert;
  double drop_below = 1e-8;
  double max_gib = 8;         // refuse when dense_cost(p).gib exceeds this
  double max_seconds = 600;   // refuse when dense_cost(p, measured product time).seconds exceeds this:
                              // p = 2000 estimates ~10 s (+ products), the 12 730-parameter
                              // Fashion-MNIST MLP ~41 min before its products
  bool progress = false;      // a progress line while the dense matrix's columns are computed
};
SolveResult solve_exact(const CurvatureOperator& A, const Tensor& b, const ExactOptions& opt = {});
// The refusal of a dense p × p decomposition that dense_eigen would make before any product
// (memory, or the decomposition's time alone above the limits): for callers that know p
// before they build the operator, e.g. before training θ̂.
void check_dense_feasible(std::size_t p, double max_gib, double max_seconds);

// The dense eigendecomposition itself (reusable across many right-hand sides), of
// dense_matrix(A). Refused with an Error giving both estimates of dense_cost and the
// alternatives (cg, minres, lowrank) when the memory exceeds max_gib, or the time — the
// decomposition alone before any product, then again with the product time measured on the
// first block of products — exceeds max_seconds.
struct Eigen {
  Tensor values;   // [p] ascending
  Tensor vectors;  // [p, p], column i is the eigenvector of values(i)
};
Eigen dense_eigen(const CurvatureOperator& A, double max_gib = 8, double max_seconds = 600, bool progress = false);
// The same for a symmetric matrix already assembled (e.g. by dense_matrix), consumed.
Eigen symmetric_eigen(Tensor H);
// The exact solve with a decomposition computed before (many right-hand sides, one dsyevd).
SolveResult solve_exact(const CurvatureOperator& A, const Eigen& e, const Tensor& b, const ExactOptions& opt = {});
// How the eigenvalues λ + μ of a decomposition split: below −rounding (negative) and within
// ±rounding of 0 (zero to rounding), rounding = p·ε·max|λ| — and for a curvature that is positive
// semi-definite by construction (Gauss–Newton, K-FAC), at least its most negative λ: there every
// negative eigenvalue is rounding of the products it was built from.
struct EigenSigns {
  std::size_t negative = 0, zero = 0;
  double rounding = 0;
};
EigenSigns eigen_signs(const Eigen& e, double damping, Curvature kind);

// (A + μI) x = b for a K-FAC or EK-FAC operator (A.kfac() set), inverted in the factors'
// eigenbases (exact for that matrix); checked and measured like every solve (method exact).
SolveResult solve_kfac(const CurvatureOperator& A, const Tensor& b, double damping);

// Conjugate gradients; stops at ‖r‖/‖b‖ ≤ tol. Meeting pᵀ(A + μI)p ≤ 0 is an Error that says
// A + μI is not positive definite (and suggests minres or damping).
struct CgOptions {
  double damping = 0, tol = 1e-10;
  std::size_t max_iterations = 1000;
};
SolveResult solve_cg(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt = {});

// (converged = false and a warning when max_iterations is reached first.)
// MINRES (Paige & Saunders 1975) for symmetric, possibly indefinite A + μI.
SolveResult solve_minres(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt = {});

// LiSSA (Agarwal et al. 2017): x₀ = b, x_j = b + (I − (A + μI)/scale) x_{j−1} (products
// on random mini-batches of `batch` rows, 0 = full batch), x ≈ x_depth / scale, averaged
// over `repeats`. Before starting, by power iteration: `scale` must exceed λmax(A + μI);
// λmin(A + μI) (power iteration on λmax·I − (A + μI)) must be clearly positive
// (> 1e-6·λmax, what power iteration can tell from 0) — otherwise an Error naming λmin and
// the fix (damping μ > −λmin(A) with a suggested value, the Gauss–Newton curvature, minres);
// and depth·λmin(A + μI)/scale ≥ 1, else the slowest direction keeps more than e⁻¹ of its
// error after `depth` steps (an Error suggesting depth, scale or damping). Divergence during
// the recursion is an Error too.
struct LissaOptions {
  double damping = 0, scale = 10;
  std::size_t depth = 1000, repeats = 1, batch = 0;
  std::uint64_t seed = 0;
};
SolveResult solve_lissa(const CurvatureOperator& A, const Tensor& b, const LissaOptions& opt = {});

// Low rank (Lanczos with full reorthogonalisation, as in Schioppa et al. 2022): the top
// `rank` eigenpairs of A by magnitude; x = Σ uᵢ (uᵢᵀb) / (λᵢ + μ) on that subspace.
struct LowRankOptions {
  double damping = 0;
  std::size_t rank = 20, lanczos_steps = 0;  // 0: 2·rank + 10, at most p
  std::uint64_t seed = 0;
};
SolveResult solve_lowrank(const CurvatureOperator& A, const Tensor& b, const LowRankOptions& opt = {});

}  // namespace inflab::influence
