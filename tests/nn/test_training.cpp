// Optimizers and the trainer: stationary points to 1e-8, closed-form Hessians at the
// optimum, accuracy on synthetic tasks, and the errors for bad settings and divergence.
#include <doctest/doctest.h>

#include <cstdio>

#include <cmath>

#include <xtensor-blas/xlinalg.hpp>

#include "tests/test_util.hpp"
#include "autodiff/check.hpp"
#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"
#include "nn/builders.hpp"
#include "nn/choices.hpp"
#include "nn/trainer.hpp"

using namespace inflab;
using inflab::test::error_of;
using namespace inflab::nn;

namespace {
data::Dataset iris_std() {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  return d;
}
TrainOptions quiet(const std::string& optimizer) {
  TrainOptions o;
  o.optimizer = optimizers().parse(optimizer);
  o.progress = false;
  return o;
}
}  // namespace

TEST_CASE("softmax regression on Iris: L-BFGS and Newton reach ‖∇R‖ < 1e-8 at the same θ̂") {
  const data::Dataset d = iris_std();
  const Objective obj(softmax_regression(4, 3), LossKind::CrossEntropy, 1e-2);
  const TrainResult a = train(obj, d, obj.model().init(1), quiet("lbfgs"));
  const TrainResult b = train(obj, d, obj.model().init(2), quiet("newton"));
  CHECK(a.converged);
  CHECK(b.converged);
  CHECK(a.grad_norm < 1e-8);
  CHECK(b.grad_norm < 1e-8);
  CHECK(norm2(ad::value_and_grad(obj.fn(d), a.theta).grad) < 1e-8);  // independently recomputed
  double diff = 0;
  for (std::size_t i = 0; i < a.theta.size(); ++i) diff = std::max(diff, std::fabs(a.theta(i) - b.theta(i)));
  CHECK(diff < 1e-6);  // strongly convex: one minimiser
  CHECK(obj.accuracy(a.theta, d) > 0.95);
}

TEST_CASE("softmax regression Hessian at the optimum is positive definite and equals the closed form") {
  const data::Dataset d = iris_std();
  const double lambda = 1e-2;
  const Objective obj(softmax_regression(4, 3), LossKind::CrossEntropy, lambda);
  const Tensor th = train(obj, d, obj.model().init(1), quiet("lbfgs")).theta;
  const Tensor H = ad::hessian(obj.fn(d), th);
  const std::size_t C = 3, D = 4, n = d.size(), p = C * D + C;
  auto idx = [&](std::size_t c, std::size_t a) { return a < D ? c * D + a : C * D + c; };  // 0.weight [3,4], 0.bias [3]
  Tensor Hc = zeros({p, p});
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> z(C), pr(C), xa(D + 1, 1.0);
    for (std::size_t a = 0; a < D; ++a) xa[a] = d.X(i, a);
    double m = -1e300, s = 0;
    for (std::size_t c = 0; c < C; ++c) {
      z[c] = th(C * D + c);
      for (std::size_t a = 0; a < D; ++a) z[c] += th(c * D + a) * xa[a];
      m = std::max(m, z[c]);
    }
    for (std::size_t c = 0; c < C; ++c) s += pr[c] = std::exp(z[c] - m);
    for (auto& e : pr) e /= s;
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t c2 = 0; c2 < C; ++c2)
        for (std::size_t a = 0; a <= D; ++a)
          for (std::size_t b = 0; b <= D; ++b)
            Hc(idx(c, a), idx(c2, b)) += ((c == c2 ? pr[c] : 0.0) - pr[c] * pr[c2]) * xa[a] * xa[b] / static_cast<double>(n);
  }
  for (std::size_t i = 0; i < p; ++i) Hc(i, i) += lambda;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < p * p; ++i) num += std::pow(H.data()[i] - Hc.data()[i], 2), den += std::pow(Hc.data()[i], 2);
  CHECK(std::sqrt(num / den) < 1e-10);
  const xt::xarray<double> Hs = H;
  const auto eig = xt::linalg::eigh(Hs);
  CHECK(std::get<0>(eig)(0) >= lambda - 1e-10);  // loss Hessian ⪰ 0, plus λI
}

