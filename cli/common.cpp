#include "cli/common.hpp"

#include <cmath>
#include <cstdio>

#include "autodiff/blas.hpp"

namespace inflab::cli {

Common read_common(Args& a, const std::string& name) {
  Common c;
  c.out = a.text("out", "runs/" + name);
  c.quiet = a.flag("quiet");
  c.threads = a.count("threads", 1, 1, 256);
  blas::set_threads(static_cast<int>(c.threads));
  a.unrecord("out");      // the run directory itself
  a.unrecord("threads");  // results do not depend on it (parallel retraining = serial)
  a.unrecord("quiet");
  return c;
}

std::string common_usage() {
  return R"(output options:
  --out DIR      run directory (default runs/<command>); the same settings there resume
  --quiet        no progress lines, no summary on screen (files are still written)
  --threads N    OpenBLAS threads, and parallel retraining jobs (1)
)";
}

influence::SolverChoice read_solver(Args& a, const std::string& default_method) {
  influence::SolverChoice c;
  c.method = a.text("method", default_method, {"exact", "cg", "minres", "lissa", "lowrank"});
  c.damping = a.real("damping", 0, 0, 1e6);
  const std::string ind = a.text("indefinite", "invert", {"invert", "abs", "drop"});
  c.exact.indefinite = ind == "abs" ? influence::ExactOptions::Abs : ind == "drop" ? influence::ExactOptions::Drop : influence::ExactOptions::Invert;
  c.cg.tol = a.real("tol", 1e-10, 0, 1);
  c.cg.max_iterations = a.count("max-iterations", 1000, 1);
  c.lissa.scale = a.real("lissa-scale", 10, 1e-12);
  c.lissa.depth = a.count("lissa-depth", 1000, 1);
  c.lissa.repeats = a.count("lissa-repeats", 1, 1);
  c.lissa.batch = a.count("lissa-batch", 0);
  c.lowrank.rank = a.count("rank", 20, 1);
  c.lissa.seed = c.lowrank.seed = a.count("solver-seed", 0);
  return c;
}

influence::Curvature read_curvature(Args& a) {
  return a.text("curvature", "hessian", {"hessian", "ggn"}) == "ggn" ? influence::Curvature::GaussNewton : influence::Curvature::Hessian;
}

std::string solver_usage() {
  return R"(solver options:
  --method M          exact (default), cg, minres, lissa, lowrank
  --damping MU        solve (H + μI) x = b (0)
  --curvature C       hessian (default) or ggn (Gauss–Newton, positive semi-definite)
  --indefinite F      exact on an indefinite H: invert (default), abs (1/|λ|), drop (skip |λ| small)
  --tol T --max-iterations N              cg / minres
  --lissa-scale S --lissa-depth N --lissa-repeats N --lissa-batch N
  --rank R                                lowrank
)";
}

influence::RetrainProtocol read_retrain(Args& a, double default_tol) {
  influence::RetrainProtocol p;
  p.optimizer = a.text("retrain", "lbfgs", {"lbfgs", "newton", "sgd", "adam"});
  p.grad_tol = a.real("retrain-tol", default_tol, 0, 1);
  p.max_steps = a.count("retrain-steps", 0);
  p.lr = a.real("retrain-lr", 1e-3, 1e-12, 1e3);
  p.epochs = a.count("retrain-epochs", 10, 1);
  return p;
}

std::string retrain_usage() {
  return R"(retraining (ground truth) options:
  --retrain O         lbfgs (default) or newton to a gradient tolerance; sgd or adam for a budget
  --retrain-tol T     ‖∇R‖ tolerance (1e-8; study groups 1e-10)   --retrain-steps N   step limit (0: optimizer default)
  --retrain-lr R --retrain-epochs N           sgd / adam
)";
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void say(const Common& c, const std::string& text) {
  if (!c.quiet) std::fputs(text.c_str(), stdout), std::fflush(stdout);
}

}  // namespace inflab::cli
