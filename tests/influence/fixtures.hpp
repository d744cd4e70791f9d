// Shared small problems: L2 logistic regression on two Iris classes (convex, closed-form
// Hessian) and a tanh MLP on Iris (indefinite Hessian at initialisation).
#pragma once
#include <cmath>

#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "nn/builders.hpp"
#include "nn/trainer.hpp"
#include "tests/test_util.hpp"

namespace inflab::test {

struct LogReg {
  data::Dataset train, test;
  double lambda = 0.01;
  nn::Objective obj{nn::logistic_regression(4), nn::LossKind::BinaryLogistic, lambda};
  Tensor theta;
  LogReg() {
    data::Dataset d = data::select_classes(data::load_iris(), {1, 2});  // versicolor vs virginica: overlapping
    const data::TrainTest tt = data::stratified_split(d, 0.2, 3);
    train = tt.train;
    test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train);
    s.apply(test);
    nn::TrainOptions o;
    o.optimizer = "newton";
    o.grad_tol = 1e-12;
    o.progress = false;
    theta = nn::train(obj, train, obj.model().init(1), o).theta;
  }
  // H = Xₐᵀ diag(σ(1−σ)) Xₐ / n + λI with Xₐ = [X, 1] (weight then bias, as in θ)
  Tensor closed_form_hessian() const {
    const std::size_t n = train.size(), p = 5;
    Tensor H = zeros({p, p});
    for (std::size_t i = 0; i < n; ++i) {
      double xa[5] = {train.X(i, 0), train.X(i, 1), train.X(i, 2), train.X(i, 3), 1.0};
      double z = theta(4);
      for (std::size_t a = 0; a < 4; ++a) z += theta(a) * xa[a];
      const double s = 1 / (1 + std::exp(-z)), w = s * (1 - s) / static_cast<double>(n);
      for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) H(a, b) += w * xa[a] * xa[b];
    }
    for (std::size_t a = 0; a < p; ++a) H(a, a) += lambda;
    return H;
  }
};

// Solves the small dense system H x = b by Gaussian elimination with partial pivoting.
inline Tensor dense_solve(Tensor H, Tensor b) {
  const std::size_t p = b.size();
  for (std::size_t c = 0; c < p; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < p; ++r)
      if (std::fabs(H(r, c)) > std::fabs(H(piv, c))) piv = r;
    for (std::size_t j = 0; j < p; ++j) std::swap(H(c, j), H(piv, j));
    std::swap(b(c), b(piv));
    for (std::size_t r = c + 1; r < p; ++r) {
      const double f = H(r, c) / H(c, c);
      for (std::size_t j = c; j < p; ++j) H(r, j) -= f * H(c, j);
      b(r) -= f * b(c);
    }
  }
  Tensor x = zeros({p});
  for (std::size_t r = p; r-- > 0;) {
    double s = b(r);
    for (std::size_t j = r + 1; j < p; ++j) s -= H(r, j) * x(j);
    x(r) = s / H(r, r);
  }
  return x;
}

inline double pearson(const Tensor& a, const Tensor& b) {
  const std::size_t n = a.size();
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a(i) / n, mb += b(i) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (a(i) - ma) * (b(i) - mb);
    saa += (a(i) - ma) * (a(i) - ma);
    sbb += (b(i) - mb) * (b(i) - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

}  // namespace inflab::test