TEST_CASE("an MLP reaches ≥ 95% test accuracy on a seeded non-linear 3-class problem") {
  data::Dataset d = data::blobs(100, 6, 2, 3.0, 0.45, 7);  // 6 blobs on a circle…
  for (auto& y : d.y) y %= 3;                               // …opposite ones share a class
  d.class_names.resize(3);
  const data::TrainTest tt = data::stratified_split(d, 0.3, 1);
  const Objective obj(mlp(2, 2, 32, Activation::Tanh, 3), LossKind::CrossEntropy, 1e-4);
  TrainOptions o = quiet("adam");
  o.lr = 0.01;
  o.epochs = 60;
  o.batch_size = 32;
  o.seed = 3;
  const TrainResult r = train(obj, tt.train, obj.model().init(5), o);
  // a linear model cannot do it
  const Objective lin(softmax_regression(2, 3), LossKind::CrossEntropy, 1e-4);
  const TrainResult rl = train(lin, tt.train, lin.model().init(5), quiet("lbfgs"));
  CHECK(lin.accuracy(rl.theta, tt.test) < 0.7);
  CHECK(obj.accuracy(r.theta, tt.test) >= 0.95);
  CHECK(r.history.size() == 60);
  CHECK(r.history.back().loss < r.history.front().loss);
}

TEST_CASE("the small CNN learns the synthetic bar-image task well above chance (25%)") {
  const data::Dataset d = data::bar_images(120, 12, 0.3, 11);
  const data::TrainTest tt = data::stratified_split(d, 0.25, 2);
  const Objective obj(small_cnn({1, 12, 12}, 4), LossKind::CrossEntropy, 0);
  TrainOptions o = quiet("adam");
  o.lr = 3e-3;
  o.epochs = 12;
  o.batch_size = 32;
  const TrainResult r = train(obj, tt.train, obj.model().init(1), o);
  CHECK(obj.accuracy(r.theta, tt.test) >= 0.8);
}

TEST_CASE("trainer: seeded runs repeat exactly, warm start, callback, schedules, SGD variants, grad_tol") {
  const data::Dataset d = iris_std();
  const Objective obj(mlp(4, 1, 8, Activation::Tanh, 3), LossKind::CrossEntropy, 1e-3);
  TrainOptions o = quiet("sgd");
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  o.epochs = 5;
  o.batch_size = 16;
  o.seed = 9;
  const TrainResult a = train(obj, d, obj.model().init(1), o), b = train(obj, d, obj.model().init(1), o);
  CHECK(norm2(a.theta - b.theta) == 0.0);
  CHECK(a.steps == 5 * 10);
  // without the per-epoch evaluation: the same steps, the same θ, no history, NaN loss
  TrainOptions fast = o;
  fast.evaluate_epochs = false;
  const TrainResult e = train(obj, d, obj.model().init(1), fast);
  CHECK(norm2(e.theta - a.theta) == 0.0);
  CHECK(e.steps == a.steps);
  CHECK(e.history.empty());
  CHECK(std::isnan(e.loss));
  // warm start: training starts at the θ given — one epoch from a.theta ends near a's loss,
  // far below where one epoch from the initialisation ends
  o.epochs = 1;
  const TrainResult c = train(obj, d, a.theta, o), cold = train(obj, d, obj.model().init(1), o);
  CHECK(std::fabs(c.loss - a.loss) < 0.1 * (cold.loss - a.loss));
  // callback stops after epoch 1
  o.epochs = 10;
  o.callback = [](const EpochStats& s) { return s.epoch < 1; };
  CHECK(train(obj, d, obj.model().init(1), o).history.size() == 2);
  // and stops L-BFGS after its third iteration
  TrainOptions lb = quiet("lbfgs");
  lb.callback = [](const EpochStats& s) { return s.steps < 3; };
  const TrainResult stopped = train(obj, d, obj.model().init(1), lb);
  CHECK(stopped.steps == 3);
  CHECK(stopped.stop_reason == "stopped by callback");
  // schedules
  Schedule st{Schedule::Step, 3, 0.5, 0};
  CHECK(st.factor(0, 9) == 1.0);
  CHECK(st.factor(3, 9) == 0.5);
  CHECK(st.factor(8, 9) == 0.25);
  Schedule cs{Schedule::Cosine, 0, 0, 0.1};
  CHECK(cs.factor(0, 11) == doctest::Approx(1.0));
  CHECK(cs.factor(5, 11) == doctest::Approx(0.55));
  CHECK(cs.factor(10, 11) == doctest::Approx(0.1));
  // full-batch gradient descent stops on grad_tol (convex: softmax regression)
  const Objective sm(softmax_regression(4, 3), LossKind::CrossEntropy, 0.1);
  TrainOptions g = quiet("sgd");
  g.lr = 0.5;
  g.epochs = 5000;
  g.grad_tol = 1e-6;
  const TrainResult r = train(sm, d, sm.model().init(1), g);
  CHECK(r.converged);
  CHECK(r.grad_norm <= 1e-6);
  CHECK(r.stop_reason == "‖∇R‖ ≤ tolerance");
}

