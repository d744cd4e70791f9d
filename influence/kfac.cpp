#include "influence/kfac.hpp"

#include <cmath>
#include <random>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops/im2col.hpp"
#include "datasets/split.hpp"
#include "nn/layers.hpp"
#include "util/random.hpp"

namespace inflab::influence {

namespace {

// A Linear or Conv2d layer met on the forward pass: its input and a zero "probe" added to
// its output, whose adjoint after a reverse sweep is ∂(seed·z)/∂(layer output).
struct Site {
  const nn::Module* layer;
  std::size_t offset;
  ad::Var input, probe;
};

// The model's forward pass (nn::forward_leaves) with probes on the Linear and Conv2d layers.
ad::Var walk(const nn::Module& root, ad::Var x, nn::ParamCursor& cur, std::vector<Site>& sites) {
  return nn::forward_leaves(root, x, cur, [&](const nn::Module& m, ad::Var in, nn::ParamCursor& c) {
    const std::size_t before = c.used();
    ad::Var y = m.forward(in, c);
    if (dynamic_cast<const nn::Linear*>(&m) || dynamic_cast<const nn::Conv2d*>(&m)) {
      ad::Var probe = ad::variable(zeros(y.shape()));
      sites.push_back({&m, before, in, probe});
      return ad::add(y, probe);
    }
    if (c.used() != before) throw Error("K-FAC: a " + m.kind() + " layer has parameters; K-FAC covers Linear and Conv2d layers only");
    return y;
  });
}

// Output cotangents w [nb, k] whose Σ_c w_c w_cᵀ is, per row, ∇²_z ℓ (expected), or the
// gradient ∇_z ℓ at a label drawn from the model (sampled) or the true one (empirical).
// Sampled labels: one generator per row (seeded by the row's index in the training set), so
// the draws do not depend on the row batches and EK-FAC's second pass replays the first's.
std::vector<Tensor> output_seeds(nn::LossKind loss, const Tensor& z, const data::Dataset& d, FisherLabels mode,
                                 std::uint64_t seed, std::size_t first_row) {
  const std::size_t nb = d.size(), k = z.size() / nb;
  std::vector<Tensor> seeds;
  auto fresh = [&] { return zeros(shape_of(z)); };
  auto row_rng = [&](std::size_t i) { return std::mt19937_64(seed * 0x9E3779B97F4A7C15ULL + first_row + i); };
  if (loss == nn::LossKind::CrossEntropy) {
    const Tensor P = softmax_rows(z, nb);
    if (mode == FisherLabels::Expected) {
      // diag p − p pᵀ = Σ_c p_c (p − e_c)(p − e_c)ᵀ
      for (std::size_t c = 0; c < k; ++c) {
        Tensor w = fresh();
        for (std::size_t i = 0; i < nb; ++i) {
          const double* p = P.data() + i * k;
          const double r = std::sqrt(p[c]);
          for (std::size_t j = 0; j < k; ++j) w.data()[i * k + j] = r * (p[j] - (j == c ? 1.0 : 0.0));
        }
        seeds.push_back(std::move(w));
      }
    } else {
      Tensor w = fresh();
      for (std::size_t i = 0; i < nb; ++i) {
        const double* p = P.data() + i * k;
        std::size_t y = d.y[i];
        if (mode == FisherLabels::Sampled) {
          std::mt19937_64 rng = row_rng(i);
          double u = util::uniform(rng), acc = 0;
          y = k - 1;
          for (std::size_t c = 0; c < k; ++c)
            if ((acc += p[c]) > u) { y = c; break; }
        }
        for (std::size_t j = 0; j < k; ++j) w.data()[i * k + j] = p[j] - (j == y ? 1.0 : 0.0);
      }
      seeds.push_back(std::move(w));
    }
  } else if (loss == nn::LossKind::BinaryLogistic) {
    Tensor w = fresh();
    for (std::size_t i = 0; i < nb; ++i) {
      const double s = 1 / (1 + std::exp(-z.data()[i]));
      if (mode == FisherLabels::Expected) w.data()[i] = std::sqrt(s * (1 - s));
      else if (mode == FisherLabels::Sampled) {
        std::mt19937_64 rng = row_rng(i);
        w.data()[i] = s - (util::uniform(rng) < s ? 1.0 : 0.0);
      } else {
        w.data()[i] = s - static_cast<double>(d.y[i]);
      }
    }
    seeds.push_back(std::move(w));
  } else {  // mse, ℓ = (1/k) Σ (z − t)²: ∇²_z ℓ = (2/k) I
    const double r = std::sqrt(2.0 / static_cast<double>(k));
    if (mode == FisherLabels::Expected) {
      for (std::size_t c = 0; c < k; ++c) {
        Tensor w = fresh();
        for (std::size_t i = 0; i < nb; ++i) w.data()[i * k + c] = r;
        seeds.push_back(std::move(w));
      }
    } else {
      Tensor w = fresh();
      for (std::size_t i = 0; i < nb; ++i) {
        std::mt19937_64 rng = row_rng(i);
        for (std::size_t j = i * k; j < (i + 1) * k; ++j)
          w.data()[j] = mode == FisherLabels::Sampled ? r * util::normal(rng)  // (2/k)(z − t̂), t̂ ~ N(z, k/2)
                                                      : 2.0 / static_cast<double>(k) * (z.data()[j] - d.targets.data()[j]);
      }
      seeds.push_back(std::move(w));
    }
  }
  return seeds;
}

// Rows of a layer's inputs: [nb·T, d] with the bias column of ones; a convolution's are its
// patches (the conv op's im2col, transposed: one row per output position).
Tensor input_rows(const KfacBlock& b, const nn::Module& m, const Tensor& x) {
  const std::size_t nb = x.shape(0), T = b.positions, d = b.d();
  Tensor rows = Tensor::from_shape({nb * T, d});
  if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&m)) {
    const std::size_t C = x.shape(1), H = x.shape(2), W = x.shape(3), k = conv->kernel;
    std::vector<double> cols(b.in * T);
    for (std::size_t i = 0; i < nb; ++i) {
      ad::detail::im2col(x.data() + i * C * H * W, C, H, W, k, k, conv->stride, conv->padding, cols.data());
      for (std::size_t t = 0; t < T; ++t) {
        double* row = rows.data() + (i * T + t) * d;
        for (std::size_t r = 0; r < b.in; ++r) row[r] = cols[r * T + t];
        if (b.bias) row[b.in] = 1.0;
      }
    }
  } else {
    for (std::size_t i = 0; i < nb; ++i) {
      std::copy(x.data() + i * b.in, x.data() + (i + 1) * b.in, rows.data() + i * d);
      if (b.bias) rows.data()[i * d + b.in] = 1.0;
    }
  }
  return rows;
}

