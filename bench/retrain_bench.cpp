// Retraining throughput: trust-region Newton–CG against L-BFGS, in one run, on the same θ̂,
// rows and tolerance (docs/performance.md, "Retraining: Newton–CG against L-BFGS").
//   iris      MLP 4-16-3, tanh, 150 standardised Iris rows (bench-peer's g1)
//   fmnist32  MLP 784-32-10, the first 1000 Fashion-MNIST rows in [0, 1] (bench-peer's g2)
//   mlp128    MLP 784-128-64-10 on the same 1000 rows (the benchmark's MLP)
// R(θ) = mean cross-entropy + (λ/2)‖θ‖², λ = 1e-2 (bench-peer's). θ̂: L-BFGS from the
// initialisation, polished by Newton–CG to the tolerance (both timed); the leave-one-out jobs
// (rows 0, 1, …) start from it for both optimizers, at one thread, saddles checked as in
// every retrain.
// Per optimizer: seconds, jobs/s, steps, gradient evaluations and HVPs per job, statuses; and
// the largest |Δ(L-BFGS) − Δ(Newton–CG)| over the jobs both converged on.
// usage: inflab-bench-retrain [JOBS=10] [TOL=1e-8] [PROBLEMS=iris,fmnist32,mlp128]
//   env: PRECOND=spectral|ekfac|none (spectral), RANK=K the spectral preconditioner's rank (64), PER_JOB=1 a line per job, NCG_FROM_INIT=1,
//   THETA_DIR=D θ̂ kept in D between runs (with the rows, for bench/peer/torch_retrain.py), SKIP_LBFGS_LOO=1 Newton–CG's retrains only
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "autodiff/blas.hpp"
#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "experiments/retrain.hpp"
#include "experiments/retrain_jobs.hpp"
#include "nn/builders.hpp"
#include "nn/checkpoint.hpp"
#include "nn/choices.hpp"
#include "nn/trainer.hpp"

using namespace inflab;

