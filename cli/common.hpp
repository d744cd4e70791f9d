// What the commands share: reading the problem, solver and retraining options (their
// choices and help come from the library's tables), and rendering the library's result
// structs as screen lines and JSON.
#pragma once
#include <string>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/report.hpp"
#include "cli/run_dir.hpp"
#include "experiments/experiments.hpp"
#include "experiments/problem.hpp"
#include "experiments/retrain.hpp"

namespace inflab::experiments {
struct BenchEntry;  // experiments/benchmark.hpp
}

namespace inflab::cli {

struct Common {
  std::string out;
  bool quiet = false;
  std::size_t threads = 1;
};
// --out (default runs/<name>), --quiet, --threads (OpenBLAS threads and retraining jobs)
Common read_common(Args& a, const std::string& name);

// Where a command's retraining jobs journal (a file in the run directory; "" none), with
// --threads jobs at once and a progress line unless --quiet.
experiments::RetrainRun retrain_run(const Common& c, const RunDir& rd, const std::string& journal, bool progress = true);

// The problem options. With --checkpoint DIR the defaults are the checkpoint's own spec and
// a given option that contradicts it is a UsageError naming the setting.
struct ProblemArgs {
  experiments::ProblemSpec spec;
  std::string checkpoint;  // "" : train here
};
// no_checkpoint: why this command refuses --checkpoint ("" accepts it).
ProblemArgs read_problem(Args& a, const experiments::ProblemSpec& defaults = {}, const std::string& no_checkpoint = "");
// Trains (keeping θ after save_steps, for TracIn), or loads the checkpoint.
// before_training(p): a refusal of what p parameters make infeasible, made before θ̂ is trained
// (or, from a checkpoint, before anything is computed on it).
experiments::Problem obtain_problem(const ProblemArgs& pa, bool progress, const std::vector<std::size_t>& save_steps = {},
                                    const experiments::ParamsCheck& before_training = {});

// The estimator options (--method and what the chosen row reads; influence/estimator.hpp),
// in the scope of the command (cli/commands.hpp).
experiments::Estimator read_method(Args& a, const EstimatorScope& scope, experiments::Estimator fallback = experiments::Estimator::Exact);
// The settings of the chosen estimators, from `defaults`; an option that none of them reads
// is a UsageError naming the rows it sets. Help and checks come from the estimator table.
experiments::EstimatorSettings read_estimator_settings(Args& a, const std::vector<experiments::Estimator>& chosen, const EstimatorScope& scope,
                                                       experiments::EstimatorSettings defaults = {});
std::string estimator_usage(const EstimatorScope& scope, const experiments::EstimatorSettings& defaults = {});
// --method (any row in scope), its settings, and TracIn's --save-steps (training here).
struct EstimatorArgs {
  experiments::Estimator method = experiments::Estimator::Exact;
  experiments::EstimatorSettings settings;
  std::vector<std::size_t> save_steps;
};
EstimatorArgs read_estimator(Args& a, const ProblemArgs& pa, const EstimatorScope& scope);
// What the problem must have for the estimator (TracIn's trajectory, TRAK's k ≤ p): usage errors.
void check_estimator(const EstimatorArgs& ea, const experiments::Problem& p, const ProblemArgs& pa);
// The check of an estimator's feasibility at p (exact's dense H), for obtain_problem.
experiments::ParamsCheck feasible_for(const EstimatorArgs& ea);
// Renderings of an estimate: its solve line (one solve) or its description and time; the
// problem's and the solves' warnings (prefixed by test row when several); for summary.json,
// the solve, μ and curvature (inverse-HVP rows) or the estimator's settings.
std::string estimate_line(const experiments::Estimate& e);
std::vector<std::string> estimate_warnings(const experiments::Problem& p, const experiments::Estimate& e, const std::vector<std::size_t>& rows);
nlohmann::json estimate_json(const experiments::Estimate& e);
nlohmann::json estimate_summary(const experiments::Estimate& e, const experiments::EstimatorSettings& s);
// --method restricted to the inverse-HVP solvers, and their options (with --curvature when
// `curvature`, returned in *c).
experiments::SolverChoice read_solver(Args& a, bool curvature = false, experiments::CurvatureChoice* c = nullptr);
// --curvature, and for kfac/ekfac --fisher and --fisher-seed
experiments::CurvatureChoice read_curvature(Args& a);
// {"curvature": name} and, for kfac/ekfac, "fisher" (and "fisher_seed" when sampled): the
// curvature as summary.json records it
nlohmann::json curvature_json(const experiments::CurvatureChoice& c);
// --save-steps S1,S2,…: steps of an sgd/adam run whose θ is kept (TracIn); empty when not given.
std::vector<std::size_t> read_save_steps(Args& a, const ProblemArgs& pa);
experiments::RetrainProtocol read_retrain(Args& a, double default_tol = 1e-8);
// The problem options' help, with the command's defaults (the benchmark's differ).
std::string problem_usage(const experiments::ProblemSpec& defaults = {});
std::string retrain_usage();
// --estimators E,…: benchmark entries (exact, cg:ggn, ekfac, …), a bad one a UsageError naming it.
std::vector<experiments::BenchEntry> read_bench_entries(Args& a, const std::string& fallback);
// What the ground truth is, for titles and report lines: "retrained", or "PBRF (μ = 0.01)".
// How a reference Δ was made (--retrain-target), in a title, an axis, a report's sentence
// ("<how> each of the k rows …") and a column head.
struct TruthWords {
  std::string title, axis, how, column;
};
TruthWords truth_words(const experiments::RetrainProtocol& p);
std::string common_usage();

// printf-style formatting of one number ("%.3f"), for tables and summaries
std::string fmt(const char* format, double v);
// stdout unless quiet
void say(const Common& c, const std::string& text);
// How every command ends: says `screen` and writes the run's index.html (cli/report.hpp),
// with the command's own sections from `r`.
void finish(const Common& c, const RunDir& rd, const std::string& screen, const Report& r = Report());

// Renderings of the library's structs.
nlohmann::json problem_json(const experiments::Problem& p);
// with its warnings; at_minimum = false (an estimator that does not assume θ̂ minimises R,
// EstimatorRow::at_minimum) leaves out "θ̂ not stationary"
std::string problem_line(const experiments::Problem& p, bool at_minimum = true);
std::vector<std::string> problem_warnings(const experiments::Problem& p, bool at_minimum = true);
nlohmann::json solve_json(const experiments::SolveResult& s);
std::string solve_line(const experiments::SolveResult& s);  // with its warning
// Every warning of a run that solved once: the problem's and the solve's.
std::vector<std::string> warnings_of(const experiments::Problem& p, const experiments::SolveResult& s);
nlohmann::json scores_json(const experiments::Scores& s);
std::string scores_line(const experiments::Scores& s);  // "Pearson 0.98 … (n = 40)" or why not
nlohmann::json retrain_json(const experiments::RetrainSummary& r);
std::string retrain_line(const experiments::RetrainSummary& r);  // "40 retrained: 37 converged, 3 saddles …"
std::string retrain_status(const experiments::RetrainRecord& r);  // converged | budget | saddle | unresolved
// pick_test_rows with its errors as usage errors of --test
std::vector<std::size_t> test_rows(const std::string& spec, const experiments::Problem& p);
// group_size with its errors as usage errors of the option that set the fraction
std::size_t group_size(std::size_t n, double fraction, const std::string& option);
// split rows as the dataset file's rows, space-separated (one CSV cell)
std::string source_rows(const data::Dataset& d, const std::vector<std::size_t>& rows);
std::string label_of(const data::Dataset& d, std::size_t i);
std::vector<double> vec(const Tensor& t);

int run_train(Args& a);
int run_check(Args& a);
int run_hessian(Args& a);
int run_spectrum(Args& a);
int run_influence(Args& a);
int run_validate(Args& a);
int run_group(Args& a);
int run_lds(Args& a);
int run_mislabel(Args& a);
int run_study_fragility(Args& a);
int run_study_groups(Args& a);
int run_study_decomposition(Args& a);
int run_benchmark(Args& a);

}  // namespace inflab::cli
