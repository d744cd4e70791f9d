// The library layer by hand, as a program outside inflab would use it: an own model and loss
// on Iris, θ̂ trained to a tolerance, Δ̂ of every training row for one test point by two rows
// of the estimator table, and leave-one-out retraining of the 10 rows with the largest |Δ̂| as
// ground truth. Prints Pearson of Δ̂ against the retrained change for each estimator.
#include <cstdio>

#include <xtensor/xview.hpp>

#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "experiments/retrain.hpp"
#include "influence/estimator.hpp"
#include "influence/metrics.hpp"
#include "nn/builders.hpp"
#include "nn/trainer.hpp"

using namespace inflab;

int main() {
  data::TrainTest tt = data::stratified_split(data::load_iris(), 0.2, 0);
  const data::Standardizer st = data::Standardizer::fit(tt.train);
  st.apply(tt.train), st.apply(tt.test);
  const nn::Objective obj(nn::mlp(4, {8}, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.01);  // R(θ) = mean ℓ + λ/2 ‖θ‖²
  const nn::TrainingSpec spec;  // L-BFGS to ‖∇R‖ ≤ 1e-8
  const nn::TrainResult fit = nn::train(obj, tt.train, obj.model().init(0), nn::train_options(spec, false));
  std::printf("θ̂: %zu parameters, ‖∇R‖ = %.2e after %zu steps (%s)\n", fit.theta.size(), fit.grad_norm, fit.steps,
              fit.converged ? "converged" : fit.stop_reason.c_str());

  const std::size_t test_row = 0;
  const influence::Trained t{obj, tt.train, tt.test, fit.theta};
  influence::EstimatorSettings s;
  const influence::Estimate exact = influence::estimate(influence::Estimator::Exact, t, {test_row}, s);
  const influence::Estimate graddot = influence::estimate(influence::Estimator::GradDot, t, {test_row}, s);
  const Tensor d = xt::view(exact.predicted, 0, xt::all());
  const std::vector<std::size_t> rows = influence::largest_magnitude(d, 10);

  experiments::RetrainProtocol rp;  // L-BFGS from θ̂ to 1e-8, each retrained θ checked for a minimum
  experiments::RetrainRun run;
  run.progress = false;
  const auto rec = experiments::leave_one_out(obj, tt.train, tt.test, fit.theta, rows, {test_row}, rp, run);
  Tensor actual = zeros({rows.size()}), by_exact = zeros({rows.size()}), by_graddot = zeros({rows.size()});
  for (std::size_t j = 0; j < rows.size(); ++j)
    actual(j) = rec[j].test_loss_change.at(0), by_exact(j) = exact.predicted(0, rows[j]), by_graddot(j) = graddot.predicted(0, rows[j]);
  std::printf("leave-one-out of %zu rows: Pearson %.4f (exact, residual %.1e), %.4f (graddot)\n", rows.size(),
              influence::pearson(by_exact, actual), exact.solves.at(0).rel_residual, influence::pearson(by_graddot, actual));
  return influence::pearson(by_exact, actual) > 0.9 ? 0 : 1;
}
