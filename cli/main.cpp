// inflab: influence functions on small neural networks, from the command line.
// Exit codes: 0 done; 1 failed (bad data file, solver or retraining failure, …);
// 2 usage error (unknown command or option, bad value, conflicting options);
// 3 `check` found a derivative that does not match.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cli/common.hpp"

using namespace inflab::cli;

namespace {
const std::map<std::string, std::pair<int (*)(Args&), const char*>>& commands() {
  static const std::map<std::string, std::pair<int (*)(Args&), const char*>> c = {
      {"train", {run_train, "train a model → checkpoint/, history.csv, loss.svg"}},
      {"check", {run_check, "gradient, HVP, symmetry and Taylor checks of R(θ) (--at-init, --rows N)"}},
      {"hessian", {run_hessian, "dense H (or --curvature ggn) → hessian.npy, eigenvalues.csv (--max-dim N)"}},
      {"spectrum", {run_spectrum, "eigenvalues of H: exact up to --exact-up-to, else Lanczos --steps → spectrum.csv/.svg"}},
      {"influence", {run_influence, "Δ̂ of every training point for --test points → influence.csv, top.csv (--top K)"}},
      {"validate", {run_validate, "influence against leave-one-out retraining of the --top K points → scatter.svg"}},
      {"group", {run_group, "group influence (first, second order, Newton) vs group retraining (--kinds, --fraction, --groups, --select)"}},
      {"study fragility", {run_study_fragility, "Basu, Pope & Feizi 2021: Pearson vs depth/width/weight decay/test point"}},
      {"study groups", {run_study_groups, "Basu, You & Feizi 2020: first vs second-order group influence over p and kind"}}};
  return c;
}

std::string usage() {
  std::string u = "usage: inflab <command> [--option value ...]\n\ncommands:\n";
  for (const auto& [name, c] : commands()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-16s %s\n", name.c_str(), c.second);
    u += line;
  }
  u += "\n" + problem_usage() + "\n" + solver_usage() + "\n" + retrain_usage() + "\n" + common_usage() +
       "\ncommand options: influence/validate/group: --test highest|random:K|ROWS (highest); validate: --top K (20);\n"
       "  group: --kinds random,knn,class,gradient --fraction P --groups G --select;\n"
       "  study fragility: --depths 1,2,3,4,6,8 --widths 5,10,25,50 --weight-decays 0,0.001 --random-tests 2 --top 10;\n"
       "  study groups: --fractions 0.01,0.05,0.1,0.2,0.3 --groups 10 --no-select\n"
       "\nexit codes: 0 done, 1 failed, 2 usage error, 3 a derivative check failed\n"
       "docs: docs/cli.md\n";
  return u;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tok(argv + 1, argv + argc);
  if (tok.empty() || tok[0] == "help" || tok[0] == "--help" || tok[0] == "-h") {
    std::fputs(usage().c_str(), tok.empty() ? stderr : stdout);
    return tok.empty() ? 2 : 0;
  }
  std::string name = tok[0];
  std::size_t first = 1;
  if (name == "study") {
    if (tok.size() < 2 || (tok[1] != "fragility" && tok[1] != "groups")) {
      std::fprintf(stderr, "inflab: 'study' needs fragility or groups\n\n%s", usage().c_str());
      return 2;
    }
    name += " " + tok[1];
    first = 2;
  }
  const auto it = commands().find(name);
  if (it == commands().end()) {
    std::fprintf(stderr, "inflab: unknown command '%s'\n\n%s", name.c_str(), usage().c_str());
    return 2;
  }
  try {
    Args args(std::vector<std::string>(tok.begin() + static_cast<long>(first), tok.end()));
    if (args.given("help")) {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    return it->second.first(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "inflab %s: %s\n(run `inflab help` for the options)\n", name.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\ninflab %s: error: %s\n", name.c_str(), e.what());
    return 1;
  }
}
