#include "cli/common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "mpi/session.hpp"
#include "nn/choices.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace inf = influence;

Common read_common(Args& a, const std::string& name) {
  Common c;
  c.out = a.text("out", "runs/" + name);
  c.quiet = a.flag("quiet");
  c.threads = a.count("threads", 1, 1, 256);
  a.unrecord("out");      // the run directory itself
  a.unrecord("threads");  // how, not what: results agree to rounding (BLAS sums split differently)
  a.unrecord("quiet");
  return c;
}

std::string common_usage() {
  return R"(output options:
  --out DIR      run directory (default runs/<command>); the same settings there resume
  --quiet        no progress lines, no summary on screen (files are still written)
  --threads N    OpenBLAS threads, and parallel retraining jobs (1; per rank under mpirun)
)";
}

inf::RetrainRun retrain_run(const Common& c, const RunDir& rd, const std::string& journal, bool progress) {
  inf::RetrainRun r;
  r.threads = c.threads;
  r.remote = mpi::session() ? mpi::session()->remote() : nullptr;
  r.results_path = journal.empty() ? "" : rd.path(journal);
  r.progress = progress && !c.quiet;
  return r;
}

ProblemArgs read_problem(Args& a, const inf::ProblemSpec& given_defaults, const std::string& no_checkpoint) {
  ProblemArgs pa;
  pa.checkpoint = a.text("checkpoint", "");
  if (!pa.checkpoint.empty() && !no_checkpoint.empty()) throw UsageError("--checkpoint does not apply: " + no_checkpoint);
  inf::ProblemSpec d = given_defaults;
  if (!pa.checkpoint.empty()) d = inf::load_spec(pa.checkpoint);
  inf::ProblemSpec& s = pa.spec;
  s.dataset = a.text("dataset", d.dataset);
  if (s.dataset.rfind("csv:", 0) != 0 && !inf::datasets().has(s.dataset))
    throw UsageError("unknown dataset '" + s.dataset + "' (choose " + inf::datasets().names() + " or csv:PATH)");
  if (a.given("classes") && a.text("classes", "") == "all") s.classes.clear();  // undoes a default selection
  else s.classes = a.counts("classes", d.classes);
  s.n_train = a.count("n-train", d.n_train);
  s.n_test = a.count("n-test", d.n_test);
  s.test_fraction = a.real("test-fraction", d.test_fraction, 0.01, 0.9);
  s.model = a.choice("model", inf::model_kinds(), d.model);
  s.depth = a.count("depth", d.depth, 1, 64);
  s.width = a.count("width", d.width, 1, 100000);
  s.hidden = a.counts("hidden", d.hidden);
  if (a.given("hidden")) {
    if (a.given("depth") || a.given("width")) throw UsageError("--hidden gives every hidden width; leave out --depth and --width");
    if (s.hidden.empty() || s.hidden.size() > 64) throw UsageError("--hidden needs 1 to 64 widths, e.g. --hidden 128,64");
    for (auto w : s.hidden)
      if (w < 1 || w > 100000) throw UsageError("--hidden: width " + std::to_string(w) + " is not in 1..100000");
    s.depth = s.hidden.size(), s.width = s.hidden[0];
    if (std::all_of(s.hidden.begin(), s.hidden.end(), [&](std::size_t w) { return w == s.width; })) s.hidden.clear();  // one form per model
  } else if (a.given("depth") || a.given("width")) {
    s.hidden.clear();  // a checkpoint's mixed widths are replaced, and contradict below
  }
  // the settings (and command.txt) name the widths one way: --hidden, or --depth and --width
  if (s.hidden.empty()) a.unrecord("hidden");
  else a.unrecord("depth"), a.unrecord("width");
  s.activation = a.choice("activation", nn::activations(), d.activation);
  s.weight_decay = a.real("weight-decay", d.weight_decay, 0, 1e6);
  const bool cnn_default = pa.checkpoint.empty() && s.model == inf::ModelKind::Cnn && !a.given("optimizer");
  s.optimizer = a.choice("optimizer", nn::optimizers(), cnn_default ? nn::Optimizer::Adam : d.optimizer);
  s.epochs = a.count("epochs", d.epochs, 1);
  s.batch_size = a.count("batch-size", d.batch_size);
  s.max_steps = a.count("max-steps", d.max_steps);
  s.lr = a.real("lr", d.lr, 1e-12, 1e3);
  s.grad_tol = a.real("grad-tol", d.grad_tol, 0, 1e3);
  s.seed = a.count("seed", d.seed);
  if (!pa.checkpoint.empty())
    for (auto diff : inf::differences(d, s)) {
      if (diff.key == "depth" || diff.key == "width" || diff.key == "hidden") {  // one setting, the flag the user gave
        diff.key = a.given("hidden") ? "hidden" : a.given("depth") ? "depth" : "width";
        auto widths = [](const inf::ProblemSpec& x) {
          std::string t;
          for (auto w : inf::hidden_widths(x)) t += (t.empty() ? "" : ",") + std::to_string(w);
          return t;
        };
        diff.want = diff.key == "hidden" ? widths(s) : std::to_string(diff.key == "depth" ? s.depth : s.width);
        diff.have = "hidden widths " + widths(d);
      }
      std::string opt = diff.key;
      for (auto& ch : opt) ch = ch == '_' ? '-' : ch;
      throw UsageError("--" + opt + " " + diff.want + " contradicts the checkpoint '" + pa.checkpoint + "', made with " + diff.have +
                       "; leave --" + opt + " out (the checkpoint gives it) or train a new model");
    }
  return pa;
}

