#include "influence/trak.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "influence/curvature.hpp"
#include "influence/influence.hpp"
#include "nn/layers.hpp"

namespace inflab::influence {

Tensor random_projection(std::size_t k, std::size_t p, Projection kind, std::uint64_t seed) {
  if (k == 0 || k > p)
    throw Error("projection dimension " + std::to_string(k) + " must be between 1 and the parameter count p = " + std::to_string(p));
  Tensor P = ad::random_normal({k, p}, seed);
  if (kind == Projection::Gaussian) {
    for (auto& e : P) e /= std::sqrt(static_cast<double>(k));
    return P;
  }
  for (std::size_t r = 0; r < k; ++r) {  // modified Gram–Schmidt, twice for stability
    double* pr = P.data() + r * p;
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t q = 0; q < r; ++q) {
        const double* pq = P.data() + q * p;
        double d = 0;
        for (std::size_t i = 0; i < p; ++i) d += pr[i] * pq[i];
        for (std::size_t i = 0; i < p; ++i) pr[i] -= d * pq[i];
      }
    double s = 0;
    for (std::size_t i = 0; i < p; ++i) s += pr[i] * pr[i];
    s = std::sqrt(s);
    for (std::size_t i = 0; i < p; ++i) pr[i] /= s;
  }
  return P;
}

namespace {
// The largest activation one row produces (elements), where forward mode carries k tangents:
// the model's walk (nn::forward_leaves) on one row of zeros.
std::size_t largest_activation(const nn::Model& model) {
  Shape s{1};
  for (std::size_t e : model.input_shape()) s.push_back(e);
  ad::TapeScope scope;
  nn::ParamCursor cur(ad::constant(zeros({model.param_count()})));
  std::size_t most = numel(s);
  nn::forward_leaves(model.root(), ad::constant(zeros(s)), cur, [&](const nn::Module& m, ad::Var x, nn::ParamCursor& c) {
    ad::Var y = m.forward(x, c);
    most = std::max(most, y.value().size());
    return y;
  });
  return most;
}
}  // namespace

Tensor trak(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const std::vector<std::size_t>& rows,
            const std::vector<Tensor>& thetas, const TrakOptions& o) {
  check_damping(o.damping);
  if (thetas.empty()) throw Error("TRAK: no models given");
  if (rows.empty()) throw Error("TRAK: no test points given");
  const std::size_t n = train.size(), m = rows.size(), k = o.dim, p = thetas[0].size();
  // rows per forward-mode pass: k tangents of the largest activation, 4 Mi values (32 MiB) per tensor
  const std::size_t widest = largest_activation(obj.model());
  const std::size_t batch = std::max<std::size_t>(1, (std::size_t{1} << 22) / std::max<std::size_t>(1, k * widest));
  Tensor out = zeros({m, n});
  for (std::size_t mi = 0; mi < thetas.size(); ++mi) {
    const Tensor& th = thetas[mi];
    const Tensor P = random_projection(k, p, o.projection, o.seed + mi);
    const Tensor Phi = train_gradient_dots(obj, train, th, P, batch);  // [k, n]: φᵢ = P∇ℓ̃(zᵢ)
    Tensor GP = projected_gauss_newton(obj, train, th, P, batch);    // [k, k]
    for (std::size_t j = 0; j < m; ++j) {
      const Tensor g = test_loss_gradient(obj, test, {rows[j]}, th);
      Tensor phi_t = zeros({k});
      blas::gemm(false, false, k, 1, p, 1.0, P.data(), g.data(), 0.0, phi_t.data());
      Tensor x;
      if (!blas::cholesky_solve(GP, o.damping, phi_t, x))
        throw Error("TRAK: the projected Gauss–Newton matrix P G Pᵀ + μI of model " + std::to_string(mi) +
                    " is not positive definite; add damping or weight decay");
      // out[j, :] += (1/(M n)) xᵀ Φ
      blas::gemm(false, false, 1, n, k, 1.0 / static_cast<double>(n * thetas.size()), x.data(), Phi.data(), 1.0, out.data() + j * n);
    }
  }
  return out;
}


}  // namespace inflab::influence
