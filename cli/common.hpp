// Options shared by several commands: the run directory and output, the solver, the
// retraining protocol; and the command table main() dispatches on.
#pragma once
#include <string>

#include "cli/args.hpp"
#include "cli/problem.hpp"
#include "cli/run_dir.hpp"
#include "influence/influence.hpp"
#include "influence/retrain.hpp"

namespace inflab::cli {

struct Common {
  std::string out;
  bool quiet = false;
  std::size_t threads = 1;
};
// --out (default runs/<name>), --quiet, --threads (OpenBLAS threads and retraining jobs)
Common read_common(Args& a, const std::string& name);
std::string common_usage();

influence::SolverChoice read_solver(Args& a, const std::string& default_method = "exact");
influence::Curvature read_curvature(Args& a);
std::string solver_usage();
influence::RetrainProtocol read_retrain(Args& a, double default_tol = 1e-8);
std::string retrain_usage();

// printf-style formatting of one number ("%.3f"), for tables and summaries
std::string fmt(const char* format, double v);

// stdout unless quiet
void say(const Common& c, const std::string& text);

int run_train(Args& a);
int run_check(Args& a);
int run_hessian(Args& a);
int run_spectrum(Args& a);
int run_influence(Args& a);
int run_validate(Args& a);
int run_group(Args& a);
int run_study_fragility(Args& a);
int run_study_groups(Args& a);

}  // namespace inflab::cli