TEST_CASE("binary logistic and MSE objectives train too") {
  data::Dataset d = data::select_classes(iris_std(), {1, 2});
  const Objective lo(logistic_regression(4), LossKind::BinaryLogistic, 1e-2);
  const TrainResult r = train(lo, d, lo.model().init(1), quiet("newton"));
  CHECK(r.grad_norm < 1e-8);
  CHECK(lo.accuracy(r.theta, d) > 0.9);
  Tensor w;
  const data::Dataset reg = data::linear_regression(200, 3, 0.05, 4, &w);
  const Objective ls(logistic_regression(3), LossKind::MSE, 0);  // a linear model, squared loss
  const TrainResult q = train(ls, reg, ls.model().init(1), quiet("lbfgs"));
  CHECK(q.grad_norm < 1e-8);
  for (std::size_t j = 0; j < 3; ++j) CHECK(q.theta(j) == doctest::Approx(w(j)).epsilon(0.02));
  CHECK(q.theta(3) == doctest::Approx(w(3)).epsilon(0.05));
}

TEST_CASE("bad settings and divergence: one clear error each") {
  const data::Dataset d = iris_std();
  CHECK(error_of([] { Objective(softmax_regression(4, 3), LossKind::CrossEntropy, -1); }).find("weight decay") != std::string::npos);
  CHECK(error_of([] { Objective(softmax_regression(4, 3), LossKind::CrossEntropy, std::nan("")); }).find("weight decay") != std::string::npos);
  const Objective obj(mlp(4, 1, 8, Activation::Tanh, 3), LossKind::CrossEntropy, 0);
  TrainOptions o = quiet("sgd");
  o.lr = -0.1;
  CHECK(error_of([&] { train(obj, d, obj.model().init(1), o); }).find("learning rate") != std::string::npos);
  o.lr = std::nan("");
  CHECK(error_of([&] { train(obj, d, obj.model().init(1), o); }).find("learning rate") != std::string::npos);
  o.lr = 0.1;
  CHECK_THROWS_WITH(optimizers().parse("rmsprop"), "unknown optimizer 'rmsprop' (choose lbfgs, newton-cg, newton, adam, sgd)");
  const Objective wrong(mlp(5, 1, 8, Activation::Tanh, 3), LossKind::CrossEntropy, 0);
  CHECK(error_of([&] { train(wrong, d, wrong.model().init(1), quiet("adam")); }).find("[4]") != std::string::npos);
  CHECK(error_of([] { Objective(softmax_regression(4, 3), LossKind::BinaryLogistic, 0); }).find("one output") != std::string::npos);
  // divergence: plain SGD with a huge step on squared loss
  const data::Dataset reg = data::linear_regression(50, 3, 0.1, 2);
  const Objective ls(mlp(3, 1, 4, Activation::Tanh, 1), LossKind::MSE, 0);
  TrainOptions big = quiet("sgd");
  big.lr = 1e6;
  big.epochs = 50;
  std::string msg = error_of([&] { train(ls, reg, ls.model().init(1), big); });
  INFO(msg);
  // the step named is the first whose loss is not finite: one step fewer trains without error
  std::size_t step = 0, epoch = 0;
  REQUIRE(std::sscanf(msg.c_str() + msg.find("diverged at step"), "diverged at step %zu (epoch %zu)", &step, &epoch) == 2);
  CHECK(epoch == step);  // full batch: one step per epoch
  REQUIRE(step > 1);
  big.epochs = step - 1;
  CHECK(error_of([&] { train(ls, reg, ls.model().init(1), big); }).empty());
  CHECK(msg.find("loss = inf") != std::string::npos);
  // a step so large that the parameters overflow before the loss does
  data::Dataset far = reg;
  for (auto& t : far.targets) t *= 1e3;  // gradients ≫ 1, so lr·∇R overflows
  big.lr = 1e308;
  msg = error_of([&] { train(ls, far, ls.model().init(1), big); });
  INFO(msg);
  CHECK(msg.find("diverged at step 1 (epoch 0)") != std::string::npos);
  CHECK(msg.find("parameter tensor '0.weight' went non-finite first") != std::string::npos);
}