inf::Problem obtain_problem(const ProblemArgs& pa, bool progress) {
  return pa.checkpoint.empty() ? inf::build_problem(pa.spec, progress) : inf::load_problem(pa.checkpoint);
}

std::string problem_usage() {
  return "problem options (every command):\n"
         "  --dataset NAME        " + inf::datasets().names() + ", or csv:PATH (iris)\n" +
         inf::datasets().help("      ") +
         "  --classes A,B,...     keep these classes (relabelled 0..); all: every class\n"
         "  --n-train N --n-test N  subsample (fashion-mnist defaults: 1000 and 500)\n"
         "  --test-fraction F     test share of the tabular sets (0.2)\n"
         "  --model M             (mlp)\n" + inf::model_kinds().help("      ") +
         "  --depth D --width W   MLP: D hidden layers of W units (1, 16)\n"
         "  --hidden W1,W2,...    MLP: hidden layers of these widths, e.g. 128,64 (instead of --depth/--width)\n"
         "  --activation A        " + nn::activations().names() + " (tanh)\n"
         "  --weight-decay L      λ in R(θ) = mean ℓ + λ/2 ‖θ‖² (0.001)\n"
         "  --optimizer O         (lbfgs; adam for cnn)\n" + nn::optimizers().help("      ") +
         "  --grad-tol T --max-steps N --epochs N --lr R --batch-size N\n"
         "  --checkpoint DIR      a trained problem (from `inflab train`): data, model, λ and θ̂ as saved;\n"
         "                        other problem options may only repeat its values\n"
         "  --seed S              data split, initialisation and every random choice (0)\n";
}