namespace {
constexpr double kLambda = 1e-2;
constexpr std::size_t kRows = 1000, kTestRows = 5;

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Loo {
  double seconds = 0;
  std::vector<experiments::RetrainRecord> records;
};

void problem(const std::string& name, const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
             std::size_t jobs, double tol) {
  std::printf("== %s: n = %zu, p = %zu, tol %.0e, %zu leave-one-out jobs\n", name.c_str(), train.size(), obj.model().param_count(), tol,
              jobs);
  // θ̂: L-BFGS from the initialisation to its tolerance or its precision floor, then Newton–CG
  // from there to the tolerance (the θ̂ every retrain starts from); NCG_FROM_INIT=1 also fits
  // Newton–CG from the initialisation
  auto fit = [&](nn::Optimizer o, const Tensor& from, const char* what) {
    nn::TrainOptions t;
    t.optimizer = o;
    t.grad_tol = tol;
    t.max_steps = o == nn::Optimizer::Lbfgs ? 50000 : 2000;
    t.progress = false;
    const auto t0 = std::chrono::steady_clock::now();
    nn::TrainResult r = nn::train(obj, train, from, t);
    std::printf("  θ̂ by %-9s %-10s %9.2f s  %6zu steps  %7zu gradients  %8zu HVPs  ‖∇R‖ %.2e  %s\n", nn::optimizers().name(o).c_str(), what,
                since(t0), r.steps, r.evaluations, r.hvps, r.grad_norm, r.converged ? "converged" : r.stop_reason.c_str());
    std::fflush(stdout);
    return r.theta;
  };
  const Tensor init = obj.model().init(2);
  if (std::getenv("NCG_FROM_INIT")) fit(nn::Optimizer::NewtonCg, init, "from init");
  // THETA_DIR=D keeps θ̂ as D/<problem>.npy and reads it back on the next run (to vary the rest)
  const std::string cache = std::getenv("THETA_DIR") ? std::string(std::getenv("THETA_DIR")) + "/" + name + ".npy" : "";
  if (!cache.empty()) {  // the rows too, for bench/peer/torch_retrain.py (torch.optim.LBFGS on the same jobs)
    const std::string stem = cache.substr(0, cache.size() - 4);
    nn::save_npy(stem + "_X.npy", train.X), nn::save_npy(stem + "_y.npy", data::labels_as_tensor(train));
    nn::save_npy(stem + "_Xtest.npy", test.X), nn::save_npy(stem + "_ytest.npy", data::labels_as_tensor(test));
  }
  Tensor theta_hat;
  if (!cache.empty() && std::filesystem::exists(cache)) {
    theta_hat = nn::load_npy(cache);
    std::printf("  θ̂ read from %s\n", cache.c_str());
  } else {
    theta_hat = fit(nn::Optimizer::NewtonCg, fit(nn::Optimizer::Lbfgs, init, "from init"), "polish");
    if (!cache.empty()) nn::save_npy(cache, theta_hat);
  }
  const bool skip_lbfgs = std::getenv("SKIP_LBFGS_LOO") != nullptr;
  std::vector<std::size_t> rows(jobs), test_rows(test.size());
  for (std::size_t i = 0; i < jobs; ++i) rows[i] = i;
  for (std::size_t i = 0; i < test.size(); ++i) test_rows[i] = i;
  std::vector<Loo> runs;
  const std::size_t rank = std::getenv("RANK") ? std::strtoul(std::getenv("RANK"), nullptr, 10) : 64;
  for (auto o : {nn::Optimizer::Lbfgs, nn::Optimizer::NewtonCg}) {
    if (o == nn::Optimizer::Lbfgs && skip_lbfgs) continue;
    experiments::RetrainProtocol p;
    p.optimizer = o;
    p.preconditioner_rank = rank;
    if (std::getenv("PRECOND")) p.preconditioning = experiments::retrain_preconditionings().parse(std::getenv("PRECOND"));
    p.grad_tol = tol;
    p.max_steps = o == nn::Optimizer::Lbfgs ? 50000 : 2000;
    experiments::RetrainRun run;
    run.progress = false;
    if (std::getenv("PER_JOB") && o == nn::Optimizer::NewtonCg) {
      const auto t1 = std::chrono::steady_clock::now();
      const auto P = experiments::retrain_preconditioner(obj, train, theta_hat, p);
      std::printf("    preconditioner (%s, rank %zu): %.2f s\n", experiments::retrain_preconditionings().name(p.preconditioning).c_str(), p.preconditioner_rank, since(t1));
    }
    const auto t0 = std::chrono::steady_clock::now();
    Loo l;
    l.records = experiments::leave_one_out(obj, train, test, theta_hat, rows, test_rows, p, run);
    l.seconds = since(t0);
    std::size_t steps = 0, converged = 0, saddles = 0;
    double grads = 0, hvps = 0;
    for (const auto& r : l.records) {
      steps += r.steps;
      converged += r.converged;
      saddles += r.status == experiments::RetrainStatus::Saddle;
    }
    // gradients and HVPs per job: one more fit of the first job outside the timing
    {
      std::vector<std::size_t> keep;
      for (std::size_t i = 1; i < train.size(); ++i) keep.push_back(i);
      nn::TrainOptions t = nn::train_options(p, false);
      t.preconditioner = experiments::retrain_preconditioner(obj, train, theta_hat, p);
      const auto t1 = std::chrono::steady_clock::now();
      const nn::TrainResult r = nn::train(obj, data::subset(train, keep), theta_hat, t);
      if (std::getenv("PER_JOB")) std::printf("    job 0 alone: %.2f s (%zu gradients, %zu HVPs)\n", since(t1), r.evaluations, r.hvps);
      grads = static_cast<double>(r.evaluations), hvps = static_cast<double>(r.hvps);
    }
    std::printf("  LOO by %-9s %9.2f s  %7.2f jobs/s  %7.1f steps/job  (job 0: %.0f gradients, %.0f HVPs)  %zu converged, %zu saddles\n",
                nn::optimizers().name(o).c_str(), l.seconds, static_cast<double>(jobs) / l.seconds,
                static_cast<double>(steps) / static_cast<double>(jobs), grads, hvps, converged, saddles);
    runs.push_back(std::move(l));
  }
  if (std::getenv("PER_JOB"))  // Δ: the change of the first test row's loss (as bench/peer/torch_retrain.py prints it)
    for (std::size_t j = 0; j < jobs; ++j)
      for (std::size_t k = 0; k < runs.size(); ++k) {
        const auto& r = runs[k].records[j];
        std::printf("    job %zu: %-9s %5zu steps %-10s %8.2f s  Δ %+.6e\n", j, skip_lbfgs || k ? "newton-cg" : "lbfgs", r.steps,
                    experiments::status_name(r.status), r.seconds, r.test_loss_change[0]);
      }
  if (skip_lbfgs) return;
  double worst = 0;
  std::size_t both = 0;
  for (std::size_t j = 0; j < jobs; ++j) {
    const auto &a = runs[0].records[j], &b = runs[1].records[j];
    if (!a.converged || !b.converged) continue;
    ++both;
    for (std::size_t t = 0; t < a.test_loss_change.size(); ++t)
      worst = std::max(worst, std::fabs(a.test_loss_change[t] - b.test_loss_change[t]));
  }
  std::printf("  Newton–CG / L-BFGS speed: %.1f×   max |Δ difference| over %zu jobs both converged: %.1e\n",
              runs[0].seconds / runs[1].seconds, both, worst);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  blas::keep_freed_memory();
  blas::set_threads(1);
  const std::size_t jobs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10;
  const double tol = argc > 2 ? std::atof(argv[2]) : 1e-8;
  const std::string which = argc > 3 ? argv[3] : "iris,fmnist32,mlp128";
  auto want = [&](const char* p) { return ("," + which + ",").find(std::string(",") + p + ",") != std::string::npos; };
  if (want("iris")) {
    data::Dataset iris = data::load_iris();
    data::Standardizer::fit(iris).apply(iris);
    const nn::Objective obj(nn::mlp(4, {16}, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, kLambda);
    problem("iris", obj, iris, data::first_n(iris, kTestRows), jobs, tol);
  }
  if (want("fmnist32") || want("mlp128")) {
    data::Dataset all = data::first_n(data::load_fashion_mnist(data::Split::Train), kRows + kTestRows);
    data::scale_pixels(all);
    data::flatten(all);
    const data::Dataset train = data::first_n(all, kRows);
    std::vector<std::size_t> t;
    for (std::size_t i = 0; i < kTestRows; ++i) t.push_back(kRows + i);
    const data::Dataset test = data::subset(all, t);
    if (want("fmnist32"))
      problem("fmnist32", nn::Objective(nn::mlp(784, {32}, nn::Activation::Tanh, 10), nn::LossKind::CrossEntropy, kLambda), train, test, jobs, tol);
    if (want("mlp128"))
      problem("mlp128", nn::Objective(nn::mlp(784, {128, 64}, nn::Activation::Tanh, 10), nn::LossKind::CrossEntropy, kLambda), train, test,
              jobs, tol);
  }
  return 0;
}