TEST_CASE("Newton: rounding in R does not stall it; an unattainable tolerance stops at the precision floor") {
  // L2 logistic regression on Iris versicolor vs virginica (the training split of
  // tests/influence/fixtures.hpp), λ = 1e-3. Near θ̂ the predicted decrease of a Newton
  // step (~1e-20) is below R's rounding, so Armijo alone rejected full steps and ‖∇R‖ sat
  // at ~1e-10 until the budget of 100; the approximate-Wolfe test accepts them.
  data::Dataset d = data::select_classes(data::load_iris(), {1, 2});
  data::TrainTest tt = data::stratified_split(d, 0.2, 3);
  data::Standardizer::fit(tt.train).apply(tt.train);
  const Objective obj(logistic_regression(4), LossKind::BinaryLogistic, 1e-3);
  TrainOptions o = quiet("newton");
  o.grad_tol = 1e-12;
  const TrainResult c = train(obj, tt.train, obj.model().init(1), o);
  INFO(c.stop_reason << " after " << c.steps << " steps, ‖∇R‖ " << c.grad_norm);
  CHECK(c.converged);
  CHECK(c.steps <= 10);
  CHECK(c.grad_norm <= 1e-12);
  // below what double precision allows: stop after 3 stalled iterations and name the floor
  o.grad_tol = 1e-20;
  const TrainResult r = train(obj, tt.train, obj.model().init(1), o);
  INFO(r.stop_reason << " after " << r.steps << " steps, ‖∇R‖ " << r.grad_norm);
  CHECK_FALSE(r.converged);
  CHECK(r.steps < 20);  // the budget is 100
  CHECK(r.stop_reason.find("precision floor: ‖∇R‖ ") == 0);
  CHECK(r.stop_reason.find("did not decrease for 3 iterations (tolerance 1e-20)") != std::string::npos);
  CHECK(r.grad_norm < 1e-14);
}