inf::SolverChoice read_solver(Args& a, inf::Method fallback) {
  inf::SolverChoice c;
  c.method = a.choice("method", inf::solver_methods(), fallback);
  c.damping = a.real("damping", 0, 0, 1e6);
  c.exact.indefinite = a.choice("indefinite", inf::indefinite_treatments(), inf::ExactOptions::Invert);
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

inf::CurvatureChoice read_curvature(Args& a) {
  inf::CurvatureChoice c = a.choice("curvature", inf::curvatures(), inf::Curvature::Hessian);
  const std::string name = "--curvature " + inf::curvatures().name(c.kind);
  if (!inf::factored(c.kind)) {
    for (const char* o : {"fisher", "fisher-seed"})
      if (a.given(o)) throw UsageError(std::string("--") + o + " applies to --curvature kfac or ekfac only");
    return c;
  }
  // K-FAC is one factored matrix: positive semi-definite + λI, the same on every mini-batch
  if (a.given("indefinite")) throw UsageError("--indefinite does not apply to " + name + " (its matrix is positive semi-definite + λI)");
  if (a.given("lissa-batch"))
    throw UsageError("--lissa-batch does not apply to " + name + " (one factored matrix built from all rows, not mini-batch products)");
  c.labels = a.choice("fisher", inf::fisher_labels(), inf::FisherLabels::Expected);
  if (c.labels != inf::FisherLabels::Sampled && a.given("fisher-seed"))
    throw UsageError("--fisher-seed applies to --fisher sampled only (--fisher " + inf::fisher_labels().name(c.labels) + " draws nothing)");
  c.seed = a.count("fisher-seed", 0);
  return c;
}

nlohmann::json curvature_json(const inf::CurvatureChoice& c) {
  nlohmann::json j = {{"curvature", inf::curvatures().name(c.kind)}};
  if (inf::factored(c.kind)) j["fisher"] = inf::fisher_labels().name(c.labels);
  if (inf::factored(c.kind) && c.labels == inf::FisherLabels::Sampled) j["fisher_seed"] = c.seed;
  return j;
}

std::string solver_usage(bool curvature) {
  return "solver options:\n  --method M          (exact)\n" + inf::solver_methods().help("      ") +
         "  --damping MU        solve (H + μI) x = b (0)\n" +
         (curvature ? "  --curvature C       (hessian)\n" + inf::curvatures().help("      ") +
                           "  --fisher F          kfac/ekfac output gradients (expected)\n" + inf::fisher_labels().help("      ") +
                           "  --fisher-seed S     sampled labels (0)\n"
                     : std::string()) +
         "  --indefinite F      exact (and self-influence) on an indefinite H (invert)\n" + inf::indefinite_treatments().help("      ") +
         "  --tol T --max-iterations N              cg / minres (1e-10, 1000)\n"
         "  --lissa-scale S --lissa-depth N --lissa-repeats N --lissa-batch N\n"
         "  --rank R                                lowrank (20)\n";
}

std::vector<std::size_t> read_save_steps(Args& a, const ProblemArgs& pa) {
  if (!a.given("save-steps")) return {};
  const std::vector<std::size_t> steps = a.counts("save-steps", {});
  if (nn::to_tolerance(pa.spec.optimizer))
    throw UsageError("--save-steps keeps θ after steps of an sgd or adam run (TracIn weighs them by the learning rate); this problem trains with " +
                     nn::optimizers().name(pa.spec.optimizer) + " (add --optimizer adam or sgd)");
  for (std::size_t s : steps)
    if (s == 0) throw UsageError("--save-steps: steps count from 1 (θ after that many optimizer steps)");
  return steps;
}

inf::RetrainProtocol read_retrain(Args& a, double default_tol) {
  inf::RetrainProtocol p;
  p.optimizer = a.choice("retrain", nn::optimizers(), nn::Optimizer::Lbfgs);
  p.grad_tol = a.real("retrain-tol", default_tol, 0, 1);
  p.max_steps = a.count("retrain-steps", 0);
  p.lr = a.real("retrain-lr", 1e-3, 1e-12, 1e3);
  p.epochs = a.count("retrain-epochs", 10, 1);
  p.escape_saddles = a.flag("escape-saddles");
  return p;
}

std::string retrain_usage() {
  return "retraining (ground truth) options:\n  --retrain O         from θ̂ without the removed rows (lbfgs)\n" +
         nn::optimizers().help("      ") +
         "  --retrain-tol T     ‖∇R‖ tolerance (1e-8; study groups 1e-10)   --retrain-steps N   step limit (0: optimizer default)\n"
         "  --retrain-lr R --retrain-epochs N           sgd / adam\n"
         "  --escape-saddles    a retrained θ with λmin(H) < 0 is perturbed along its eigenvector and retrained\n"
         "                      (up to 3 times): Δ is then measured at a lower stationary point (docs/influence.md)\n";
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void say(const Common& c, const std::string& text) {
  if (!c.quiet) std::fputs(text.c_str(), stdout), std::fflush(stdout);
}

void finish(const Common& c, const RunDir& rd, const std::string& screen, const Report& r) {
  std::string s = screen;
  if (const mpi::Session* m = mpi::session(); m && m->size() > 1)  // results do not depend on it; the screen says it
    s += "ran on " + std::to_string(m->size()) + " MPI ranks × " + std::to_string(c.threads) + (c.threads == 1 ? " thread\n" : " threads\n");
  r.write(rd, "inflab " + rd.command() + " — " + rd.dir(), s);
  say(c, s);
}

std::vector<std::size_t> test_rows(const std::string& spec, const inf::Problem& p) {
  try {
    return inf::pick_test_rows(spec, p, p.spec.seed);
  } catch (const Error& e) {
    throw UsageError(std::string("--") + e.what());
  }
}

std::size_t group_size(std::size_t n, double fraction, const std::string& option) {
  try {
    return inf::group_size(n, fraction);
  } catch (const Error& e) {
    throw UsageError("--" + option + ": " + e.what());
  }
}

std::string source_rows(const data::Dataset& d, const std::vector<std::size_t>& rows) {
  std::string s;
  for (auto i : rows) s += (s.empty() ? "" : " ") + std::to_string(d.source_row(i));
  return s;
}

std::string label_of(const data::Dataset& d, std::size_t i) { return d.class_names.at(d.y.at(i)); }
std::vector<double> vec(const Tensor& t) { return {t.begin(), t.end()}; }

json problem_json(const inf::Problem& p) {
  json spec;
  inf::to_json(spec, p.spec);
  return {{"spec", spec},
          {"dataset", p.train.name},
          {"train_rows", p.train.size()},
          {"test_rows", p.test.size()},
          {"classes", p.train.num_classes()},
          {"model", p.description},
          {"loss", nn::loss_name(p.obj->loss())},
          {"parameters", p.theta.size()},
          {"weight_decay", p.obj->weight_decay()},
          {"fit",
           {{"how", p.fit.how}, {"optimizer", p.fit.optimizer}, {"steps", p.fit.steps}, {"loss", p.fit.loss},
            {"grad_norm", p.fit.grad_norm}, {"converged", p.fit.converged}, {"stop_reason", p.fit.stop_reason}}},
          {"train_accuracy", p.train_accuracy},
          {"test_accuracy", p.test_accuracy},
          {"warnings", problem_warnings(p)}};
}

std::string problem_line(const inf::Problem& p) {
  std::string s = p.train.name + ": " + std::to_string(p.train.size()) + " train / " + std::to_string(p.test.size()) + " test rows; " +
                  p.description + " (" + std::to_string(p.theta.size()) + " parameters), λ = " + shortest(p.obj->weight_decay()) +
                  "; accuracy train " + fmt("%.3f", p.train_accuracy) + ", test " + fmt("%.3f", p.test_accuracy) + "; θ̂ " +
                  (p.fit.how == "trained" ? "by " + p.fit.optimizer + " (" + std::to_string(p.fit.steps) + " steps)" : "from " + p.fit.how.substr(11)) +
                  ", ‖∇R(θ̂)‖ = " + fmt("%.2e", p.fit.grad_norm) + "\n";
  for (const auto& w : problem_warnings(p)) s += "warning: " + w + "\n";
  return s;
}

std::vector<std::string> problem_warnings(const inf::Problem& p) {
  if (!(p.fit.grad_norm > inf::kStationaryTol)) return {};
  return {"θ̂ is not a stationary point of this objective (‖∇R‖ = " + fmt("%.2e", p.fit.grad_norm) + " > " + shortest(inf::kStationaryTol) +
          "); influence assumes one" +
          (p.fit.how == "trained" ? " — train longer (--max-steps, --epochs) or to a tolerance (--optimizer lbfgs)"
                                  : " — the checkpoint's θ̂ does not minimise its own objective")};
}

std::vector<std::string> warnings_of(const inf::Problem& p, const inf::SolveResult& s) {
  auto w = problem_warnings(p);
  if (!s.warning.empty()) w.push_back(s.warning);
  return w;
}

json solve_json(const inf::SolveResult& s) {
  return {{"method", s.method}, {"iterations", s.iterations}, {"products", s.products}, {"relative_residual", s.rel_residual},
          {"seconds", s.seconds}, {"negative_eigenvalues", s.negative}, {"note", s.note},
          {"converged", s.converged}, {"warning", s.warning}};
}

std::string solve_line(const inf::SolveResult& s) {
  return s.method + " solve, relative residual " + fmt("%.1e", s.rel_residual) + ", " + std::to_string(s.products) +
         " Hessian-vector products, " + fmt("%.2f", s.seconds) + " s" + (s.note.empty() ? "" : " (" + s.note + ")") +
         (s.warning.empty() ? "" : "\nwarning: " + s.warning);
}

namespace {
json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

json scores_json(const inf::Scores& s) {
  return {{"n", s.n}, {"pearson", num_or_null(s.pearson)}, {"spearman", num_or_null(s.spearman)},
          {"kendall_tau", num_or_null(s.kendall_tau)}, {"relative_error", num_or_null(s.relative_error)},
          {"signs_agree", s.signs_agree}, {"undefined", s.undefined}, {"caveat", s.caveat}};
}

std::string scores_line(const inf::Scores& s) {
  std::string l = s.undefined.empty() ? "Pearson " + fmt("%.3f", s.pearson) + "   Spearman " + fmt("%.3f", s.spearman) + "   Kendall τ " +
                                            fmt("%.3f", s.kendall_tau)
                                      : "no correlation: " + s.undefined;
  l += "   relative error " + (std::isfinite(s.relative_error) ? fmt("%.3f", s.relative_error) : std::string("n/a")) + "   signs agree " +
       std::to_string(s.signs_agree) + "/" + std::to_string(s.n) + "   (n = " + std::to_string(s.n) + ")";
  if (!s.caveat.empty()) l += "\n  caveat: " + s.caveat;
  return l;
}

json retrain_json(const inf::RetrainSummary& r) {
  return {{"jobs", r.jobs}, {"converged", r.converged}, {"saddles", r.saddles}, {"unresolved", r.unresolved}, {"resumed", r.resumed}};
}

std::string retrain_line(const inf::RetrainSummary& r) {
  std::string s = std::to_string(r.converged) + "/" + std::to_string(r.jobs) + " converged";
  s += ", " + std::to_string(r.saddles) + " at a saddle (λmin(H) < 0)";
  if (r.unresolved) s += ", " + std::to_string(r.unresolved) + " unresolved (no step taken)";
  if (r.resumed) s += "; resumed " + std::to_string(r.resumed) + " of " + std::to_string(r.jobs) + " from the journal";
  return s;
}

std::string retrain_status(const inf::RetrainRecord& r) { return inf::status_name(r.status); }

}  // namespace inflab::cli
