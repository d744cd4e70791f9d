// One influence problem: train and test data that keep their source rows, a model, the
// objective R(θ) = mean ℓ + λ/2 ‖θ‖² (docs/conventions.md), θ̂ and how it was reached, and
// the seed. Its spec saves with the checkpoint (problem.json beside model.json), so loading
// a checkpoint rebuilds exactly the problem that made it.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "datasets/split.hpp"
#include "experiments/choices.hpp"
#include "influence/estimator.hpp"
#include "nn/layers.hpp"
#include "nn/objective.hpp"
#include "nn/trainer.hpp"

namespace inflab::experiments {

// Everything that determines the data, the objective and θ̂.
// The training part (nn::TrainingSpec: optimizer, budget, tolerance, seed) is how θ̂ is trained;
// the seed also sets the split, the subsample and the initialisation.
struct ProblemSpec : nn::TrainingSpec {
  std::string dataset = "iris";           // a name in datasets() or csv:PATH (as the user and problem.json write it)
  std::vector<std::size_t> classes;       // kept classes, relabelled 0.. in this order; empty: all
  std::size_t n_train = 0, n_test = 0;    // subsample; 0: the dataset's own size (fashion-mnist: 1000/500)
  double test_fraction = 0.2;             // tabular data: the stratified test share
  ModelKind model = ModelKind::Mlp;
  std::size_t depth = 1, width = 16;      // MLP: depth hidden layers of width units …
  std::vector<std::size_t> hidden;        // … or these widths (--hidden 128,64); depth and width then repeat its size and first entry
  nn::Activation activation = nn::Activation::Tanh;
  double weight_decay = 0.001;            // λ
};
// The dataset a spec names from the table; nullopt for csv:PATH (and a name not in it).
std::optional<DatasetKind> named_dataset(const ProblemSpec& s);
// The MLP's hidden widths: `hidden` when given, else depth × width.
std::vector<std::size_t> hidden_widths(const ProblemSpec& s);
// The spec as JSON (names from the choice tables) and back; from_json names a bad key.
void to_json(nlohmann::json& j, const ProblemSpec& s);
ProblemSpec spec_from_json(const nlohmann::json& j, const std::string& where);
// The spec key that differs first ("" if none), for "contradicts the checkpoint" messages.
struct SpecDifference {
  std::string key, have, want;
};
std::vector<SpecDifference> differences(const ProblemSpec& a, const ProblemSpec& b);

// How θ̂ was obtained.
struct Fit {
  std::string checkpoint;     // the directory θ̂ was loaded from; "" : trained here
  std::string optimizer;      // as recorded (a checkpoint's may name an optimizer of another version)
  std::size_t steps = 0;
  double loss = 0, grad_norm = 0;  // R(θ̂), ‖∇R(θ̂)‖ (measured on this problem's data)
  bool converged = false;
  std::string stop_reason;
  bool trained() const { return checkpoint.empty(); }
  std::string how() const { return trained() ? "trained" : "checkpoint " + checkpoint; }  // as summary.json says it
};

struct Problem {
  ProblemSpec spec;
  data::Dataset train, test;  // source_row(i): the row of the dataset file
  std::unique_ptr<nn::Objective> obj;
  Tensor theta;
  Fit fit;
  std::vector<nn::EpochStats> history;  // of this run's training (empty when loaded)
  std::vector<Snapshot> trajectory;     // θ at the steps asked for (TracIn), in step order; saved with the checkpoint
  std::string description;              // e.g. "MLP 4-16-3 (tanh)"
  double train_accuracy = 0, test_accuracy = 0;
};

// The train/test data of a spec (split, subsampled, standardised or scaled). Errors name
// the option in the user's terms (an n_train above the data's size, a class that does
// not exist, one class left).
data::TrainTest load_data(const ProblemSpec& s);
// The dataset file a spec's rows come from, as read (raw values, before any split,
// standardisation or scaling), so that row source_row(i) of the problem's train (or, with
// train_split false, test) data is its row source_row(i). Pictures are [n, C, H, W]: the
// image sets as loaded, digits' 64 features as 1×8×8; tabular sets stay [n, d].
data::Dataset load_source(const ProblemSpec& s, bool train_split);
// The objective of a spec for data with the given classes and sample shape.
std::unique_ptr<nn::Objective> make_objective(const ProblemSpec& s, const data::Dataset& train, std::string* description = nullptr);
// Loads the data and trains θ̂ from the seeded initialisation. save_steps: keep θ after these
// optimizer steps in `trajectory` (sgd/adam only: an Error for lbfgs/newton, or a step the run
// does not reach). before_training(p), given, runs once the model's parameter count p is known
// and before any training: a caller's refusal of what p makes infeasible (a dense H) costs
// no training.
using ParamsCheck = std::function<void(std::size_t params)>;
Problem build_problem(const ProblemSpec& s, bool progress, const std::vector<std::size_t>& save_steps = {},
                      const ParamsCheck& before_training = {});
// The same on data given (e.g. with flipped labels).
Problem build_problem(const ProblemSpec& s, data::TrainTest data, bool progress, const std::vector<std::size_t>& save_steps = {},
                      const ParamsCheck& before_training = {});

// checkpoint DIR: model.json and .npy files (nn/checkpoint.hpp) plus problem.json (spec and fit),
// and, when the problem has a trajectory, trajectory.npy [m, p] with trajectory.json (steps, rates).
void save_problem(const std::string& dir, const Problem& p);
// Rebuilds the problem saved in dir: the data from its spec, θ̂ from the .npy files, the
// model checked against the spec. A checkpoint without problem.json (one written by numpy
// or an old inflab) is an Error saying so.
Problem load_problem(const std::string& dir);
// Only the spec saved in dir (no data loaded): what the CLI checks its flags against.
ProblemSpec load_spec(const std::string& dir);

// θ̂ of the problem and models − 1 more, each trained like it from another seed
// (initialisation and batch order: seed + 1000003·m) on the same data (TRAK's ensemble).
std::vector<Tensor> trained_models(const Problem& p, std::size_t models, bool progress);
// What an estimator reads of the problem (influence/estimator.hpp): its objective, data,
// θ̂, trajectory, and trained_models for an ensemble. Refers to p, which must outlive it.
Trained trained(const Problem& p, bool progress);

// Test rows from a spec string: "highest" (largest test loss at θ̂), "random:K" (seeded) or
// "3,8,12" (split rows). Error names the spec.
std::vector<std::size_t> pick_test_rows(const std::string& spec, const Problem& p, std::uint64_t seed);

// ‖∇R(θ̂)‖ above which θ̂ is not treated as a stationary point (influence assumes one).
constexpr double kStationaryTol = 1e-5;

}  // namespace inflab::experiments
