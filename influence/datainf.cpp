#include "influence/datainf.hpp"

#include "autodiff/blas.hpp"
#include "influence/influence.hpp"
#include "util/format.hpp"

namespace inflab::influence {

Tensor datainf(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const std::vector<std::size_t>& rows,
               const Tensor& theta, double mu) {
  if (!(mu > 0) || !std::isfinite(mu))
    throw Error("datainf: damping μ = " + significant(mu) + " must be > 0 (it inverts μI + gⱼgⱼᵀ term by term)");
  if (rows.empty()) throw Error("datainf: no test points given");
  const std::size_t n = train.size(), p = theta.size(), m = rows.size();
  Tensor G = zeros({n, p}), V = zeros({m, p});
  for (std::size_t j = 0; j < n; ++j) {
    const Tensor g = per_example_gradient(obj, train, theta, j);
    std::copy(g.data(), g.data() + p, G.data() + j * p);
  }
  for (std::size_t t = 0; t < m; ++t) {
    const Tensor v = test_loss_gradient(obj, test, {rows[t]}, theta);
    std::copy(v.data(), v.data() + p, V.data() + t * p);
  }
  Tensor K = zeros({n, n}), A = zeros({m, n});  // K = G Gᵀ, A = V Gᵀ: every dot product needed
  blas::gemm(false, true, n, n, p, 1.0, G.data(), G.data(), 0.0, K.data());
  blas::gemm(false, true, m, n, p, 1.0, V.data(), G.data(), 0.0, A.data());
  // W(t, j) = (vᵀgⱼ)/(μ + ‖gⱼ‖²); Δ̂ = (A − W K / n) / (nμ)
  Tensor W = A;
  for (std::size_t t = 0; t < m; ++t)
    for (std::size_t j = 0; j < n; ++j) W(t, j) /= mu + K(j, j);
  const double nn = static_cast<double>(n);
  Tensor out = A;
  blas::gemm(false, false, m, n, n, -1.0 / nn, W.data(), K.data(), 1.0, out.data());
  for (auto& e : out) e /= nn * mu;
  return out;
}

}  // namespace inflab::influence
