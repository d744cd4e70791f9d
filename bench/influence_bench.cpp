// Influence benchmark (a program, not a test): Δ̂ for all 5000 training points of a
// Fashion-MNIST subset for one test point, MLP 784-128-64-10 (tanh, λ = 1e-3, 3 epochs of
// Adam). s_test by CG on the Gauss–Newton curvature (+ μ = 0.01, 50 iterations), then
//   forward mode: one batched JVP pass of the per-example losses along s_test, against
//   explicit:     one reverse pass per training point (the per-example-gradient baseline),
// in the same run; both give the same numbers (checked). Then the same Δ̂ with K-FAC and EK-FAC
// curvature (+ the same μ, expected Fisher): building the factors, the factored solve and the
// forward pass, with Pearson and relative error against the CG estimate.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "autodiff/blas.hpp"
#include "datasets/idx.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"
#include "nn/builders.hpp"
#include "nn/trainer.hpp"

using namespace inflab;
using namespace inflab::influence;

namespace {
double secs(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}
}  // namespace

int main(int argc, char** argv) {
  inflab::blas::keep_freed_memory();  // process-wide allocator setting (autodiff/blas.hpp)
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
  data::Dataset train = data::random_n(data::load_fashion_mnist(data::Split::Train), n, 1);
  data::Dataset test = data::first_n(data::load_fashion_mnist(data::Split::Test), 10);
  for (auto* d : {&train, &test}) {
    data::scale_pixels(*d);
    data::flatten(*d);
  }
  const nn::Objective obj(nn::mlp(784, {128, 64}, nn::Activation::Tanh, 10), nn::LossKind::CrossEntropy, 1e-3);
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Adam;
  o.epochs = 3;
  o.batch_size = 128;
  o.lr = 1e-3;
  o.progress = false;
  auto t0 = std::chrono::steady_clock::now();
  const Tensor th = nn::train(obj, train, obj.model().init(1), o).theta;
  const double t_train = secs(t0);
  t0 = std::chrono::steady_clock::now();
  const CurvatureOperator G(obj, train, th, Curvature::GaussNewton);
  const double t_record = secs(t0);
  SolverChoice c;
  c.method = influence::Method::Cg;
  c.damping = 0.01;
  c.cg.tol = 0;  // fixed work: exactly 50 iterations
  c.cg.max_iterations = 50;
  t0 = std::chrono::steady_clock::now();
  const Tensor g = test_loss_gradient(obj, test, {0}, th);
  const SolveResult s = solve(G, g, c);
  const double t_solve = secs(t0);
  t0 = std::chrono::steady_clock::now();
  const Tensor fwd = train_gradient_dots(obj, train, th, s.x, 1000);
  const double t_jvp = secs(t0);
  t0 = std::chrono::steady_clock::now();
  const Tensor exp = train_gradient_dots_explicit(obj, train, th, s.x);
  const double t_explicit = secs(t0);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < n; ++i) diff += std::pow(fwd(i) - exp(i), 2), norm += exp(i) * exp(i);
  std::printf("n = %zu, p = %zu; training (3 epochs Adam) %.2f s; recording the curvature %.2f s\n", n, th.size(), t_train, t_record);
  std::printf("CG on GGN + 0.01 I: %zu iterations, %zu products, relative residual %.2e, %.2f s\n", s.iterations, s.products,
              s.rel_residual, t_solve);
  std::printf("| path | time (s) | ratio to forward mode |\n|---|---|---|\n");
  std::printf("| forward mode: one batched JVP pass (1000 rows per pass) | %.3f | 1.00 |\n", t_jvp);
  std::printf("| explicit: %zu per-example gradients | %.3f | %.1f |\n", n, t_explicit, t_explicit / t_jvp);
  std::printf("| CG solve + forward mode | %.3f | |\n| CG solve + explicit | %.3f | %.2f× the former |\n", t_solve + t_jvp,
              t_solve + t_explicit, (t_solve + t_explicit) / (t_solve + t_jvp));
  std::printf("max relative difference of the two paths: %.2e\n", std::sqrt(diff / norm));
  std::printf("\n| curvature | build (s) | solve (s) | forward pass (s) | total (s) | Pearson with CG | relative error |\n|---|---|---|---|---|---|---|\n");
  std::printf("| GGN, CG 50 iterations | %.2f | %.2f | %.3f | %.2f | 1 | 0 |\n", t_record, t_solve, t_jvp, t_record + t_solve + t_jvp);
  for (const Curvature k : {Curvature::Kfac, Curvature::Ekfac}) {
    t0 = std::chrono::steady_clock::now();
    const CurvatureOperator F(obj, train, th, k);
    const double t_build = secs(t0);
    SolverChoice e;
    e.method = influence::Method::Exact;
    e.damping = 0.01;
    t0 = std::chrono::steady_clock::now();
    const SolveResult r = solve(F, g, e);
    const double t_fsolve = secs(t0);
    t0 = std::chrono::steady_clock::now();
    const Tensor d = train_gradient_dots(obj, train, th, r.x, 1000);
    const double t_fjvp = secs(t0);
    std::printf("| %s | %.2f | %.3f | %.3f | %.2f | %.3f | %.3f |\n", k == Curvature::Kfac ? "K-FAC" : "EK-FAC", t_build, t_fsolve, t_fjvp,
                t_build + t_fsolve + t_fjvp, pearson(d, fwd), relative_error(d, fwd));
  }
  return std::sqrt(diff / norm) < 1e-10 ? 0 : 1;
}