TEST_CASE("Newton–CG: the minimiser Newton finds, 1e-14 where L-BFGS stops at the precision floor, the same with a preconditioner") {
  // softmax regression on raw (unstandardised, so ill-conditioned) Iris, λ = 1e-2: strongly
  // convex, one minimiser; L-BFGS's line search stops near 1e-12 there (which side of 1e-12 depends on the
  // machine's rounding), Newton–CG's gradient test goes on
  const data::Dataset d = data::load_iris();
  const Objective obj(softmax_regression(4, 3), LossKind::CrossEntropy, 1e-2);
  TrainOptions o = quiet("newton-cg");
  o.grad_tol = 1e-14;
  const TrainResult ncg = train(obj, d, obj.model().init(1), o);
  INFO(ncg.stop_reason << " after " << ncg.steps << " steps, ‖∇R‖ " << ncg.grad_norm);
  CHECK(ncg.converged);
  CHECK(ncg.grad_norm <= 1e-14);
  CHECK(norm2(ad::value_and_grad(obj.fn(d), ncg.theta).grad) <= 1e-14);  // independently recomputed
  CHECK(ncg.steps < 40);
  CHECK(ncg.hvps > 0);
  TrainOptions l = quiet("lbfgs");
  l.grad_tol = 1e-14;
  const TrainResult lb = train(obj, d, obj.model().init(1), l);
  MESSAGE("raw-Iris softmax regression to 1e-14: newton-cg " << ncg.steps << " steps (" << ncg.hvps << " HVPs), ‖∇R‖ "
          << ncg.grad_norm << "; lbfgs " << lb.steps << " steps, ‖∇R‖ " << lb.grad_norm << " (" << lb.stop_reason << ")");
  CHECK_FALSE(lb.converged);  // its line search cannot see R decrease below R's rounding
  CHECK(lb.grad_norm > 1e-14);
  TrainOptions nw = quiet("newton");
  nw.grad_tol = 1e-12;
  const TrainResult ne = train(obj, d, obj.model().init(2), nw);
  REQUIRE(ne.converged);
  double diff = 0;
  for (std::size_t i = 0; i < ne.theta.size(); ++i) diff = std::max(diff, std::fabs(ncg.theta(i) - ne.theta(i)));
  CHECK(diff < 1e-9);  // ‖θ − θ*‖ ≤ ‖∇R‖/λmin(H) with λmin ≥ λ = 1e-2
  // preconditioned by the Hessian's top eigenpairs at a nearby point: the same minimiser
  const Tensor H = ad::hessian(obj.fn(d), obj.model().init(3));
  const auto [w, V] = xt::linalg::eigh(xt::xarray<double>(H));
  auto P = std::make_shared<SpectralPreconditioner>();
  const std::size_t p = H.shape(0), k = 5;
  P->vectors = zeros({k, p});
  P->values = zeros({k});
  for (std::size_t i = 0; i < k; ++i) {
    P->values(i) = w(p - 1 - i);
    for (std::size_t j = 0; j < p; ++j) P->vectors(i, j) = V(j, p - 1 - i);
  }
  P->sigma = w(p - 1 - k);
  // P and P⁻¹ are inverses; P's eigenpairs are the kept ones, σ on their complement
  const Tensor v = ad::random_normal({p}, 4), back = P->apply(P->solve(v));
  for (std::size_t i = 0; i < p; ++i) CHECK(back(i) == doctest::Approx(v(i)).epsilon(1e-12));
  Tensor e0 = zeros({p});
  for (std::size_t j = 0; j < p; ++j) e0(j) = P->vectors(0, j);
  const Tensor Pe0 = P->apply(e0);
  for (std::size_t j = 0; j < p; ++j) CHECK(Pe0(j) == doctest::Approx(P->values(0) * e0(j)).epsilon(1e-10));
  o.preconditioner = P;
  const TrainResult pc = train(obj, d, obj.model().init(1), o);
  REQUIRE(pc.converged);
  double dp = 0;
  for (std::size_t i = 0; i < ne.theta.size(); ++i) dp = std::max(dp, std::fabs(pc.theta(i) - ne.theta(i)));
  CHECK(dp < 1e-9);
  MESSAGE("preconditioned (k = 5 of p = 15): " << pc.hvps << " HVPs against " << ncg.hvps);
  CHECK(pc.hvps < ncg.hvps);
  // a bad preconditioner is refused by name
  auto bad = std::make_shared<SpectralPreconditioner>(*P);
  bad->sigma = 0;
  o.preconditioner = bad;
  CHECK(error_of([&] { train(obj, d, obj.model().init(1), o); }).find("preconditioner") != std::string::npos);
}

