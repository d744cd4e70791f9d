// Training throughput (a program, not a test): samples per second of Adam mini-batch
// training for (a) MLP 784-128-64-10 (tanh) with batch 128 and (b) the small CNN
// (1×28×28, relu) with batch 64, on random Fashion-MNIST-shaped data, 1 and 2 threads.
// The baseline in the same run is the bare value_and_grad of one batch: the trainer's
// overhead (batch gather, optimizer step, bookkeeping) is the ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "autodiff/blas.hpp"
#include "autodiff/check.hpp"
#include "datasets/split.hpp"
#include "nn/builders.hpp"
#include "nn/trainer.hpp"

using namespace inflab;
using namespace inflab::nn;

namespace {
double secs(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

void run(const char* name, const Model& m, std::size_t n, std::size_t batch, std::size_t epochs) {
  data::Dataset d;
  d.name = name;
  Shape xs{n};
  for (auto s : m.input_shape()) xs.push_back(s);
  d.X = ad::random_normal(xs, 1);
  for (std::size_t i = 0; i < n; ++i) d.y.push_back(i % 10);
  for (int c = 0; c < 10; ++c) d.class_names.push_back(std::to_string(c));
  const Objective obj(m, LossKind::CrossEntropy, 1e-4);
  TrainOptions o;
  o.optimizer = nn::Optimizer::Adam;
  o.lr = 1e-3;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = false;
  const Tensor th = m.init(1);
  {  // warm-up: first-touch page faults and allocator growth are not throughput
    TrainOptions w = o;
    w.epochs = 1;
    (void)train(obj, d, th, w);
  }
  auto t0 = std::chrono::steady_clock::now();
  const TrainResult r = train(obj, d, th, o);
  const double t_train = secs(t0);
  // the per-epoch full-data loss/‖∇R‖/accuracy evaluation is part of train(); time it alone
  t0 = std::chrono::steady_clock::now();
  for (std::size_t e = 0; e < epochs; ++e) {
    (void)ad::value_and_grad(obj.fn(d), r.theta);
    (void)obj.accuracy(r.theta, d);
  }
  const double t_eval = secs(t0);
  const data::Dataset b = data::first_n(d, batch);
  t0 = std::chrono::steady_clock::now();
  const std::size_t steps = r.steps;
  for (std::size_t s = 0; s < steps; ++s) (void)ad::value_and_grad(obj.fn(b), th);
  const double t_grad = secs(t0);
  const double sps = static_cast<double>(steps * batch) / (t_train - t_eval);
  std::printf("| %-30s | %d | %5zu | %9.0f | %9.0f | %5.2f |\n", name, blas::threads(), batch, sps,
              static_cast<double>(steps * batch) / t_grad, (t_train - t_eval) / t_grad);
}
}  // namespace

int main(int argc, char** argv) {
  inflab::blas::keep_freed_memory();  // process-wide allocator setting (autodiff/blas.hpp)
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2;
  std::printf("| workload | threads | batch | train samples/s | grad-only samples/s | train/grad time |\n|---|---|---|---|---|---|\n");
  for (int threads : {1, 2}) {
    blas::set_threads(threads);
    run("(a) MLP 784-128-64-10", mlp(784, {128, 64}, Activation::Tanh, 10), 5120, 128, epochs);
    run("(b) small CNN 1×28×28", small_cnn({1, 28, 28}, 10), 1024, 64, epochs);
  }
  return 0;
}
