// The spectrum of the curvature operator: extreme eigenvalues by Lanczos or power
// iteration, the full spectrum for small p, negative counts and condition numbers.
#pragma once
#include "influence/curvature.hpp"
#include "nn/optim.hpp"

namespace inflab::influence {

struct Lanczos {
  Tensor ritz_values;   // [m] ascending: approximations of A's eigenvalues
  Tensor ritz_vectors;  // [m, p]: row i belongs to ritz_values(i)
  std::size_t steps = 0;
};
// m steps from a seeded random start, full reorthogonalisation (m ≤ p).
Lanczos lanczos(const CurvatureOperator& A, std::size_t steps, std::uint64_t seed = 0, bool want_vectors = false);
// The same for any symmetric operator v ↦ A v on Rᵖ (e.g. the Hessian of another objective).
using SymmetricOperator = std::function<Tensor(const Tensor&)>;
Lanczos lanczos(const SymmetricOperator& A, std::size_t p, std::size_t steps, std::uint64_t seed = 0, bool want_vectors = false);

// Newton–CG's preconditioner for objectives near A's (the retrains of one θ̂): the top k
// positive Ritz pairs of min(p, 2k) Lanczos steps, the rest of the spectrum mapped to σ =
// the largest Ritz value not kept (the smallest kept where that is not positive). Costs
// min(p, 2k) HVPs and k·p doubles.
nn::SpectralPreconditioner spectral_preconditioner(const CurvatureOperator& A, std::size_t k, std::uint64_t seed = 0);

// The largest-|λ| eigenvalue of sign·A + shift·I by power iteration (its sign kept; the
// Rayleigh quotient never overshoots the true value). sign = −1 with shift = c finds
// c − λmin(A) when c ≥ λmax(A).
double power_iteration(const CurvatureOperator& A, double shift = 0, std::size_t iterations = 100,
                       std::uint64_t seed = 0, double tol = 1e-6, double sign = 1);

struct SpectrumSummary {
  double largest = 0, smallest = 0;  // of A
  std::size_t negative = 0;          // exact only: eigenvalues of A below 0
  bool exact = false;                // from the dense eigendecomposition
  double condition(double damping) const;  // (λmax + μ)/(λmin + μ); inf if λmin + μ ≤ 0
};
// Exact when p ≤ exact_up_to (dense eigendecomposition), else Lanczos with `steps`.
SpectrumSummary spectrum(const CurvatureOperator& A, std::size_t exact_up_to = 2000, std::size_t steps = 60,
                         std::uint64_t seed = 0);

}  // namespace inflab::influence
