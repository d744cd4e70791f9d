#include "influence/curvature.hpp"

#include <cmath>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "datasets/split.hpp"
#include "influence/kfac.hpp"

namespace inflab::influence {

Tensor softmax_rows(const Tensor& z, std::size_t n) {
  const std::size_t k = z.size() / n;
  Tensor P = Tensor::from_shape(shape_of(z));
  for (std::size_t i = 0; i < n; ++i) {
    const double* zi = z.data() + i * k;
    double* pi = P.data() + i * k;
    double m = zi[0], s = 0;
    for (std::size_t c = 1; c < k; ++c) m = std::max(m, zi[c]);
    for (std::size_t c = 0; c < k; ++c) s += pi[c] = std::exp(zi[c] - m);
    for (std::size_t c = 0; c < k; ++c) pi[c] /= s;
  }
  return P;
}

namespace {
// The Hessian of the per-example loss with respect to the model output z, applied to u
// (rows: examples): cross-entropy (diag p − p pᵀ) u; binary logistic σ(1−σ) u;
// mse (2/k) u.
Tensor loss_hessian_times(nn::LossKind loss, const Tensor& z, const Tensor& u, std::size_t n) {
  Tensor out = Tensor::from_shape(u.shape());
  const std::size_t k = z.size() / n;
  const std::size_t dirs = u.size() / z.size();
  const Tensor P = loss == nn::LossKind::CrossEntropy ? softmax_rows(z, n) : Tensor();
  for (std::size_t j = 0; j < dirs; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      const double* zi = z.data() + i * k;
      const double* ui = u.data() + j * z.size() + i * k;
      double* oi = out.data() + j * z.size() + i * k;
      if (loss == nn::LossKind::CrossEntropy) {
        const double* p = P.data() + i * k;
        double pu = 0;
        for (std::size_t c = 0; c < k; ++c) pu += p[c] * ui[c];
        for (std::size_t c = 0; c < k; ++c) oi[c] = p[c] * (ui[c] - pu);
      } else if (loss == nn::LossKind::BinaryLogistic) {
        const double sg = 1 / (1 + std::exp(-zi[0]));
        oi[0] = sg * (1 - sg) * ui[0];
      } else {
        for (std::size_t c = 0; c < k; ++c) oi[c] = 2.0 / static_cast<double>(k) * ui[c];
      }
    }
  return out;
}
// The model's outputs z(θ) on d, recorded for J v and Jᵀ w (d and m must outlive it).
ad::Recording output_recording(const nn::Model& m, const data::Dataset& d, const Tensor& theta) {
  return ad::Recording([&m, &d](ad::Var th) { return m.forward(th, th.tape->leaf(d.X, false)); }, theta);
}
}  // namespace

struct CurvatureOperator::Batch {
  data::Dataset data;
  double weight;                       // n_b / n
  std::unique_ptr<ad::Recording> rec;  // R_b (Hessian) or the outputs z (Gauss–Newton)
};

CurvatureOperator::CurvatureOperator(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                                     const CurvatureChoice& choice, std::size_t batch_size)
    : obj_(obj), train_(train), theta_(theta), kind_(choice.kind), p_(theta.size()) {
  const Curvature kind = choice.kind;
  obj.check_fits(train);
  if (p_ != obj.model().param_count())
    throw Error("curvature: θ has " + std::to_string(p_) + " values, the model has " +
                std::to_string(obj.model().param_count()) + " parameters");
  const std::size_t n = train.size();
  Tensor grad = zeros({p_});
  data::for_row_batches(train, batch_size, [&](std::size_t, const data::Dataset& part) {
    auto b = std::make_unique<Batch>();
    b->data = part;
    b->weight = static_cast<double>(part.size()) / static_cast<double>(n);
    ad::Recording r(obj.fn(b->data), theta);
    value_ += b->weight * r.scalar_value();
    const Tensor g = r.grad();
    for (std::size_t i = 0; i < p_; ++i) grad(i) += b->weight * g(i);
    if (factored(kind)) return;  // products come from the factors, not from recordings
    b->rec = std::make_unique<ad::Recording>(kind == Curvature::Hessian ? std::move(r) : output_recording(obj.model(), b->data, theta));
    batches_.push_back(std::move(b));
  });
  grad_norm_ = norm2(grad);
  if (factored(kind)) kfac_ = std::make_unique<Kfac>(obj, train, theta, choice);
}

CurvatureOperator::~CurvatureOperator() = default;
CurvatureOperator::CurvatureOperator(CurvatureOperator&&) noexcept = default;

Tensor CurvatureOperator::apply(const Tensor& v) const {
  const Shape sv = shape_of(v);
  const bool single = sv.size() == 1;
  if (!(single && sv[0] == p_) && !(sv.size() == 2 && sv[1] == p_))
    throw Error("curvature: direction of shape " + shape_str(sv) + " for p = " + std::to_string(p_));
  const std::size_t k = single ? 1 : sv[0];
  if (kfac_) {
    products_ += k;
    return kfac_->apply(v, obj_.weight_decay());
  }
  Tensor out = zeros(sv);
  for (const auto& b : batches_) {
    Tensor part;
    if (kind_ == Curvature::Hessian) {
      part = b->rec->hvp(v);
    } else {
      // G v = (1/n_b) Jᵀ ∇²_z ℓ (J v) + λ v over the batch
      Tensor V = v;
      if (single) V.reshape({std::size_t{1}, p_});
      const Tensor Jv = b->rec->jvp(V);  // [k, n_b, out...]
      const Tensor& z = b->rec->value();
      const std::size_t nb = b->data.size();
      const Tensor HJv = loss_hessian_times(obj_.loss(), z, Jv, nb);
      part = zeros({k, p_});
      for (std::size_t j = 0; j < k; ++j) {
        Tensor w = Tensor::from_shape(z.shape());
        std::copy(HJv.data() + j * z.size(), HJv.data() + (j + 1) * z.size(), w.data());
        const Tensor g = b->rec->vjp(w);
        for (std::size_t i = 0; i < p_; ++i)
          part(j, i) = g(i) / static_cast<double>(nb) + obj_.weight_decay() * V(j, i);
      }
      if (single) part.reshape({p_});
    }
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] += b->weight * part.data()[i];
  }
  products_ += k;
  return out;
}

