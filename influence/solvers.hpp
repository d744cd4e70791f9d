// Inverse-HVP solvers for (A + μI) x = b, A the curvature operator (H or GGN). One result
// type: x with what it cost and how accurate it is, measured, not assumed.
#pragma once
#include <string>
#include <vector>

#include "influence/curvature.hpp"

namespace inflab::influence {

struct SolveResult {
  Tensor x;
  std::string method;
  std::size_t iterations = 0;
  std::size_t products = 0;    // curvature-vector products used (incl. the residual check)
  double rel_residual = 0;     // ‖(A + μI)x − b‖ / ‖b‖, recomputed with one extra product
  double seconds = 0;
  std::vector<double> eigenvalues;  // exact / lowrank: the eigenvalues of A used, ascending
  std::size_t negative = 0;         // exact: how many eigenvalues of A + μI are < 0
  std::string note;                 // e.g. how an indefinite A was treated
};

void check_damping(double mu);  // Error unless finite and ≥ 0

// Dense M x = b by Gaussian elimination with partial pivoting (small p; one right-hand
// side — the multi-column LAPACK solves of Debian's xtensor-blas are not used).
Tensor dense_solve(Tensor M, Tensor b);

// Exact: dense A from batched products, symmetric eigendecomposition (LAPACK dsyevd), then
// x = Σ uᵢ (uᵢᵀb) / f(λᵢ + μ). For an indefinite A + μI, `indefinite` chooses f:
//   Invert — plain inverse (fails on a zero eigenvalue); Abs — 1/|λ + μ|;
//   Drop   — directions with |λ + μ| < drop_below are left out.
struct ExactOptions {
  double damping = 0;
  enum Indefinite { Invert, Abs, Drop } indefinite = Invert;
  double drop_below = 1e-8;
  double max_gib = 8;  // refuse dense matrices larger than this
};
SolveResult solve_exact(const CurvatureOperator& A, const Tensor& b, const ExactOptions& opt = {});

// The dense eigendecomposition itself (reusable across many right-hand sides).
struct Eigen {
  Tensor values;   // [p] ascending
  Tensor vectors;  // [p, p], column i is the eigenvector of values(i)
};
Eigen dense_eigen(const CurvatureOperator& A, double max_gib = 8);
// The exact solve with a decomposition computed before (many right-hand sides, one dsyevd).
SolveResult solve_exact(const CurvatureOperator& A, const Eigen& e, const Tensor& b, const ExactOptions& opt = {});

// Conjugate gradients; stops at ‖r‖/‖b‖ ≤ tol. Meeting pᵀ(A + μI)p ≤ 0 is an Error that says
// A + μI is not positive definite (and suggests minres or damping).
struct CgOptions {
  double damping = 0, tol = 1e-10;
  std::size_t max_iterations = 1000;
};
SolveResult solve_cg(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt = {});

// MINRES (Paige & Saunders 1975) for symmetric, possibly indefinite A + μI.
SolveResult solve_minres(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt = {});

// LiSSA (Agarwal et al. 2017): x₀ = b, x_j = b + (I − (A + μI)/scale) x_{j−1} (products
// on random mini-batches of `batch` rows, 0 = full batch), x ≈ x_depth / scale, averaged
// over `repeats`. `scale` must exceed the largest eigenvalue of A + μI and the smallest
// must be > 0 (both estimated by power iteration first); divergence during the recursion
// is an Error too, suggesting a larger scale or damping.
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