// Output gradients [nb·T, out] from a probe's adjoint [nb, out] or [nb, out, Ho, Wo].
Tensor gradient_rows(const KfacBlock& b, const Tensor& g) {
  const std::size_t nb = g.shape(0), T = b.positions;
  Tensor rows = Tensor::from_shape({nb * T, b.out});
  for (std::size_t i = 0; i < nb; ++i)
    for (std::size_t o = 0; o < b.out; ++o)
      for (std::size_t t = 0; t < T; ++t) rows.data()[(i * T + t) * b.out + o] = g.data()[(i * b.out + o) * T + t];
  return rows;
}

void symmetric_eigen_into(const Tensor& M, Tensor& vectors, Tensor& values) {
  Eigen e = symmetric_eigen(M);
  vectors = std::move(e.vectors);
  values = std::move(e.values);
}

}  // namespace

Kfac::Kfac(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const CurvatureChoice& c,
           std::size_t batch)
    : p_(theta.size()), corrected_(c.kind == Curvature::Ekfac) {
  if (!factored(c.kind)) throw Error("Kfac: the curvature is not kfac or ekfac");
  obj.check_fits(train);
  const std::size_t n = train.size();
  const nn::Model& model = obj.model();
  std::vector<const nn::Module*> layers;
  // Two passes over the data: the factors, then (EK-FAC) the eigenvalues in their bases.
  for (int pass = 0; pass < (corrected_ ? 2 : 1); ++pass) {
    data::for_row_batches(train, batch, [&](std::size_t start, const data::Dataset& part) {
      const std::size_t nb = part.size();
      ad::TapeScope scope;
      nn::ParamCursor cur(ad::constant(theta));
      std::vector<Site> sites;
      const ad::Var z = walk(model.root(), ad::constant(part.X), cur, sites);
      if (blocks_.empty()) {
        if (cur.used() != p_) throw Error("K-FAC: the forward pass used " + std::to_string(cur.used()) + " of " + std::to_string(p_) + " parameters");
        std::size_t covered = 0;
        for (const Site& s : sites) {
          KfacBlock b;
          const Shape ys = s.probe.shape();
          b.out = ys[1];
          b.positions = ys.size() == 4 ? ys[2] * ys[3] : 1;
          const Shape xs = s.input.shape();
          if (const auto* conv = dynamic_cast<const nn::Conv2d*>(s.layer)) b.in = xs[1] * conv->kernel * conv->kernel, b.bias = conv->bias;
          else b.in = xs[1], b.bias = dynamic_cast<const nn::Linear*>(s.layer)->bias;
          b.weight_offset = s.offset;
          b.bias_offset = s.offset + b.out * b.in;
          for (const auto& ps : model.params())
            if (ps.offset == s.offset) b.name = ps.name;
          b.A = zeros({b.d(), b.d()});
          b.S = zeros({b.out, b.out});
          covered += b.out * b.d();
          blocks_.push_back(std::move(b));
          layers.push_back(s.layer);
        }
        if (covered != p_)
          throw Error("K-FAC: Linear and Conv2d layers hold " + std::to_string(covered) + " of the model's " + std::to_string(p_) +
                      " parameters");
      }
      std::vector<Tensor> X(sites.size());  // [nb·T, d]; pass 2: times Q_A
      for (std::size_t l = 0; l < sites.size(); ++l) {
        KfacBlock& b = blocks_[l];
        X[l] = input_rows(b, *layers[l], sites[l].input.value());
        const std::size_t m = nb * b.positions, d = b.d();
        if (pass == 0) {
          blas::gemm(true, false, d, d, m, 1.0 / static_cast<double>(n), X[l].data(), X[l].data(), 1.0, b.A.data());
        } else {
          Tensor xq = Tensor::from_shape({m, d});
          blas::gemm(false, false, m, d, d, 1.0, X[l].data(), b.QA.data(), 0.0, xq.data());
          X[l] = std::move(xq);
        }
      }
      for (const Tensor& w : output_seeds(obj.loss(), z.value(), part, c.labels, c.seed, start)) {
        scope.tape().backward(z, ad::Dual(w));
        for (std::size_t l = 0; l < sites.size(); ++l) {
          KfacBlock& b = blocks_[l];
          const std::size_t T = b.positions, m = nb * T, d = b.d();
          const Tensor g = gradient_rows(b, scope.tape().adjoint(sites[l].probe).v);  // [m, out]
          if (pass == 0) {
            blas::gemm(true, false, b.out, b.out, m, 1.0 / static_cast<double>(n * T), g.data(), g.data(), 1.0, b.S.data());
            continue;
          }
          Tensor gq = Tensor::from_shape({m, b.out});
          blas::gemm(false, false, m, b.out, b.out, 1.0, g.data(), b.QS.data(), 0.0, gq.data());
          // Λ += (Q_Sᵀ DWᵢ Q_A)² with DWᵢ = Σ_t g_t x̃_tᵀ; for T = 1, (ĝ x̂ᵀ)² = ĝ² (x̂²)ᵀ for all rows in one GEMM
          if (T == 1) {
            Tensor g2 = gq, x2 = X[l];
            for (auto& e : g2) e *= e;
            for (auto& e : x2) e *= e;
            blas::gemm(true, false, b.out, d, m, 1.0 / static_cast<double>(n), g2.data(), x2.data(), 1.0, b.eigen.data());
          } else {
            Tensor M = Tensor::from_shape({b.out, d});
            for (std::size_t i = 0; i < nb; ++i) {
              blas::gemm(true, false, b.out, d, T, 1.0, gq.data() + i * T * b.out, X[l].data() + i * T * d, 0.0, M.data());
              for (std::size_t e = 0; e < M.size(); ++e) b.eigen.data()[e] += M.data()[e] * M.data()[e] / static_cast<double>(n);
            }
          }
        }
      }
    });
    // the bases (and K-FAC's eigenvalues s_o a_i, clipped at 0: both factors are PSD up to rounding)
    if (pass == 0)
      for (KfacBlock& b : blocks_) {
        if (!all_finite(b.A) || !all_finite(b.S))
          throw Error("K-FAC: the factors of layer " + b.name + " are not finite (non-finite θ or data, or overflowing outputs)");
        Tensor a, s;
        symmetric_eigen_into(b.A, b.QA, a);
        symmetric_eigen_into(b.S, b.QS, s);
        b.eigen = zeros({b.out, b.d()});
        if (!corrected_)
          for (std::size_t o = 0; o < b.out; ++o)
            for (std::size_t i = 0; i < b.d(); ++i) b.eigen(o, i) = std::max(0.0, s(o)) * std::max(0.0, a(i));
      }
    else
      for (const KfacBlock& b : blocks_)
        if (!all_finite(b.eigen)) throw Error("EK-FAC: the re-fitted eigenvalues of layer " + b.name + " are not finite");
  }
}