TEST_CASE("Newton–CG follows negative curvature off a saddle that has a gradient; an unattainable tolerance stops at the precision floor") {
  // MLP 4-3-3 on Iris from a small θ: the Hessian there is indefinite, and a trust-region
  // step along negative curvature must still lower R every accepted step, down to a minimum
  const data::Dataset d = iris_std();
  const Objective obj(mlp(4, 1, 3, Activation::Tanh, 3), LossKind::CrossEntropy, 1e-2);
  Tensor theta = obj.model().init(5);
  for (auto& e : theta) e *= 0.05;
  const Tensor H0 = ad::hessian(obj.fn(d), theta);
  const auto w0 = xt::linalg::eigvalsh(xt::xarray<double>(H0));
  REQUIRE(w0(0) < 0);  // starts where H is indefinite
  TrainOptions o = quiet("newton-cg");
  o.grad_tol = 1e-10;
  std::vector<double> values;
  o.callback = [&](const EpochStats& s) {
    values.push_back(s.loss);
    return true;
  };
  const TrainResult r = train(obj, d, theta, o);
  INFO(r.stop_reason);
  CHECK(r.converged);
  for (std::size_t i = 1; i < values.size(); ++i) CHECK(values[i] <= values[i - 1]);  // monotone: rejected steps leave θ
  const auto w = xt::linalg::eigvalsh(xt::xarray<double>(ad::hessian(obj.fn(d), r.theta)));
  CHECK(w(0) > 0);  // a minimum, not the saddle region it started in
  o.grad_tol = 1e-22;
  o.callback = nullptr;
  const TrainResult f = train(obj, d, r.theta, o);
  CHECK_FALSE(f.converged);
  INFO(f.stop_reason);
  CHECK(f.stop_reason.find("precision floor") == 0);
  CHECK(f.steps < 30);
}

TEST_CASE("Newton–CG: a rejected step is cut from the same CG path, the same steps as CG run again, fewer HVPs") {
  // MLP 4-8-3 on Iris from a small θ (H indefinite) with a first radius of 20: steps along
  // negative curvature are rejected and the region shrinks, several times at one θ
  const data::Dataset d = iris_std();
  const Objective obj(mlp(4, 1, 8, Activation::Tanh, 3), LossKind::CrossEntropy, 1e-2);
  Tensor theta = obj.model().init(5);
  for (auto& e : theta) e *= 0.05;
  struct Run {
    MinimizeResult r;
    std::vector<double> values, grads;
  };
  auto run = [&](bool recycle) {
    Run out;
    NewtonCgOptions o;
    o.grad_tol = 1e-10;
    o.radius = 20;
    o.recycle_path = recycle;
    o.on_iteration = [&](std::size_t, double v, double g) {
      out.values.push_back(v), out.grads.push_back(g);
      return true;
    };
    out.r = newton_cg(obj.fn(d), theta, o);
    return out;
  };
  const Run a = run(true), b = run(false);
  REQUIRE(a.r.converged);
  REQUIRE(b.r.converged);
  std::size_t rejected = 0;  // iterations that left θ (and R) where it was
  for (std::size_t i = 1; i < a.values.size(); ++i) rejected += a.values[i] == a.values[i - 1];
  MESSAGE("MLP 4-8-3 from a small θ: " << a.r.iterations << " steps, " << rejected << " rejected; HVPs " << a.r.hvps
                                       << " cutting the kept path, " << b.r.hvps << " running CG again");
  CHECK(rejected >= 2);
  REQUIRE(a.values.size() == b.values.size());  // the same steps: a cut step is the step CG finds again
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    CHECK(a.values[i] == doctest::Approx(b.values[i]).epsilon(1e-12));
    CHECK(a.grads[i] == doctest::Approx(b.grads[i]).epsilon(1e-6).scale(1e-12));
  }
  double diff = 0;
  for (std::size_t i = 0; i < theta.size(); ++i) diff = std::max(diff, std::fabs(a.r.theta(i) - b.r.theta(i)));
  CHECK(diff < 1e-8);
  CHECK(a.r.hvps < b.r.hvps);
}
