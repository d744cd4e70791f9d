#include "influence/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor-blas/xlinalg.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/check.hpp"
#include "influence/solvers.hpp"

namespace inflab::influence {

Lanczos lanczos(const CurvatureOperator& A, std::size_t steps, std::uint64_t seed, bool want_vectors) {
  return lanczos([&A](const Tensor& v) { return A.apply(v); }, A.dim(), steps, seed, want_vectors);
}

Lanczos lanczos(const SymmetricOperator& A, std::size_t p, std::size_t steps, std::uint64_t seed, bool want_vectors) {
  if (steps == 0 || steps > p) throw Error("lanczos: steps must be in 1.." + std::to_string(p));
  Tensor Q = zeros({steps, p});  // the Lanczos vectors, row j = q_j
  std::vector<double> alpha, beta;
  Tensor q = ad::random_normal({p}, seed + 7), c = zeros({steps});
  const double qn = norm2(q);
  for (auto& e : q) e /= qn;
  for (std::size_t j = 0; j < steps; ++j) {
    std::copy(q.begin(), q.end(), Q.data() + j * p);
    Tensor w = A(q);
    alpha.push_back(dot(q, w));
    // full reorthogonalisation against q_0 … q_j, classical Gram–Schmidt twice (as accurate
    // as modified Gram–Schmidt here, and two GEMVs instead of 2(j+1) scalar loops)
    for (int pass = 0; pass < 2; ++pass) {
      blas::gemv(false, j + 1, p, 1.0, Q.data(), w.data(), 0.0, c.data());  // c = Q w
      blas::gemv(true, j + 1, p, -1.0, Q.data(), c.data(), 1.0, w.data());  // w −= Qᵀ c
    }
    const double bj = norm2(w);
    if (j + 1 == steps || bj < 1e-12 * std::max(1.0, std::fabs(alpha.back()))) break;  // invariant subspace
    beta.push_back(bj);
    for (std::size_t i = 0; i < p; ++i) q(i) = w(i) / bj;
  }
  const std::size_t m = alpha.size();
  xt::xarray<double> T = xt::zeros<double>({m, m});
  for (std::size_t i = 0; i < m; ++i) {
    T(i, i) = alpha[i];
    if (i + 1 < m) T(i, i + 1) = T(i + 1, i) = beta[i];
  }
  const auto [w, S] = xt::linalg::eigh(T);
  Lanczos l;
  l.steps = m;
  l.ritz_values = zeros({m});
  for (std::size_t i = 0; i < m; ++i) l.ritz_values(i) = w(i);
  if (want_vectors) {  // row k = Σ_j S(j, k) q_j: Sᵀ Q
    Tensor St = zeros({m, m});
    for (std::size_t k = 0; k < m; ++k)
      for (std::size_t j = 0; j < m; ++j) St(k, j) = S(j, k);
    l.ritz_vectors = zeros({m, p});
    blas::gemm(false, false, m, p, m, 1.0, St.data(), Q.data(), 0.0, l.ritz_vectors.data());
  }
  return l;
}

nn::SpectralPreconditioner spectral_preconditioner(const CurvatureOperator& A, std::size_t k, std::uint64_t seed) {
  const std::size_t p = A.dim();
  if (k == 0) throw Error("spectral_preconditioner: k must be at least 1");
  const Lanczos l = lanczos(A, std::min(p, 2 * k), seed, true);
  const std::size_t m = l.steps;
  const double top = l.ritz_values(m - 1);
  std::size_t kept = 0;
  while (kept < std::min(k, m) && l.ritz_values(m - 1 - kept) > 0) ++kept;
  nn::SpectralPreconditioner P;
  P.vectors = zeros({kept, p});
  P.values = zeros({kept});
  for (std::size_t i = 0; i < kept; ++i) {
    P.values(i) = l.ritz_values(m - 1 - i);
    for (std::size_t j = 0; j < p; ++j) P.vectors(i, j) = l.ritz_vectors(m - 1 - i, j);
  }
  if (kept == 0) throw Error("spectral_preconditioner: no positive curvature found (λmax ≤ 0)");
  // σ: the next Ritz value; where it is not positive (A indefinite: θ not a minimum) the
  // smallest kept one, so that P never amplifies a direction A does not curve up
  const double next = kept < m ? l.ritz_values(m - 1 - kept) : 0;
  P.sigma = next > 1e-8 * top ? next : P.values(kept - 1);
  return P;
}

double power_iteration(const CurvatureOperator& A, double shift, std::size_t iterations, std::uint64_t seed, double tol,
                       double sign) {
  const std::size_t p = A.dim();
  Tensor v = ad::random_normal({p}, seed + 3);
  double n = norm2(v), lam = 0;
  for (auto& e : v) e /= n;
  for (std::size_t it = 0; it < iterations; ++it) {
    Tensor w = A.apply(v);
    for (std::size_t i = 0; i < p; ++i) w(i) = sign * w(i) + shift * v(i);
    const double next = dot(v, w);  // Rayleigh quotient keeps the sign
    n = norm2(w);
    if (n == 0) return 0;
    for (std::size_t i = 0; i < p; ++i) v(i) = w(i) / n;
    if (it > 5 && std::fabs(next - lam) <= tol * std::fabs(next)) return next;
    lam = next;
  }
  return lam;
}

double SpectrumSummary::condition(double damping) const {
  const double lo = smallest + damping, hi = largest + damping;
  return lo > 0 ? hi / lo : std::numeric_limits<double>::infinity();
}

SpectrumSummary spectrum(const CurvatureOperator& A, std::size_t exact_up_to, std::size_t steps, std::uint64_t seed) {
  SpectrumSummary s;
  if (A.dim() <= exact_up_to) {
    const Eigen e = dense_eigen(A);
    s.exact = true;
    s.smallest = e.values(0);
    s.largest = e.values(A.dim() - 1);
    for (auto v : e.values) s.negative += v < 0;
    return s;
  }
  const Lanczos l = lanczos(A, std::min(steps, A.dim()), seed);
  s.smallest = l.ritz_values(0);
  s.largest = l.ritz_values(l.steps - 1);
  return s;
}

}  // namespace inflab::influence
