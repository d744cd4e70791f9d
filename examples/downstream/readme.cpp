// README's C++ example: θ̂ on Iris, then Δ̂ of every training row on the hardest test point.
#include <cstdio>

#include "experiments/problem.hpp"
#include "influence/estimator.hpp"
using namespace inflab;

int main() {
  const experiments::ProblemSpec spec;  // Iris, MLP 4-16-3 (tanh), λ = 0.001, seed 0
  const experiments::Problem p = experiments::build_problem(spec, false);  // θ̂: L-BFGS to ‖∇R‖ ≤ 1e-8
  const std::size_t t = experiments::pick_test_rows("highest", p, spec.seed)[0];
  const influence::Estimate e = influence::estimate(influence::Estimator::Cg, experiments::trained(p, false), {t}, {});
  std::printf("%s, test row %zu: Δ̂ of training row 0 = %+.4e (relative residual %.1e)\n", e.description.c_str(), t,
              e.predicted.data()[0], e.solves[0].rel_residual);
}
