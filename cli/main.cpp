// inflab: influence functions on small neural networks, from the command line.
// Exit codes: 0 done; 1 failed (bad data file, solver or retraining failure, …);
// 2 usage error (unknown command or option, bad value, conflicting options);
// 3 `check` found a derivative that does not match.
#include <cstdio>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "cli/commands.hpp"
#include "mpi/session.hpp"

using namespace inflab::cli;

int main(int argc, char** argv) {
  inflab::blas::keep_freed_memory();  // the program's allocator policy (docs/performance.md)
  std::optional<inflab::mpi::Session> mpi;  // under mpirun: rank 0 runs the command, the others its retraining jobs
  try {
    mpi.emplace(argc, argv);
    mpi->set_task_handler(run_study_task);
    if (mpi->is_worker()) return mpi->work();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inflab: %s\n", e.what());
    return 2;
  }
  std::vector<std::string> tok(argv + 1, argv + argc);
  if (tok.empty()) return std::fputs(overview().c_str(), stderr), 2;
  if (tok[0] == "--version") {
    const std::string m = inflab::mpi::library_version();
    return std::printf("inflab %s (%s)\n", INFLAB_VERSION, m.empty() ? "built without MPI" : ("MPI: " + m).c_str()), 0;
  }
  if (tok[0] == "--help" || tok[0] == "-h") return std::fputs(overview().c_str(), stdout), 0;
  bool help = tok[0] == "help";
  if (help) tok.erase(tok.begin());
  if (help && tok.empty()) return std::fputs(overview().c_str(), stdout), 0;
  std::string name = tok[0];
  std::size_t first = 1;
  if (name == "study" && tok.size() >= 2) name += " " + tok[1], first = 2;
  const Command* cmd = find_command(name);
  if (!cmd && tok[0] == "study") {
    std::fprintf(stderr, "inflab: 'study' needs fragility or groups\n\n%s", overview().c_str());
    return 2;
  }
  if (!cmd) {
    std::fprintf(stderr, "inflab: unknown command '%s'\n\n%s", name.c_str(), overview().c_str());
    return 2;
  }
  std::vector<std::string> rest(tok.begin() + static_cast<long>(first), tok.end());
  for (const auto& t : rest) help |= t == "--help" || t == "-h";
  if (help) return std::fputs(command_help(*cmd).c_str(), stdout), 0;
  try {
    Args args(rest);
    return cmd->run(args);
  } catch (const DryRun& d) {  // --dry-run: every option read and checked; nothing run or written
    std::printf("inflab %s: the options are valid; the run would record these settings:\n%s\n", name.c_str(), d.settings.dump(2).c_str());
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "inflab %s: %s\n(run `inflab help %s` for its options)\n", name.c_str(), e.what(), name.c_str());
    return 2;
  } catch (const inflab::SettingError& e) {  // a value the data cannot take: a usage error, found after loading it
    std::fprintf(stderr, "\ninflab %s: %s\n(run `inflab help %s` for its options)\n", name.c_str(), e.what(), name.c_str());
    return 2;
  } catch (const std::bad_alloc&) {  // a request larger than this machine: say so, and what sets the size
    std::fprintf(stderr,
                 "\ninflab %s: error: out of memory — the problem or one of its matrices does not fit; make it smaller "
                 "(--n-train, --width, --depth, --hidden, --method cg instead of exact, --rank)\n",
                 name.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\ninflab %s: error: %s\n", name.c_str(), e.what());
    return 1;
  }
}