Tensor Kfac::transform(const Tensor& v, double shift, bool inverse) const {
  const bool single = v.dimension() == 1;
  if ((single && v.size() != p_) || (!single && (v.dimension() != 2 || v.shape(1) != p_)))
    throw Error("K-FAC: direction of shape " + shape_str(shape_of(v)) + " for p = " + std::to_string(p_));
  const std::size_t k = single ? 1 : v.shape(0);
  Tensor out = Tensor::from_shape(shape_of(v));
  for (const KfacBlock& b : blocks_) {
    const std::size_t d = b.d();
    Tensor V = Tensor::from_shape({b.out, d}), M = Tensor::from_shape({b.out, d}), Y = Tensor::from_shape({b.out, d});
    for (std::size_t j = 0; j < k; ++j) {
      const double* vj = v.data() + j * p_;
      double* oj = out.data() + j * p_;
      for (std::size_t o = 0; o < b.out; ++o) {
        std::copy(vj + b.weight_offset + o * b.in, vj + b.weight_offset + (o + 1) * b.in, V.data() + o * d);
        if (b.bias) V(o, b.in) = vj[b.bias_offset + o];
      }
      // Y = Q_S ((Q_Sᵀ V Q_A) ⊙ f(Λ)) Q_Aᵀ: (Q_S ⊗ Q_A) f(Λ) (Q_S ⊗ Q_A)ᵀ vec(V) in the row-major layout of W
      blas::gemm(true, false, b.out, d, b.out, 1.0, b.QS.data(), V.data(), 0.0, Y.data());
      blas::gemm(false, false, b.out, d, d, 1.0, Y.data(), b.QA.data(), 0.0, M.data());
      for (std::size_t e = 0; e < M.size(); ++e) {
        const double lam = b.eigen.data()[e] + shift;
        M.data()[e] = inverse ? M.data()[e] / lam : M.data()[e] * lam;
      }
      blas::gemm(false, false, b.out, d, b.out, 1.0, b.QS.data(), M.data(), 0.0, Y.data());
      blas::gemm(false, true, b.out, d, d, 1.0, Y.data(), b.QA.data(), 0.0, V.data());
      for (std::size_t o = 0; o < b.out; ++o) {
        std::copy(V.data() + o * d, V.data() + o * d + b.in, oj + b.weight_offset + o * b.in);
        if (b.bias) oj[b.bias_offset + o] = V(o, b.in);
      }
    }
  }
  return out;
}

Tensor Kfac::apply(const Tensor& v, double shift) const { return transform(v, shift, false); }

Tensor Kfac::solve(const Tensor& v, double shift) const {
  double lo = INFINITY, hi = 0;
  for (const KfacBlock& b : blocks_)
    for (double e : b.eigen) {
      if (!std::isfinite(e))  // std::min/max would skip a NaN
        throw Error(std::string(corrected_ ? "EK-FAC" : "K-FAC") + ": layer " + b.name + " has a non-finite eigenvalue");
      lo = std::min(lo, e + shift), hi = std::max(hi, e + shift);
    }
  if (!(lo > 1e-12 * hi))  // zero up to rounding: the factors of a few rows are rank-deficient
    throw Error(std::string(corrected_ ? "EK-FAC" : "K-FAC") + ": the curvature + (λ + μ)I is singular (smallest eigenvalue " +
                std::to_string(lo) + ", largest " + std::to_string(hi) + ", λ + μ = " + std::to_string(shift) +
                "); add damping (--damping) or weight decay");
  return transform(v, shift, true);
}

}  // namespace inflab::influence
