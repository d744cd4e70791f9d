#include "nn/trainer.hpp"

#include "nn/choices.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "datasets/batching.hpp"
#include "nn/optim.hpp"
#include "util/progress.hpp"
#include "util/stop.hpp"

namespace inflab::nn {

double Schedule::factor(std::size_t epoch, std::size_t epochs) const {
  switch (kind) {
    case Constant: return 1.0;
    case Step: return std::pow(gamma, static_cast<double>(epoch / std::max<std::size_t>(step_every, 1)));
    case Cosine: {
      const double t = epochs > 1 ? static_cast<double>(epoch) / static_cast<double>(epochs - 1) : 1.0;
      return min_factor + (1 - min_factor) * 0.5 * (1 + std::cos(M_PI * std::min(t, 1.0)));
    }
  }
  return 1.0;
}

namespace {
using Clock = std::chrono::steady_clock;

// "loss … ‖∇R‖ …" after the progress counts; ‖∇R‖ is "–" until one is known.
std::string loss_detail(const std::string& prefix, double loss, double gnorm) {
  char b[96];
  char g[32] = "–";
  if (std::isfinite(gnorm)) std::snprintf(g, sizeof g, "%.3g", gnorm);
  std::snprintf(b, sizeof b, "loss %.6g  ‖∇R‖ %s", loss, g);
  return prefix + b;
}

void check_finite_step(const Objective& obj, const Tensor& theta, double loss, std::size_t step, std::size_t epoch) {
  const std::string bad = obj.model().first_non_finite(theta);
  if (std::isfinite(loss) && bad.empty()) return;
  std::string msg = "training diverged at step " + std::to_string(step) + " (epoch " + std::to_string(epoch) +
                    "): loss = " + std::to_string(loss);
  msg += bad.empty() ? "; all parameters still finite" : "; parameter tensor '" + bad + "' went non-finite first";
  throw Error(msg + " (lower the learning rate?)");
}

// R and ∇R over the full training set.
double full_value_grad(const Objective& obj, const data::Dataset& d, const Tensor& theta, Tensor& grad) {
  const ad::ValueGrad vg = ad::value_and_grad(obj.fn(d), theta);
  grad = vg.grad;
  return vg.value;
}
}  // namespace

std::size_t planned_steps(const TrainOptions& opt, std::size_t n) {
  const std::size_t bs = opt.batch_size ? std::min(opt.batch_size, n) : n;
  const std::size_t planned = opt.epochs * data::BatchIterator(n, bs, opt.seed, bs < n).batches_per_epoch();
  return opt.max_steps ? std::min(opt.max_steps, planned) : planned;
}

TrainOptions train_options(const TrainingSpec& s, bool progress) {
  TrainOptions t;
  t.optimizer = s.optimizer;
  t.grad_tol = s.grad_tol;
  t.max_steps = s.max_steps;
  t.epochs = s.epochs;
  t.lr = s.lr;
  t.batch_size = s.batch_size;
  t.seed = s.seed;
  t.progress = progress;
  return t;
}

MinimizeResult minimize(const ad::Fn& f, const Tensor& theta, const TrainOptions& opt) {
  if (!to_tolerance(opt.optimizer))
    throw Error("minimize: " + optimizers().name(opt.optimizer) + " runs a budget of epochs on mini-batches, not to a tolerance");
  const auto t0 = Clock::now();
  const std::size_t budget =
      opt.max_steps ? opt.max_steps : opt.optimizer == Optimizer::Lbfgs ? 2000 : opt.optimizer == Optimizer::NewtonCg ? 200 : 100;
  const double tol = opt.grad_tol > 0 ? opt.grad_tol : 1e-8;
  util::Progress prog(optimizers().name(opt.optimizer) + " iter", budget, opt.progress);
  auto on_iter = [&](std::size_t it, double v, double gn) {
    util::throw_if_stopped("training");
    if (!std::isfinite(v)) throw Error("training diverged at iteration " + std::to_string(it) + ": loss = " + std::to_string(v));
    if (it > 0) prog.tick(loss_detail("", v, gn));  // `it` iterations are done
    if (!opt.callback) return true;
    EpochStats s{it, it, v, std::nan(""), gn, 0, std::chrono::duration<double>(Clock::now() - t0).count()};  // no accuracy per iteration
    return opt.callback(s);
  };
  MinimizeResult m;
  if (opt.optimizer == Optimizer::Lbfgs) {
    LbfgsOptions lo;
    lo.history = opt.lbfgs_history;
    lo.grad_tol = tol;
    lo.max_iterations = budget;
    lo.on_iteration = on_iter;
    m = lbfgs(
        [&](const Tensor& th, Tensor& g) {
          ad::ValueGrad vg = ad::value_and_grad(f, th);
          g = std::move(vg.grad);
          return vg.value;
        },
        theta, lo);
  } else if (opt.optimizer == Optimizer::NewtonCg) {
    NewtonCgOptions no;
    no.grad_tol = tol;
    no.max_iterations = budget;
    no.on_iteration = on_iter;
    no.preconditioner = opt.preconditioner;
    m = newton_cg(f, theta, no);
  } else {
    NewtonOptions no;
    no.grad_tol = tol;
    no.max_iterations = budget;
    no.on_iteration = on_iter;
    m = newton(f, theta, no);
  }
  prog.done();
  return m;
}

TrainResult train(const Objective& obj, const data::Dataset& d, Tensor theta, const TrainOptions& opt) {
  obj.check_fits(d);
  if (theta.size() != obj.model().param_count())
    throw Error("train: θ has " + std::to_string(theta.size()) + " values, the model has " +
                std::to_string(obj.model().param_count()) + " parameters");
  if (!(opt.grad_tol >= 0)) throw Error("train: grad_tol must be ≥ 0");
  const auto t0 = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  TrainResult res;
  auto record = [&](std::size_t epoch, std::size_t steps, double loss, double gnorm, double lr) {
    EpochStats s{epoch, steps, loss, obj.accuracy(theta, d), gnorm, lr, seconds()};
    res.history.push_back(s);
    return opt.callback ? opt.callback(s) : true;
  };

  if (to_tolerance(opt.optimizer)) {
    const MinimizeResult m = minimize(obj.fn(d), theta, opt);
    theta = m.theta;
    check_finite_step(obj, theta, m.value, m.iterations, 0);
    res.steps = m.iterations;
    res.evaluations = m.evaluations, res.hvps = m.hvps;
    res.loss = m.value;
    res.grad_norm = m.grad_norm;
    res.converged = m.converged;
    res.stop_reason = m.message;
    record(0, m.iterations, m.value, m.grad_norm, 0);
    res.theta = std::move(theta);
    return res;
  }

  check_learning_rate(opt.lr);
  if (opt.momentum < 0 || !std::isfinite(opt.momentum)) throw Error("momentum must be ≥ 0, got " + std::to_string(opt.momentum));
  if (opt.epochs == 0) throw Error("train: epochs must be at least 1");
  Sgd sgd{opt.momentum, opt.nesterov, Tensor()};
  Adam adam;
  const std::size_t n = d.size();
  const std::size_t bs = opt.batch_size ? std::min(opt.batch_size, n) : n;
  data::BatchIterator batches(n, bs, opt.seed, bs < n);
  std::vector<std::size_t> rows;
  std::size_t step = 0;
  res.stop_reason = "epoch budget reached";
  util::Progress prog(optimizers().name(opt.optimizer) + " step", planned_steps(opt, n), opt.progress);
  for (std::size_t epoch = 0; epoch < opt.epochs; ++epoch) {
    const double lr = opt.lr * opt.schedule.factor(epoch, opt.epochs);
    while (batches.next(rows)) {
      util::throw_if_stopped("training");
      data::Dataset sub;  // full batch: use d itself, no copy per step
      const data::Dataset& batch = bs < n ? (sub = data::subset(d, rows)) : d;
      const ad::ValueGrad vg = ad::value_and_grad(obj.fn(batch), theta);
      // θ was checked after the previous step: only the loss here, θ's walk (two per step
      // measured 3% of an epoch) after the step (a non-finite starting θ is named there)
      if (!std::isfinite(vg.value)) check_finite_step(obj, theta, vg.value, step, epoch);
      if (opt.optimizer == Optimizer::Sgd) sgd.step(theta, vg.grad, lr);
      else adam.step(theta, vg.grad, lr);
      ++step;
      check_finite_step(obj, theta, vg.value, step, epoch);
      if (opt.on_step) opt.on_step(step, theta, lr);
      // loss of this batch; ‖∇R‖ of the full training set at the end of the last epoch
      if (prog.shown())
        prog.tick(loss_detail("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs) + "  ", vg.value,
                              epoch > 0 ? res.grad_norm : std::nan("")));
      if (opt.max_steps && step >= opt.max_steps) break;
    }
    if (!opt.evaluate_epochs && opt.grad_tol <= 0 && !opt.callback) {
      res.loss = res.grad_norm = std::nan("");
      res.steps = step;
      if (opt.max_steps && step >= opt.max_steps) {
        res.stop_reason = "step budget reached";
        break;
      }
      continue;
    }
    Tensor g;
    const double loss = full_value_grad(obj, d, theta, g);
    res.loss = loss;
    res.grad_norm = norm2(g);
    res.steps = step;
    const bool go_on = record(epoch, step, loss, res.grad_norm, lr);
    if (opt.grad_tol > 0 && res.grad_norm <= opt.grad_tol) {
      res.converged = true;
      res.stop_reason = "‖∇R‖ ≤ tolerance";
      break;
    }
    if (opt.max_steps && step >= opt.max_steps) {
      res.stop_reason = "step budget reached";
      break;
    }
    if (!go_on) {
      res.stop_reason = "stopped by callback";
      break;
    }
  }
  prog.done();
  res.theta = std::move(theta);
  return res;
}

}  // namespace inflab::nn
