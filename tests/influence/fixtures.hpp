// Shared small problems: L2 logistic regression on two Iris classes (convex, closed-form
// Hessian) and a tanh MLP on Iris (indefinite Hessian at initialisation).
#pragma once
#include <cmath>

#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"
#include "nn/builders.hpp"
#include "influence/influence.hpp"
#include "experiments/retrain.hpp"
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
    o.optimizer = nn::Optimizer::Newton;
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

// L2 logistic regression on a larger, seeded problem: two Gaussian blobs in R¹⁰ (centres 2
// apart, unit spread; overlapping), 400 training and 100 test rows, λ = 0.01, L-BFGS to
// ‖∇R‖ < 1e-10.
struct Blobs {
  data::Dataset train, test;
  nn::Objective obj{nn::logistic_regression(10), nn::LossKind::BinaryLogistic, 0.01};
  Tensor theta;
  Blobs() {
    const data::TrainTest tt = data::stratified_split(data::blobs(250, 2, 10, 2.0, 1.0, 5), 0.2, 3);
    train = tt.train;
    test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train);
    s.apply(test);
    theta = nn::train(obj, train, obj.model().init(1), lbfgs_options()).theta;
  }
  static nn::TrainOptions lbfgs_options() {
    nn::TrainOptions o;
    o.optimizer = nn::Optimizer::Lbfgs;
    o.grad_tol = 1e-10;
    o.max_steps = 5000;
    o.progress = false;
    return o;
  }
};

// The exact solver, and L-BFGS retraining to 1e-10 (at most 5000 steps), as the group tests use them.
inline influence::SolverChoice exact_solver() {
  influence::SolverChoice c;
  c.method = influence::Method::Exact;
  return c;
}
inline experiments::RetrainProtocol lbfgs_retraining() {
  experiments::RetrainProtocol p;
  p.grad_tol = 1e-10;
  p.max_steps = 5000;
  return p;
}

using influence::dense_solve;

// The test row with the largest loss at θ (the clearest signal for influence tests).
inline std::size_t highest_loss_row(const nn::Objective& obj, const data::Dataset& test, const Tensor& theta,
                                    double* loss = nullptr) {
  std::size_t t = 0;
  double worst = -1;
  for (std::size_t i = 0; i < test.size(); ++i) {
    double l = 0;
    influence::test_loss_gradient(obj, test, {i}, theta, &l);
    if (l > worst) worst = l, t = i;
  }
  if (loss) *loss = worst;
  return t;
}

}  // namespace inflab::test
