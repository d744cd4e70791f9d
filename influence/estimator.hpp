// Every way inflab produces Δ̂ is one row of one table, called one way (docs/influence.md,
// "Estimators"): the inverse-HVP solvers on a curvature (exact, cg, minres, lissa, lowrank)
// and the estimators of their own (graddot, gradcos, tracin, trak, datainf, unrolled). Each gives, for test
// points z_t, a value per training row in Δ̂'s sign and units (docs/conventions.md: > 0, the
// row helped; ÷ n) — the cosine is the one unitless row — with what it cost and the
// diagnostics that say whether to trust it. Adding an estimator: its own file and one row.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "influence/choices.hpp"
#include "influence/influence.hpp"
#include "influence/tracin.hpp"
#include "influence/trak.hpp"
#include "influence/unrolled.hpp"
#include "util/choice.hpp"

namespace inflab::influence {

enum class Estimator { Exact, Cg, Minres, Lissa, LowRank, GradDot, GradCos, TracIn, Trak, DataInf, Unrolled };

// What an estimator reads: the training objective at θ̂ and the data (references: they must
// outlive the call), and what some rows need besides.
struct Trained {
  const nn::Objective& obj;
  const data::Dataset& train;
  const data::Dataset& test;
  const Tensor& theta;
  const std::vector<Snapshot>* trajectory = nullptr;  // tracin: θ saved during training
  // trak with models > 1: θ̂ and models − 1 more trained like it from other seeds
  std::function<std::vector<Tensor>(std::size_t models)> ensemble = {};
  // unrolled: the deterministic sgd run that trained θ (none: the model was not trained by one)
  std::optional<TrainingRun> run = std::nullopt;
};

// Every row's settings with their defaults, in one place. A row reads the ones its
// `options` name (as the CLI spells them); solver.method is set by the row.
struct EstimatorSettings {
  CurvatureChoice curvature;  // inverse-HVP rows
  SolverChoice solver;        // damping μ (also TRAK's), the solvers' options
  TrakOptions trak;           // dim 0: min(p, 256); trak.damping is solver.damping
  std::size_t models = 1;     // trak: models averaged (ensemble)
};

// A setting a result ran with, for summary files: text when `text` is set, else the numbers
// (one: a number; several: a list).
struct Detail {
  std::string key, text;
  std::vector<double> numbers;
};

struct Estimate {
  Estimator estimator = Estimator::Exact;
  Tensor predicted;                 // [m, n]: row j for test row j, column i for training row i
  std::vector<SolveResult> solves;  // inverse-HVP rows: one per test point (residual, cost, warning)
  double grad_norm = 0;             // ‖∇R(θ̂)‖ of the training objective (inverse-HVP rows; else 0)
  std::string description;          // one line: what ran
  std::vector<Detail> details;      // settings it ran with beyond the solve's
  double seconds = 0;               // the whole call
  // The first solve warning ("" when none): a number not to be taken for the exact inverse-HVP.
  std::string first_warning() const;
};

// What self-influence (a row on itself, not ÷ n; docs/influence.md) costs with an estimator.
enum class SelfCost { Cheap, SolvePerRow, None };

struct EstimatorRow {
  Estimator id;
  std::string name, help;
  std::optional<Method> method;       // set: an inverse-HVP solve on settings.curvature
  bool loss_change = true;            // false: a unitless ranking, not Δ̂'s units
  std::string quantity;               // the column name of its values
  std::string units;                  // what a value is, one sentence
  std::vector<std::string> options;   // the settings it reads, as option names
  Estimate (*run)(const Trained&, const std::vector<std::size_t>& test_rows, const EstimatorSettings&);
  // self-influence [n], or nullptr where the estimator has no such form
  Tensor (*self)(const Trained&, const EstimatorSettings&) = nullptr;
  // false: it does not assume θ̂ minimises R (a training run's own attribution: tracin, unrolled),
  // so a θ̂ short of stationarity is not a warning about it
  bool at_minimum = true;
};
const std::vector<EstimatorRow>& estimator_rows();
const EstimatorRow& row_of(Estimator e);
const Choices<Estimator>& estimators();  // the rows' names and help: parsing, messages, help text
// Every option some row reads, each once, in table order.
std::vector<std::string> estimator_options();
// Sets one option by its name (as the rows spell it) from text — a number, or a name from
// its choice table — checked as the CLI checks it; an Error names the option and the value.
// For callers that hold settings as names and values (the Python module).
void set_option(EstimatorSettings& s, const std::string& option, const std::string& value);
// Options given together that contradict the settings' curvature ("" when none): --fisher and
// --fisher-seed on a curvature that is not factored, --fisher-seed without sampled labels,
// --indefinite or --lissa-batch on K-FAC's one positive semi-definite matrix. `spell` writes
// an option's name as the caller's user types it (--fisher-seed, fisher_seed).
std::string option_conflict(const EstimatorSettings& s, const std::vector<std::string>& given,
                            const std::function<std::string(const std::string&)>& spell);

// Refuses (an Error) what the row cannot do on a model of p parameters, before the model is
// trained: exact on a curvature that is not factored builds a dense p × p matrix
// (check_dense_feasible with the settings' limits).
void check_feasible(Estimator e, const EstimatorSettings& s, std::size_t p);

// Δ̂ (or the row's quantity) for the test rows, timed. Errors: a bad test row, a setting out
// of range (named), TracIn without a trajectory, TRAK's k above p.
Estimate estimate(Estimator e, const Trained& t, const std::vector<std::size_t>& test_rows, const EstimatorSettings& s);
SelfCost self_cost(Estimator e, const EstimatorSettings& s);
// Self-influence of every training row [n]; an Error when self_cost is None.
// warning (given): what an inverse-HVP row's self-influence cannot vouch for (influence.hpp's
// self_influence), "" when nothing.
Tensor self_influence(Estimator e, const Trained& t, const EstimatorSettings& s, std::string* warning = nullptr);

}  // namespace inflab::influence
