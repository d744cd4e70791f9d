// The C++ half of the Python call-overhead benchmark: a module that bench/python_calls.py
// loads into its own process (ctypes), so that each C++ timing and the Python timing beside
// it run in the same process, allocator and machine state. It holds the library calls that
// inflab's Python methods make, on
//   (b) bench-peer's MLP 4-16-16-3 on 120 seeded normal rows: Problem.hvp(v), and
//       Problem.influence([0], method="graddot") (the first 10 rows as test rows): the fixed
//       cost of an influence call, measurable beside work this small
//   (a) bench-peer's MLP 784-128-64-10 on 1000 Fashion-MNIST rows (10 more as test rows):
//       Problem.influence([0], method="graddot") and method="cg" (μ = 5, 10 iterations)
// R(θ) = mean cross-entropy + (λ/2)‖θ‖², λ = 1e-2; θ: (b)'s θ̂ (L-BFGS to ‖∇R‖ ≤ 1e-7), (a)'s
// seeded initialisation (θ̂ of (a) takes thousands of steps; the cost per call is the same).
// calls_setup(DIR) writes the inputs to DIR/in_*.npy; calls_time(NAME, CALLS) makes CALLS
// calls of hvp_b, graddot_b, graddot_a or cg_a, writes the last result to DIR/out_NAME.npy (for the
// Python side to compare) and returns the seconds per call (< 0: an unknown name).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "autodiff/check.hpp"
#include "autodiff/functional.hpp"
#include "datasets/idx.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "influence/estimator.hpp"
#include "nn/builders.hpp"
#include "nn/checkpoint.hpp"
#include "nn/trainer.hpp"

using namespace inflab;

namespace {
volatile double sink = 0;

// Seconds per call: `calls` calls timed together.
template <class F>
double per_call(F f, std::size_t calls) {
  const auto a = std::chrono::steady_clock::now();
  for (std::size_t c = 0; c < calls; ++c) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count() / static_cast<double>(calls);
}

struct Workloads {
  data::Dataset b, b_test, a, a_test;  // b_test: b's first 10 rows
  nn::Objective obj_b{nn::mlp(4, {16, 16}, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-2};
  nn::Objective obj_a{nn::mlp(784, {128, 64}, nn::Activation::Tanh, 10), nn::LossKind::CrossEntropy, 1e-2};
  Tensor theta_b, v_b, theta_a;
  influence::EstimatorSettings cg;

  Workloads() {
    b.name = "normal-120x4";
    b.X = ad::random_normal({120, 4}, 1);
    for (std::size_t i = 0; i < 120; ++i) b.y.push_back(i % 3);
    b.class_names = {"0", "1", "2"};
    b_test = data::first_n(b, 10);
    nn::TrainOptions t;  // (b) at its θ̂, as influence is used (not timed)
    t.optimizer = nn::Optimizer::Lbfgs, t.grad_tol = 1e-7, t.max_steps = 50000, t.progress = false;
    const nn::TrainResult fit = nn::train(obj_b, b, obj_b.model().init(2), t);
    if (!fit.converged) throw Error("(b): θ̂ did not converge: " + fit.stop_reason);
    theta_b = fit.theta, v_b = ad::random_normal({theta_b.size()}, 3);
    data::Dataset all = data::first_n(data::load_fashion_mnist(data::Split::Train), 1010);
    data::scale_pixels(all);
    data::flatten(all);
    a = data::first_n(all, 1000);
    std::vector<std::size_t> test_rows;
    for (std::size_t i = 1000; i < 1010; ++i) test_rows.push_back(i);
    a_test = data::subset(all, test_rows);
    theta_a = obj_a.model().init(2);
    cg.solver.method = influence::Method::Cg;
    cg.solver.damping = 5, cg.solver.cg.tol = 1e-30, cg.solver.cg.max_iterations = 10;
  }
  // exactly the calls of python/inflab/problem.cpp (hvp) and evaluations.cpp (influence)
  Tensor call(const std::string& name) const {
    const influence::Trained trained{obj_a, a, a_test, theta_a};
    if (name == "hvp_b") return ad::Recording(obj_b.fn(b), theta_b).hvp(v_b);
    if (name == "graddot_b") return influence::estimate(influence::Estimator::GradDot, {obj_b, b, b_test, theta_b}, {0}, {}).predicted;
    if (name == "graddot_a") return influence::estimate(influence::Estimator::GradDot, trained, {0}, {}).predicted;
    return influence::estimate(influence::Estimator::Cg, trained, {0}, cg).predicted;
  }
};
Workloads* g_work = nullptr;  // calls_setup's
std::string g_dir;
}  // namespace

extern "C" int calls_setup(const char* dir) {
  try {
    g_dir = dir;
    g_work = new Workloads;
    auto path = [&](const std::string& f) { return g_dir + "/" + f; };
    const Workloads& w = *g_work;
    for (const auto& [name, t] : std::vector<std::pair<std::string, Tensor>>{
             {"X_b", w.b.X}, {"y_b", data::labels_as_tensor(w.b)}, {"theta_b", w.theta_b}, {"v_b", w.v_b}, {"X_a", w.a.X}, {"y_a", data::labels_as_tensor(w.a)},
             {"X_a_test", w.a_test.X}, {"y_a_test", data::labels_as_tensor(w.a_test)}, {"theta_a", w.theta_a}})
      nn::save_npy(path("in_" + name + ".npy"), t);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "calls_setup: %s\n", e.what());
    return 1;
  }
}

extern "C" double calls_time(const char* name, std::size_t calls) {
  const std::string n = name;
  if (!g_work || (n != "hvp_b" && n != "graddot_b" && n != "graddot_a" && n != "cg_a") || calls == 0) return -1;
  Tensor last;
  const double t = per_call([&] { last = g_work->call(n); sink = sink + last.data()[0]; }, calls);
  nn::save_npy(g_dir + "/out_" + n + ".npy", last);
  return t;
}
