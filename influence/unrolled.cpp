#include "influence/unrolled.hpp"

#include <cmath>

#include "autodiff/functional.hpp"
#include "autodiff/ops.hpp"
#include "datasets/batching.hpp"
#include "datasets/split.hpp"
#include "influence/influence.hpp"
#include "nn/choices.hpp"
#include "util/stop.hpp"

namespace inflab::influence {

void check_unrollable(const nn::TrainOptions& o) {
  if (o.optimizer != nn::Optimizer::Sgd)
    throw Error("unrolled attribution differentiates an sgd run (momentum allowed; one full batch is gradient descent); this run trains with " +
                nn::optimizers().name(o.optimizer) + (o.optimizer == nn::Optimizer::Adam ? " (Adam's recursion is not derived here)" : ""));
  if (o.nesterov) throw Error("unrolled attribution: Nesterov momentum is not derived (use plain momentum)");
}

namespace {
// The rows of every step of the run, as nn::train draws them, for `steps` steps.
std::vector<std::vector<std::size_t>> step_batches(std::size_t n, const nn::TrainOptions& o, std::size_t steps) {
  const std::size_t bs = o.batch_size ? std::min(o.batch_size, n) : n;
  data::BatchIterator it(n, bs, o.seed, bs < n);
  std::vector<std::vector<std::size_t>> out;
  std::vector<std::size_t> rows;
  while (out.size() < steps) {
    if (!it.next(rows) && !it.next(rows)) throw Error("unrolled attribution: the batch iterator gave no rows");
    out.push_back(rows);
  }
  return out;
}
// The learning rate of each step: the schedule's factor of its epoch.
std::vector<double> step_rates(std::size_t n, const nn::TrainOptions& o, std::size_t steps) {
  const std::size_t bs = o.batch_size ? std::min(o.batch_size, n) : n;
  const std::size_t per_epoch = data::BatchIterator(n, bs, o.seed, bs < n).batches_per_epoch();
  std::vector<double> lr(steps);
  for (std::size_t k = 0; k < steps; ++k) lr[k] = o.lr * o.schedule.factor(k / per_epoch, o.epochs);
  return lr;
}
}  // namespace

Tensor train_weighted(const nn::Objective& obj, const data::Dataset& train, const TrainingRun& run, const std::vector<double>& w,
                      std::size_t steps) {
  check_unrollable(run.options);
  const std::size_t n = train.size();
  if (w.size() != n) throw Error("train_weighted: " + std::to_string(w.size()) + " weights for " + std::to_string(n) + " rows");
  const auto batches = step_batches(n, run.options, steps);
  const auto rates = step_rates(n, run.options, steps);
  nn::Sgd sgd{run.options.momentum, false, Tensor()};
  Tensor theta = run.theta0;
  const double lambda = obj.weight_decay();
  for (std::size_t k = 0; k < steps; ++k) {
    util::throw_if_stopped("unrolled attribution");
    const data::Dataset batch = data::subset(train, batches[k]);
    const double m = static_cast<double>(batch.size());
    Tensor wb = zeros({batch.size()});
    double wsum = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) wsum += (wb(i) = w[batches[k][i]]);
    // (1/|B|) Σ wᵢ ℓ̃ᵢ = (1/|B|) Σ wᵢ ℓᵢ + (Σ wᵢ/|B|)(λ/2)‖θ‖²
    const ad::Fn f = [&](ad::Var th) {
      ad::Var v = ad::mul_scalar(ad::sum(ad::mul(obj.losses(th, batch), th.tape->leaf(wb, false))), 1.0 / m);
      return lambda > 0 ? ad::add(v, ad::mul_scalar(ad::sq_norm(th), wsum / m * lambda / 2)) : v;
    };
    sgd.step(theta, ad::value_and_grad(f, theta).grad, rates[k]);
  }
  return theta;
}

Unrolled unrolled_attribution(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                              const std::vector<std::size_t>& rows, const TrainingRun& run) {
  check_unrollable(run.options);
  const std::size_t n = train.size(), p = run.theta0.size(), m = rows.size();
  if (m == 0) throw Error("unrolled attribution: no test rows");
  // the run as nn::train runs it, every θ_k kept
  std::vector<Tensor> states = {run.theta0};
  nn::TrainOptions o = run.options;
  o.progress = false;
  o.on_step = [&](std::size_t, const Tensor& th, double) { states.push_back(th); };
  const nn::TrainResult tr = nn::train(obj, train, run.theta0, o);
  Unrolled u;
  u.steps = states.size() - 1;
  u.theta = tr.theta;
  u.state_bytes = static_cast<double>(states.size()) * static_cast<double>(p) * 8;
  const auto batches = step_batches(n, run.options, u.steps);
  const auto rates = step_rates(n, run.options, u.steps);
  // a = ∇ℓ(z_t; θ_T) for every test row, b = 0
  Tensor a = zeros({m, p}), b = zeros({m, p});
  for (std::size_t t = 0; t < m; ++t) {
    const Tensor g = test_loss_gradient(obj, test, {rows[t]}, u.theta);
    std::copy(g.begin(), g.end(), a.data() + t * p);
  }
  u.predicted = zeros({m, n});
  const double mu = run.options.momentum;
  for (std::size_t k = u.steps; k-- > 0;) {
    util::throw_if_stopped("unrolled attribution");
    const data::Dataset batch = data::subset(train, batches[k]);
    Tensor s = b;  // u = b − η a
    for (std::size_t i = 0; i < s.size(); ++i) s.data()[i] -= rates[k] * a.data()[i];
    const Tensor dots = train_gradient_dots(obj, batch, states[k], s);  // [m, |B|]: ∇ℓ̃ᵢᵀu
    const double inv_b = 1.0 / static_cast<double>(batch.size());
    for (std::size_t t = 0; t < m; ++t)
      for (std::size_t i = 0; i < batch.size(); ++i) u.predicted(t, batches[k][i]) -= inv_b * dots(t, i);
    const Tensor Hs = ad::hvp(obj.fn(batch), states[k], s);
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] += Hs.data()[i];
    for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = mu * s.data()[i];
  }
  return u;
}

}  // namespace inflab::influence
