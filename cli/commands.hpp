// The command table: each command's name, one line, its own options, an example, and which
// shared option groups it takes. main() dispatches on it; `inflab help CMD`, `CMD --help`
// and the overview come from it. A new command is one row here and its run_ function.
#pragma once
#include <string>
#include <vector>

#include "cli/args.hpp"

namespace inflab::cli {

struct Command {
  std::string name, summary, options, example;
  bool problem, solver, retrain;  // takes these option groups
  bool curvature;                 // reads --curvature (with the solver options)
  int (*run)(Args&);
};
const std::vector<Command>& commands();
const Command* find_command(const std::string& name);
std::string overview();                       // `inflab help`
std::string command_help(const Command& c);   // `inflab help CMD`

}  // namespace inflab::cli