Tensor CurvatureOperator::apply_sample(const Tensor& v, std::size_t batch, std::uint64_t seed) const {
  if (batch == 0 || batch >= train_.size() || kfac_) return apply(v);  // K-FAC: one factored matrix
  auto perm = data::permutation(train_.size(), seed);
  perm.resize(batch);
  const data::Dataset d = data::subset(train_, perm);
  products_ += v.dimension() == 1 ? 1 : v.shape(0);
  if (kind_ == Curvature::Hessian) return ad::Recording(obj_.fn(d), theta_).hvp(v);
  CurvatureOperator one(obj_, d, theta_, kind_, 0);
  return one.apply(v);
}

Tensor projected_gauss_newton(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const Tensor& P,
                              std::size_t batch) {
  const std::size_t n = train.size(), p = theta.size();
  if (P.dimension() != 2 || P.shape(1) != p)
    throw Error("projected_gauss_newton: projection of shape " + shape_str(shape_of(P)) + " for p = " + std::to_string(p));
  const std::size_t k = P.shape(0);
  Tensor out = zeros({k, k});
  data::for_row_batches(train, batch, [&](std::size_t, const data::Dataset& part) {
    ad::Recording rec = output_recording(obj.model(), part, theta);
    const Tensor U = rec.jvp(P);  // [k, n_b, out...]: J Pᵀ
    const Tensor HU = loss_hessian_times(obj.loss(), rec.value(), U, part.size());
    const std::size_t len = rec.value().size();
    blas::gemm(false, true, k, k, len, 1.0 / static_cast<double>(n), U.data(), HU.data(), 1.0, out.data());
  });
  Tensor PPt = zeros({k, k});
  blas::gemm(false, true, k, k, p, obj.weight_decay(), P.data(), P.data(), 0.0, PPt.data());
  axpy_inplace(out, 1.0, PPt);
  for (std::size_t i = 0; i < k; ++i)  // symmetrise the rounding
    for (std::size_t j = i + 1; j < k; ++j) out(i, j) = out(j, i) = 0.5 * (out(i, j) + out(j, i));
  return out;
}

Tensor dense_matrix(const CurvatureOperator& A, std::size_t block, const std::function<void(std::size_t)>& after_block) {
  const std::size_t p = A.dim();
  std::size_t done = 0;
  Tensor M = ad::dense_from_products(
      p,
      [&](const Tensor& E) {
        Tensor out = A.apply(E);
        done += E.shape(0);
        if (after_block) after_block(done);
        return out;
      },
      block);
  for (std::size_t i = 0; i < p; ++i)  // symmetrise the rounding
    for (std::size_t j = i + 1; j < p; ++j) M(i, j) = M(j, i) = 0.5 * (M(i, j) + M(j, i));
  return M;
}

}  // namespace inflab::influence
