// The problem every command works on: a dataset split into train and test, a model, the
// objective R(θ) (DESIGN.md) and θ̂ — trained here or loaded from a checkpoint.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "nn/objective.hpp"
#include "nn/trainer.hpp"

namespace inflab::cli {

struct ProblemOptions {
  std::string dataset = "iris", model = "mlp", activation = "tanh", optimizer = "lbfgs", checkpoint;
  std::vector<std::size_t> classes;  // empty: all
  std::size_t n_train = 0, n_test = 0;  // 0: the dataset's own split
  std::size_t depth = 1, width = 16, epochs = 20, batch_size = 0, max_steps = 0;
  double test_fraction = 0.2, weight_decay = 0.001, lr = 1e-3, grad_tol = 1e-8;
  std::uint64_t seed = 0;
};
// Reads the problem options (defaults from `d`), checking each.
ProblemOptions read_problem(Args& a, const ProblemOptions& d = {});
std::string problem_usage();  // the options' help text

struct Problem {
  data::Dataset train, test;
  std::unique_ptr<nn::Objective> obj;
  Tensor theta;
  nn::TrainResult fit;  // empty when θ̂ came from a checkpoint
  std::string description;  // e.g. "MLP 4-16-3 (tanh)"
  double train_accuracy = 0, test_accuracy = 0;
};
data::Dataset load_named(const std::string& name, bool train_split);  // Error lists the names
Problem build_problem(const ProblemOptions& o, bool progress);
// Test rows from a spec: "highest" (largest test loss), "random:K" (seeded) or "3,8,12".
std::vector<std::size_t> pick_test_rows(const std::string& spec, const Problem& p, std::uint64_t seed);

}  // namespace inflab::cli
