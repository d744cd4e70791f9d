// The command table: each command's name, one line, its own options, an example, and which
// shared option groups it takes. main() dispatches on it; `inflab help CMD`, `CMD --help`
// and the overview come from it. A new command is one row here and its run_ function.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "cli/args.hpp"

namespace inflab::cli {

// Which rows of the estimator table a command offers (--method), and whether it reads --curvature.
struct EstimatorScope {
  bool estimators = true;  // false: the inverse-HVP solvers only
  bool curvature = true;
  bool benchmark_defaults = false;  // defaults from experiments::benchmark_settings()
};

struct Command {
  std::string name, summary, options, example;
  bool problem;                              // takes the problem options
  std::optional<EstimatorScope> estimation;  // takes --method and its options
  bool retrain;                              // takes the retraining options
  int (*run)(Args&);
};
const std::vector<Command>& commands();
const Command* find_command(const std::string& name);
// A task of a study spread over MPI ranks (mpi::Session::TaskHandler): on a rank other than 0.
std::string run_study_task(const std::string& payload, std::size_t task);
std::string overview();                       // `inflab help`
std::string command_help(const Command& c);   // `inflab help CMD`

}  // namespace inflab::cli
