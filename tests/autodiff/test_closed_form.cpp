// Hessians that have closed forms, to 1e-10 relative (Frobenius).
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"

using namespace inflab;
using namespace inflab::ad;

namespace {
double rel_fro(const Tensor& a, const Tensor& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += std::pow(a.data()[i] - b.data()[i], 2);
    n += std::pow(b.data()[i], 2);
  }
  return std::sqrt(d / n);
}
}  // namespace

TEST_CASE("L2 binary logistic regression: H = Xᵀ diag(σ(1−σ)) X / n + λI") {
  const std::size_t n = 40, d = 5;
  const double lambda = 0.03;
  const Tensor X = random_normal({n, d}, 5);
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = X(i, 0) + 0.5 * X(i, 1) > 0 ? 1.0 : 0.0;
  const Tensor theta = random_normal({d}, 6);
  Fn R = [&](Var w) {
    Var z = matmul(w.tape->leaf(X, false), reshape(w, {d, 1}));
    return add(mean(binary_logistic(z, y)), mul_scalar(sq_norm(w), lambda / 2));
  };
  const Tensor H = hessian(R, theta);
  Tensor Hc = zeros({d, d});
  for (std::size_t i = 0; i < n; ++i) {
    double z = 0;
    for (std::size_t a = 0; a < d; ++a) z += X(i, a) * theta(a);
    const double s = 1 / (1 + std::exp(-z)), wgt = s * (1 - s) / n;
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) Hc(a, b) += wgt * X(i, a) * X(i, b);
  }
  for (std::size_t a = 0; a < d; ++a) Hc(a, a) += lambda;
  CHECK(rel_fro(H, Hc) < 1e-10);
}

TEST_CASE("softmax regression: H = (1/n) Σ (diag pₙ − pₙpₙᵀ) ⊗ xₙxₙᵀ + λI, with bias") {
  const std::size_t n = 30, d = 4, C = 3;
  const double lambda = 0.01;
  const Tensor X = random_normal({n, d}, 8);
  std::vector<std::size_t> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = i % C;
  // θ = [W (C×d, row-major), b (C)]; logits = X Wᵀ + b. Augment x with a 1 for the bias.
  const std::size_t da = d + 1, p = C * d + C;
  const Tensor theta = random_normal({p}, 9);
  Fn R = [&](Var th) {
    Var W = reshape(slice(th, 0, C * d), {C, d});
    Var b = slice(th, C * d, p);
    Var z = add(matmul(th.tape->leaf(X, false), transpose(W)), b);
    return add(cross_entropy_mean(z, y), mul_scalar(sq_norm(th), lambda / 2));
  };
  const Tensor H = hessian(R, theta);
  // index of parameter (class c, augmented feature a) in θ
  auto idx = [&](std::size_t c, std::size_t a) { return a < d ? c * d + a : C * d + c; };
  Tensor Hc = zeros({p, p});
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> z(C, 0), pr(C), xa(da, 1.0);
    for (std::size_t a = 0; a < d; ++a) xa[a] = X(i, a);
    for (std::size_t c = 0; c < C; ++c) {
      z[c] = theta(C * d + c);
      for (std::size_t a = 0; a < d; ++a) z[c] += theta(c * d + a) * X(i, a);
    }
    double m = *std::max_element(z.begin(), z.end()), s = 0;
    for (std::size_t c = 0; c < C; ++c) s += pr[c] = std::exp(z[c] - m);
    for (auto& e : pr) e /= s;
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t c2 = 0; c2 < C; ++c2) {
        const double blk = ((c == c2 ? pr[c] : 0.0) - pr[c] * pr[c2]) / n;
        for (std::size_t a = 0; a < da; ++a)
          for (std::size_t b = 0; b < da; ++b) Hc(idx(c, a), idx(c2, b)) += blk * xa[a] * xa[b];
      }
  }
  for (std::size_t i = 0; i < p; ++i) Hc(i, i) += lambda;
  CHECK(rel_fro(H, Hc) < 1e-10);
}
