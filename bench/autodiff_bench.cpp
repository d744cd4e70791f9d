// Autodiff benchmark (a program, not a test): value_and_grad, one HVP, and 10 HVPs in one
// batched sweep, single-threaded and with 2 OpenBLAS threads, for
//   (a) MLP 784-128-64-10, tanh, softmax cross-entropy, batch 1000
//   (b) MLP 4-16-16-3, tanh, softmax cross-entropy, 120 rows
// Each time is the median of repeated runs; every HVP time includes its primal pass
// (record + sweeps), like the gradient's, so the ratio HVP/gradient is like for like.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "bench/timing.hpp"
#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "nn/builders.hpp"

using namespace inflab;
using namespace inflab::ad;

namespace {

volatile double sink = 0;


void run(const char* name, const nn::Model& mlp, std::size_t n, double budget) {
  const Tensor X = random_normal({n, mlp.input_shape()[0]}, 1);
  std::vector<std::size_t> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = i % mlp.output_shape()[0];
  const Tensor theta = mlp.init(2);
  const std::size_t p = theta.size();
  const Fn R = [&](Var th) {
    return add(cross_entropy_mean(mlp.forward(th, th.tape->leaf(X, false)), y),
               mul_scalar(sq_norm(th), 0.5e-3));
  };
  const Tensor v = random_normal({p}, 3), V = random_normal({10, p}, 4);
  const double t_grad = bench::median_seconds([&] { sink = sink + value_and_grad(R, theta).grad(0); }, 5, budget);
  const double t_hvp = bench::median_seconds([&] { sink = sink + hvp(R, theta, v)(0); }, 5, budget);
  const double t_h10b = bench::median_seconds([&] { sink = sink + hvp(R, theta, V)(0, 0); }, 5, budget);
  const double t_h10s = bench::median_seconds([&] {
    Recording rec(R, theta);
    for (std::size_t j = 0; j < 10; ++j) {
      Tensor vj = zeros({p});
      std::copy(V.data() + j * p, V.data() + (j + 1) * p, vj.data());
      sink = sink + rec.hvp(vj)(0);
    }
  }, 5, budget);
  const double t_rec = bench::median_seconds([&] { Recording rec(R, theta); sink = sink + rec.scalar_value(); }, 5, budget);
  std::printf("| %-28s | %d | %7zu | %9.3f | %9.3f | %9.3f | %12.3f | %12.3f | %5.2f | %5.2f |\n", name,
              blas::threads(), p, 1e3 * t_rec, 1e3 * t_grad, 1e3 * t_hvp, 1e3 * t_h10b, 1e3 * t_h10s,
              t_hvp / t_grad, t_h10s / t_h10b);
}
}  // namespace

int main(int argc, char** argv) {
  inflab::blas::keep_freed_memory();  // process-wide allocator setting (autodiff/blas.hpp)
  const double budget = argc > 1 ? std::atof(argv[1]) : 2.0;  // seconds per measurement
  std::printf("times in ms, median of repeated runs (budget %.1f s each)\n", budget);
  std::printf("| workload                     | threads | p       | primal    | grad      | 1 HVP     | 10 HVP batch | 10 HVP single | HVP/grad | single/batch |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int threads : {1, 2}) {
    blas::set_threads(threads);
    run("(a) MLP 784-128-64-10, n=1000", nn::mlp(784, {128, 64}, nn::Activation::Tanh, 10), 1000, budget);
    run("(b) MLP 4-16-16-3, n=120", nn::mlp(4, 2, 16, nn::Activation::Tanh, 3), 120, budget);
  }
  return 0;
}
