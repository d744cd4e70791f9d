#include "cli/common.hpp"

#include "experiments/benchmark.hpp"

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "mpi/session.hpp"
#include "nn/choices.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace ex = experiments;

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
  --dry-run      check the options and print the settings the run would record; run nothing
)";
}

ex::RetrainRun retrain_run(const Common& c, const RunDir& rd, const std::string& journal, bool progress) {
  ex::RetrainRun r;
  r.threads = c.threads;
  r.remote = mpi::session() ? mpi::session()->remote() : nullptr;
  r.results_path = journal.empty() ? "" : rd.path(journal);
  r.progress = progress && !c.quiet;
  return r;
}

ProblemArgs read_problem(Args& a, const ex::ProblemSpec& given_defaults, const std::string& no_checkpoint) {
  ProblemArgs pa;
  pa.checkpoint = a.text("checkpoint", "");
  if (!pa.checkpoint.empty() && !no_checkpoint.empty()) throw UsageError("--checkpoint does not apply: " + no_checkpoint);
  ex::ProblemSpec d = given_defaults;
  if (!pa.checkpoint.empty()) {
    if (!std::filesystem::is_directory(pa.checkpoint))
      throw UsageError("--checkpoint '" + pa.checkpoint + "': no such directory (give the checkpoint/ folder `inflab train` wrote)");
    d = ex::load_spec(pa.checkpoint);
  }
  ex::ProblemSpec& s = pa.spec;
  s.dataset = a.text("dataset", d.dataset);
  if (s.dataset.rfind("csv:", 0) != 0 && !ex::datasets().has(s.dataset))
    throw UsageError("--dataset '" + s.dataset + "' is not one of: " + ex::datasets().names() + ", csv:PATH");
  if (a.given("classes") && a.text("classes", "") == "all") s.classes.clear();  // undoes a default selection
  else s.classes = a.counts("classes", d.classes);
  s.n_train = a.count("n-train", d.n_train);
  s.n_test = a.count("n-test", d.n_test);
  s.test_fraction = a.real("test-fraction", d.test_fraction, 0.01, 0.9);
  s.model = a.choice("model", ex::model_kinds(), d.model);
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
  const bool cnn_default = pa.checkpoint.empty() && s.model == ex::ModelKind::Cnn && !a.given("optimizer");
  s.optimizer = a.choice("optimizer", nn::optimizers(), cnn_default ? nn::Optimizer::Adam : d.optimizer);
  s.epochs = a.count("epochs", d.epochs, 1);
  s.batch_size = a.count("batch-size", d.batch_size);
  s.max_steps = a.count("max-steps", d.max_steps);
  s.lr = a.real("lr", d.lr, 1e-12, 1e3);
  s.grad_tol = a.real("grad-tol", d.grad_tol, 0, 1e3);
  if (s.grad_tol == 0 && nn::to_tolerance(s.optimizer))
    throw UsageError("--grad-tol 0 is never met by " + nn::optimizers().name(s.optimizer) +
                     "; give a tolerance > 0 (default 1e-8), or cap the iterations with --max-steps");
  s.seed = a.count("seed", d.seed);
  if (!pa.checkpoint.empty())
    for (auto diff : ex::differences(d, s)) {
      if (diff.key == "depth" || diff.key == "width" || diff.key == "hidden") {  // one setting, the flag the user gave
        diff.key = a.given("hidden") ? "hidden" : a.given("depth") ? "depth" : "width";
        auto widths = [](const ex::ProblemSpec& x) {
          std::string t;
          for (auto w : ex::hidden_widths(x)) t += (t.empty() ? "" : ",") + std::to_string(w);
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

ex::Problem obtain_problem(const ProblemArgs& pa, bool progress, const std::vector<std::size_t>& save_steps,
                           const ex::ParamsCheck& before_training) {
  if (!save_steps.empty() || pa.checkpoint.empty()) return ex::build_problem(pa.spec, progress, save_steps, before_training);
  ex::Problem p = ex::load_problem(pa.checkpoint);
  if (before_training) before_training(p.theta.size());
  return p;
}

ex::ParamsCheck feasible_for(const EstimatorArgs& ea) {
  return [method = ea.method, settings = ea.settings](std::size_t p) { ex::check_feasible(method, settings, p); };
}

std::string problem_usage(const ex::ProblemSpec& d) {
  return "problem options (every command):\n"
         "  --dataset NAME        " + ex::datasets().names() + ", or csv:PATH (" + d.dataset + ")\n" +
         ex::datasets().help("      ") +
         "  --classes A,B,...     keep these classes (relabelled 0..); all: every class\n"
         "  --n-train N --n-test N  subsample (fashion-mnist defaults: " + std::to_string(d.n_train ? d.n_train : 1000) + " and 500)\n"
         "  --test-fraction F     test share of the tabular sets (0.2)\n"
         "  --model M             (" + ex::model_kinds().name(d.model) + ")\n" + ex::model_kinds().help("      ") +
         "  --depth D --width W   MLP: D hidden layers of W units (1, 16)\n"
         "  --hidden W1,W2,...    MLP: hidden layers of these widths, e.g. 128,64 (instead of --depth/--width)\n"
         "  --activation A        " + nn::activations().names() + " (tanh)\n"
         "  --weight-decay L      λ in R(θ) = mean ℓ + λ/2 ‖θ‖² (" + shortest(d.weight_decay) + ")\n"
         "  --optimizer O         (lbfgs; adam for cnn)\n" + nn::optimizers().help("      ") +
         "  --grad-tol T --max-steps N --epochs N --lr R --batch-size N\n"
         "  --checkpoint DIR      a trained problem (from `inflab train`): data, model, λ and θ̂ as saved;\n"
         "                        other problem options may only repeat its values\n"
         "  --seed S              data split, initialisation and every random choice (0)\n";
}

namespace {
// The estimators' options, one row each: how it is read (the fallback is the settings'
// current value, so defaults live in ex::EstimatorSettings) and its line of help. Which
// --method reads an option comes from the estimator table (influence/estimator.cpp).
struct EstimatorOption {
  const char* name;
  const char* value;  // what the help calls its value
  const char* help;
  void (*read)(Args&, const std::string& name, ex::EstimatorSettings&);
  std::string (*fallback)(const ex::EstimatorSettings&);  // as the help shows it
};
std::string num(double v) { return shortest(v); }
std::string whole(std::size_t v) { return std::to_string(v); }
const std::vector<EstimatorOption>& estimator_option_table() {
  using S = ex::EstimatorSettings;
  static const std::vector<EstimatorOption> t = {
      {"curvature", "C", "the matrix inverted", [](Args&, const std::string&, S&) {}, [](const S& s) { return ex::curvatures().name(s.curvature.kind); }},
      {"fisher", "F", "kfac/ekfac: the output gradients", [](Args&, const std::string&, S&) {}, [](const S& s) { return ex::fisher_labels().name(s.curvature.labels); }},
      {"fisher-seed", "S", "kfac/ekfac with --fisher sampled", [](Args&, const std::string&, S&) {}, [](const S& s) { return whole(s.curvature.seed); }},
      {"damping", "MU", "μ in (H + μI)⁻¹ (trak: (P G Pᵀ + μI)⁻¹)", [](Args& a, const std::string& n, S& s) { s.solver.damping = a.real(n, s.solver.damping, 0, 1e6); },
       [](const S& s) { return num(s.solver.damping); }},
      {"indefinite", "F", "exact (and self-influence) on an indefinite H",
       [](Args& a, const std::string& n, S& s) { s.solver.exact.indefinite = a.choice(n, ex::indefinite_treatments(), s.solver.exact.indefinite); },
       [](const S& s) { return ex::indefinite_treatments().name(s.solver.exact.indefinite); }},
      {"tol", "T", "relative residual to stop at",
       [](Args& a, const std::string& n, S& s) {
         s.solver.cg.tol = a.real(n, s.solver.cg.tol, 0, 1);
         if (s.solver.cg.tol == 0) throw UsageError("--tol 0 is never met in floating point; give a residual > 0 (e.g. 1e-14)");
       },
       [](const S& s) { return num(s.solver.cg.tol); }},
      {"max-iterations", "N", "iteration limit", [](Args& a, const std::string& n, S& s) { s.solver.cg.max_iterations = a.count(n, s.solver.cg.max_iterations, 1); },
       [](const S& s) { return whole(s.solver.cg.max_iterations); }},
      {"lissa-scale", "S", "above λmax(H + μI)", [](Args& a, const std::string& n, S& s) { s.solver.lissa.scale = a.real(n, s.solver.lissa.scale, 1e-12, 1e12); },
       [](const S& s) { return num(s.solver.lissa.scale); }},
      {"lissa-depth", "N", "terms of the series", [](Args& a, const std::string& n, S& s) { s.solver.lissa.depth = a.count(n, s.solver.lissa.depth, 1); },
       [](const S& s) { return whole(s.solver.lissa.depth); }},
      {"lissa-repeats", "N", "series averaged", [](Args& a, const std::string& n, S& s) { s.solver.lissa.repeats = a.count(n, s.solver.lissa.repeats, 1); },
       [](const S& s) { return whole(s.solver.lissa.repeats); }},
      {"lissa-batch", "N", "rows per product (0: all)", [](Args& a, const std::string& n, S& s) { s.solver.lissa.batch = a.count(n, s.solver.lissa.batch); },
       [](const S& s) { return whole(s.solver.lissa.batch); }},
      {"rank", "R", "eigenpairs kept", [](Args& a, const std::string& n, S& s) { s.solver.lowrank.rank = a.count(n, s.solver.lowrank.rank, 1); },
       [](const S& s) { return whole(s.solver.lowrank.rank); }},
      {"solver-seed", "S", "lissa's batches, lowrank's start",
       [](Args& a, const std::string& n, S& s) { s.solver.lissa.seed = s.solver.lowrank.seed = a.count(n, s.solver.lissa.seed); },
       [](const S& s) { return whole(s.solver.lissa.seed); }},
      {"save-steps", "S1,S2", "θ kept after these sgd/adam steps (training here)", [](Args&, const std::string&, S&) {},
       [](const S&) { return std::string("none"); }},
      {"projection-dim", "K", "k, 1 ≤ k ≤ p",
       [](Args& a, const std::string& n, S& s) {
         s.trak.dim = a.count(n, s.trak.dim);
         if (a.given(n) && s.trak.dim == 0) throw UsageError("--projection-dim 0: the projection dimension must be at least 1");
         if (!a.given(n)) a.unrecord(n);  // its default depends on p: not recorded as 0, which command.txt could not repeat
       },
       [](const S& s) { return s.trak.dim ? whole(s.trak.dim) : std::string("min(p, 256)"); }},
      {"projection", "P", "the random projection", [](Args& a, const std::string& n, S& s) { s.trak.projection = a.choice(n, ex::projections(), s.trak.projection); },
       [](const S& s) { return ex::projections().name(s.trak.projection); }},
      {"projection-seed", "S", "", [](Args& a, const std::string& n, S& s) { s.trak.seed = a.count(n, s.trak.seed); },
       [](const S& s) { return whole(s.trak.seed); }},
      {"models", "M", "models from other seeds, averaged", [](Args& a, const std::string& n, S& s) { s.models = a.count(n, s.models, 1, 1000); },
       [](const S& s) { return whole(s.models); }},
  };
  return t;
}
bool reads(const ex::EstimatorRow& r, const std::string& option) {
  return std::find(r.options.begin(), r.options.end(), option) != r.options.end();
}
// the rows that read an option, "cg, minres"
std::string readers(const std::string& option, bool solvers_only) {
  std::string s;
  for (const auto& r : ex::estimator_rows())
    if (reads(r, option) && (!solvers_only || r.method)) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}
bool is_curvature_option(const std::string& o) { return o == "curvature" || o == "fisher" || o == "fisher-seed"; }

// --curvature, and for kfac/ekfac --fisher and --fisher-seed; options given that contradict
// the curvature are refused (influence::option_conflict)
ex::CurvatureChoice read_curvature_options(Args& a, ex::CurvatureChoice c) {
  c.kind = a.choice("curvature", ex::curvatures(), c.kind);
  if (ex::factored(c.kind)) {
    c.labels = a.choice("fisher", ex::fisher_labels(), c.labels);
    c.seed = a.count("fisher-seed", c.seed);
  }
  ex::EstimatorSettings s;
  s.curvature = c;
  std::vector<std::string> given;
  for (const char* o : {"fisher", "fisher-seed", "indefinite", "lissa-batch"})
    if (a.given(o)) given.push_back(o);
  if (const std::string why = ex::option_conflict(s, given, [](const std::string& o) { return "--" + o; }); !why.empty()) throw UsageError(why);
  return c;
}
}  // namespace

ex::EstimatorSettings read_estimator_settings(Args& a, const std::vector<ex::Estimator>& chosen, const EstimatorScope& scope,
                                             ex::EstimatorSettings s) {
  auto any_reads = [&](const std::string& o) {
    return std::any_of(chosen.begin(), chosen.end(), [&](ex::Estimator e) { return reads(ex::row_of(e), o); });
  };
  std::string names;
  for (auto e : chosen) names += (names.empty() ? "" : ", ") + ex::row_of(e).name;
  const std::string what = chosen.size() == 1 && !scope.benchmark_defaults ? "--method " + names : "--estimators " + names;
  for (const auto& o : estimator_option_table()) {
    if (!scope.curvature && is_curvature_option(o.name)) continue;  // not this command's: an unknown option
    if (!scope.estimators && readers(o.name, true).empty()) continue;
    if (scope.benchmark_defaults && std::string(o.name) == "save-steps") continue;  // the benchmark trains its own problems
    if (any_reads(o.name)) {
      o.read(a, o.name, s);
    } else if (a.given(o.name)) {
      const std::string r = readers(o.name, !scope.estimators);
      throw UsageError("--" + std::string(o.name) + " does not apply to " + what + (r.empty() ? "" : " (it sets " + r + ")"));
    }
  }
  const bool solves = std::any_of(chosen.begin(), chosen.end(), [](ex::Estimator e) { return ex::row_of(e).method.has_value(); });
  if (solves && scope.curvature) s.curvature = read_curvature_options(a, s.curvature);
  if (chosen.size() == 1 && ex::row_of(chosen[0]).method) s.solver.method = *ex::row_of(chosen[0]).method;
  return s;
}

ex::Estimator read_method(Args& a, const EstimatorScope& scope, ex::Estimator fallback) {
  const ex::Estimator e = a.choice("method", ex::estimators(), fallback);
  if (!scope.estimators && !ex::row_of(e).method) {
    std::string solvers;
    for (const auto& r : ex::estimator_rows())
      if (r.method) solvers += (solvers.empty() ? "" : ", ") + r.name;
    throw UsageError("--method " + ex::row_of(e).name + " is an estimator of its own; this command takes an inverse-HVP solver: " + solvers);
  }
  return e;
}

ex::SolverChoice read_solver(Args& a, bool curvature, ex::CurvatureChoice* c) {
  const EstimatorScope scope{false, curvature, false};
  const ex::EstimatorSettings s = read_estimator_settings(a, {read_method(a, scope)}, scope);
  if (c) *c = s.curvature;
  return s.solver;
}

ex::CurvatureChoice read_curvature(Args& a) { return read_curvature_options(a, {}); }

nlohmann::json curvature_json(const ex::CurvatureChoice& c) {
  nlohmann::json j = {{"curvature", ex::curvatures().name(c.kind)}};
  if (ex::factored(c.kind)) j["fisher"] = ex::fisher_labels().name(c.labels);
  if (ex::factored(c.kind) && c.labels == ex::FisherLabels::Sampled) j["fisher_seed"] = c.seed;
  return j;
}

std::string estimator_usage(const EstimatorScope& scope, const ex::EstimatorSettings& defaults) {
  std::string h = "estimator options:\n";
  if (!scope.benchmark_defaults) {  // the benchmark names its estimators in --estimators
    h += "  --method M     (exact)\n";
    for (const auto& r : ex::estimator_rows())
      if (scope.estimators || r.method) h += "      " + r.name + std::string(10 - std::min<std::size_t>(9, r.name.size()), ' ') + r.help + "\n";
  }
  for (const auto& o : estimator_option_table()) {
    const std::string who = readers(o.name, !scope.estimators);
    if (who.empty() || (!scope.curvature && is_curvature_option(o.name))) continue;
    if (scope.benchmark_defaults && std::string(o.name) == "save-steps") continue;
    std::string head = "  --" + std::string(o.name) + " " + o.value;
    head += std::string(head.size() < 24 ? 24 - head.size() : 1, ' ');
    h += head + who + (o.help[0] ? ": " + std::string(o.help) : "") + " (" + o.fallback(defaults) + ")\n";
    if (std::string(o.name) == "curvature") h += ex::curvatures().help("      ");
    if (std::string(o.name) == "fisher") h += ex::fisher_labels().help("      ");
    if (std::string(o.name) == "indefinite") h += ex::indefinite_treatments().help("      ");
  }
  return h;
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

ex::RetrainProtocol read_retrain(Args& a, double default_tol) {
  ex::RetrainProtocol p;
  p.target = a.choice("retrain-target", ex::retrain_targets(), p.target);
  p.damping = a.real("retrain-damping", 0, 0, 1e6);
  if (p.damping != 0 && !ex::damped(p.target))  // 0 is accepted: command.txt repeats every setting
    throw UsageError("--retrain-damping is the proximity damping μ of --retrain-target loo-proximal and pbrf; this run retrains " +
                     ex::retrain_targets().name(p.target));
  p.escape_saddles = a.flag("escape-saddles");
  if (ex::from_scratch(p.target)) {  // θ̂'s own training (experiments::for_problem): nothing of the retraining's is read
    for (const char* o : {"retrain", "retrain-tol", "retrain-steps", "retrain-lr", "retrain-epochs", "retrain-precondition", "retrain-precondition-rank"})
      if (a.given(o))
        throw UsageError("--retrain-target " + ex::retrain_targets().name(p.target) + " trains as θ̂ was trained (--optimizer, --tol, --max-steps, --lr, --epochs, --batch-size); --" + o +
                         " does not apply");
    if (p.target == ex::RetrainTarget::Unrolled && p.escape_saddles)
      throw UsageError("--escape-saddles: --retrain-target unrolled replays a training run for its budget; it has no saddle to escape");
    return p;
  }
  p.optimizer = a.choice("retrain", nn::optimizers(), p.optimizer);
  p.grad_tol = a.real("retrain-tol", default_tol, 0, 1);
  if (p.grad_tol == 0 && nn::to_tolerance(p.optimizer))
    throw UsageError("--retrain-tol 0 is never met by " + nn::optimizers().name(p.optimizer) +
                     "; give a tolerance > 0 (default " + shortest(default_tol) + "), or cap the steps with --retrain-steps");
  p.max_steps = a.count("retrain-steps", 0);
  p.lr = a.real("retrain-lr", 1e-3, 1e-12, 1e3);
  p.epochs = a.count("retrain-epochs", 10, 1);
  p.preconditioning = a.choice("retrain-precondition", ex::retrain_preconditionings(), p.preconditioning);
  p.preconditioner_rank = a.count("retrain-precondition-rank", p.preconditioner_rank, 1, 1000);  // 2K Lanczos vectors of p doubles
  for (const char* o : {"retrain-precondition", "retrain-precondition-rank"})
    if (a.given(o) && p.optimizer != nn::Optimizer::NewtonCg)
      throw UsageError(std::string("--") + o + " sets newton-cg's preconditioner; this run retrains with " +
                       nn::optimizers().name(p.optimizer) + " (add --retrain newton-cg)");
  if (a.given("retrain-precondition-rank") && p.preconditioning != ex::RetrainPreconditioning::Spectral)
    throw UsageError("--retrain-precondition-rank is the spectral preconditioner's rank; this run uses --retrain-precondition " +
                     ex::retrain_preconditionings().name(p.preconditioning));
  if (ex::damped(p.target) && !nn::to_tolerance(p.optimizer))
    throw UsageError("--retrain-target " + ex::retrain_targets().name(p.target) + " is minimised to a tolerance: --retrain lbfgs, newton-cg or newton, not " +
                     nn::optimizers().name(p.optimizer));
  return p;
}

std::vector<ex::BenchEntry> read_bench_entries(Args& a, const std::string& fallback) {
  std::vector<ex::BenchEntry> out;
  const std::string list = a.text("estimators", fallback);
  for (std::size_t start = 0, end; start <= list.size(); start = end + 1) {
    end = std::min(list.find(',', start), list.size());
    try {
      out.push_back(ex::parse_bench_entry(list.substr(start, end - start)));
    } catch (const Error& e) {
      throw UsageError(std::string("--estimators: ") + e.what());
    }
  }
  return out;
}

TruthWords truth_words(const ex::RetrainProtocol& p) {
  const std::string mu = " (μ = " + shortest(p.damping) + ")", opt = nn::optimizers().name(p.optimizer);
  switch (p.target) {
    case ex::RetrainTarget::LooCold:
      return {"Cold leave-one-out", "change of the test loss, trained from the initialisation without the row",
              "Trained as θ̂ was (" + opt + ", from its initialisation) without", "actual Δ"};
    case ex::RetrainTarget::LooProximal:
      return {"Proximal leave-one-out" + mu, "change of the test loss at the proximal leave-one-out minimiser",
              "The proximal leave-one-out objective" + mu + " (docs/influence.md) minimised (" + opt + ", from θ̂) for", "target Δ"};
    case ex::RetrainTarget::Pbrf:
      return {"PBRF" + mu, "change of the test loss at the PBRF" + mu + " minimiser", "The PBRF" + mu + " (docs/influence.md) minimised (" + opt + ", from θ̂) for", "target Δ"};
    case ex::RetrainTarget::Unrolled:
      return {"Replayed training run", "change of the test loss, θ̂'s sgd run replayed with the row's weight 0",
              "θ̂'s sgd run replayed from its initialisation with weight 0 for", "actual Δ"};
    case ex::RetrainTarget::Loo: break;
  }
  return {"Leave-one-out", "actual change of the test loss (retrained)", "Retrained (" + opt + ", from θ̂) without", "actual Δ"};
}

std::string retrain_usage() {
  return "retraining (ground truth) options:\n  --retrain O         from θ̂ without the removed rows (newton-cg)\n" +
         nn::optimizers().help("      ") +
         "  --retrain-tol T     ‖∇R‖ tolerance (1e-8; study groups 1e-10)   --retrain-steps N   step limit (0: optimizer default)\n"
         "  --retrain-lr R --retrain-epochs N           sgd / adam\n"
         "  --retrain-precondition P  newton-cg's preconditioner, built once at θ̂ for all jobs (spectral)\n" +
         ex::retrain_preconditionings().help("      ") +
         "  --retrain-precondition-rank K  the spectral preconditioner's eigenpairs (64, at most 1000)\n"
         "  --retrain-target T  the reference Δ (loo); loo-cold and unrolled train as θ̂ was, not with --retrain*\n" + ex::retrain_targets().help("      ") +
         "  --retrain-damping MU  the proximity μ of loo-proximal and pbrf (0; pbrf with λ = 0 needs μ > 0);\n"
         "                      the PBRF is what influence on the Gauss–Newton matrix with damping μ answers\n"
         "  --escape-saddles    a retrained θ with λmin(H) < 0 is perturbed along its eigenvector and retrained\n"
         "                      (up to 3 times): Δ is then measured at a lower stationary point (docs/influence.md)\n";
}

// the settings an estimate ran with, as summary.json records them
json estimate_json(const ex::Estimate& e) {
  json j = {{"estimator", ex::estimators().name(e.estimator)}, {"seconds", e.seconds}};
  for (const auto& d : e.details)
    j[d.key] = !d.text.empty() ? json(d.text) : d.numbers.size() == 1 ? json(d.numbers[0]) : json(d.numbers);
  return j;
}

void check_estimator(const EstimatorArgs& ea, const ex::Problem& p, const ProblemArgs& pa) {
  const ex::EstimatorRow& row = ex::row_of(ea.method);
  const ex::EstimatorSettings& s = ea.settings;
  if (row.id == ex::Estimator::TracIn && p.trajectory.empty())
    throw UsageError("--method tracin needs parameters saved during training, and checkpoint '" + pa.checkpoint +
                     "' has none: train it with --save-steps S1,S2,… (an sgd or adam run)");
  if (row.id == ex::Estimator::Trak && s.trak.dim > p.theta.size())
    throw UsageError("--projection-dim " + std::to_string(s.trak.dim) + " is above the parameter count p = " + std::to_string(p.theta.size()));
}

namespace {
std::vector<std::size_t> read_tracin_steps(Args& a, const ProblemArgs& pa) {
  if (a.given("save-steps") && !pa.checkpoint.empty())
    throw UsageError("--save-steps trains here; the --checkpoint brings its own saved steps (`inflab train --save-steps`)");
  std::vector<std::size_t> steps = read_save_steps(a, pa);
  if (steps.empty() && pa.checkpoint.empty())
    throw UsageError("--method tracin needs parameters saved during training: give --save-steps S1,S2,… (steps of an sgd or adam run), "
                     "or a --checkpoint trained with --save-steps");
  return steps;
}
}  // namespace


EstimatorArgs read_estimator(Args& a, const ProblemArgs& pa, const EstimatorScope& scope) {
  EstimatorArgs ea;
  ea.method = read_method(a, scope);
  ea.settings = read_estimator_settings(a, {ea.method}, scope);
  if (ea.method == ex::Estimator::TracIn) ea.save_steps = read_tracin_steps(a, pa);
  return ea;
}

std::string estimate_line(const ex::Estimate& e) {
  return e.solves.size() == 1 ? solve_line(e.solves[0]) : e.description + ", " + fmt("%.3g", e.seconds) + " s";
}

std::vector<std::string> estimate_warnings(const ex::Problem& p, const ex::Estimate& e, const std::vector<std::size_t>& rows) {
  std::vector<std::string> w = problem_warnings(p, ex::row_of(e.estimator).at_minimum);
  for (std::size_t j = 0; j < e.solves.size(); ++j)
    if (!e.solves[j].warning.empty()) w.push_back((e.solves.size() > 1 ? "test row " + std::to_string(rows.at(j)) + ": " : "") + e.solves[j].warning);
  return w;
}

json estimate_summary(const ex::Estimate& e, const ex::EstimatorSettings& s) {
  if (e.solves.empty()) return {{"estimator", estimate_json(e)}};
  json j = {{"damping", s.solver.damping}, {"solve", solve_json(e.solves[0])}, {"grad_norm", e.grad_norm}};
  j.update(curvature_json(s.curvature));
  return j;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void say(const Common& c, const std::string& text) {
  if (!c.quiet) std::fputs(text.c_str(), stdout), std::fflush(stdout);
}

// "Files: DIR/{a, b, …}": what the run directory holds, listed from it (so never a file the
// command did not write), without the lock and partial writes, and index.html (written next)
static std::string files_line(const RunDir& rd) {
  std::vector<std::string> names = {"index.html"};
  for (const auto& e : std::filesystem::directory_iterator(rd.dir())) {
    const std::string f = e.path().filename().string();
    if (f.empty() || f[0] == '.' || f.find(".tmp-") != std::string::npos || f == "index.html") continue;
    names.push_back(e.is_directory() ? f + "/" : f);
  }
  std::sort(names.begin(), names.end());
  std::string s;
  for (const auto& f : names) s += (s.empty() ? "" : ", ") + f;
  return "Files: " + rd.dir() + "/{" + s + "}\n";
}

void finish(const Common& c, const RunDir& rd, const std::string& screen, const Report& r) {
  std::string s = screen;
  if (const mpi::Session* m = mpi::session(); m && m->size() > 1)  // results do not depend on it; the screen says it
    s += "ran on " + std::to_string(m->size()) + " MPI ranks × " + std::to_string(c.threads) + (c.threads == 1 ? " thread\n" : " threads\n");
  s += files_line(rd);
  r.write(rd, "inflab " + rd.command() + " — " + rd.dir(), s);
  say(c, s);
  if (c.quiet) {  // --quiet silences results, never a warning: those lines go to stderr
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
      if (line.find("warning:") != std::string::npos || line.find("caveat:") != std::string::npos) std::fprintf(stderr, "%s\n", line.c_str());
  }
}

std::vector<std::size_t> test_rows(const std::string& spec, const ex::Problem& p) {
  try {
    return ex::pick_test_rows(spec, p, p.spec.seed);
  } catch (const Error& e) {
    throw UsageError(std::string("--") + e.what());
  }
}

std::size_t group_size(std::size_t n, double fraction, const std::string& option) {
  try {
    return ex::group_size(n, fraction);
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

json problem_json(const ex::Problem& p) {
  json spec;
  ex::to_json(spec, p.spec);
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
           {{"how", p.fit.how()}, {"optimizer", p.fit.optimizer}, {"steps", p.fit.steps}, {"loss", p.fit.loss},
            {"grad_norm", p.fit.grad_norm}, {"converged", p.fit.converged}, {"stop_reason", p.fit.stop_reason}}},
          {"train_accuracy", p.train_accuracy},
          {"test_accuracy", p.test_accuracy},
          {"warnings", problem_warnings(p)}};
}

std::string problem_line(const ex::Problem& p, bool at_minimum) {
  std::string s = p.train.name + ": " + std::to_string(p.train.size()) + " train / " + std::to_string(p.test.size()) + " test rows; " +
                  p.description + " (" + std::to_string(p.theta.size()) + " parameters), λ = " + shortest(p.obj->weight_decay()) +
                  "; accuracy train " + fmt("%.3f", p.train_accuracy) + ", test " + fmt("%.3f", p.test_accuracy) + "; θ̂ " +
                  (p.fit.trained() ? "by " + p.fit.optimizer + " (" + std::to_string(p.fit.steps) + " steps)" : "from " + p.fit.checkpoint) +
                  ", ‖∇R(θ̂)‖ = " + fmt("%.2e", p.fit.grad_norm) + "\n";
  for (const auto& w : problem_warnings(p, at_minimum)) s += "warning: " + w + "\n";
  return s;
}

std::vector<std::string> problem_warnings(const ex::Problem& p, bool at_minimum) {
  std::vector<std::string> w;
  const auto counts = p.train.class_counts();
  std::string absent;
  for (std::size_t c = 0; c < counts.size(); ++c)
    if (counts[c] == 0) absent += (absent.empty() ? "" : ", ") + p.train.class_names.at(c);
  if (!absent.empty())
    w.push_back("the training rows hold no row of class " + absent + ": the model's output for it is trained by no example (raise --n-train)");
  if (!at_minimum || !(p.fit.grad_norm > ex::kStationaryTol)) return w;
  w.push_back("θ̂ is not a stationary point of this objective (‖∇R‖ = " + fmt("%.2e", p.fit.grad_norm) + " > " + shortest(ex::kStationaryTol) +
          "); influence assumes one" +
          (!p.fit.trained() ? " — the checkpoint's θ̂ does not minimise its own objective"
           : nn::to_tolerance(p.spec.optimizer)  // already to a tolerance: more steps, or a stricter one cannot help a stall
               ? " — " + nn::optimizers().name(p.spec.optimizer) + " stopped (" + p.fit.stop_reason + "): raise --max-steps, or a larger --weight-decay conditions R better"
               : " — train longer (--epochs) or to a tolerance (--optimizer lbfgs)"));
  return w;
}

std::vector<std::string> warnings_of(const ex::Problem& p, const ex::SolveResult& s) {
  auto w = problem_warnings(p);
  if (!s.warning.empty()) w.push_back(s.warning);
  return w;
}

json solve_json(const ex::SolveResult& s) {
  return {{"method", ex::solver_methods().name(s.method)}, {"iterations", s.iterations}, {"products", s.products}, {"relative_residual", s.rel_residual},
          {"seconds", s.seconds}, {"negative_eigenvalues", s.negative}, {"note", s.note},
          {"converged", s.converged}, {"warning", s.warning}};
}

std::string solve_line(const ex::SolveResult& s) {
  return ex::solver_methods().name(s.method) + " solve, relative residual " + fmt("%.1e", s.rel_residual) + ", " + std::to_string(s.products) +
         " Hessian-vector products, " + fmt("%.2f", s.seconds) + " s" + (s.note.empty() ? "" : " (" + s.note + ")") +
         (s.warning.empty() ? "" : "\nwarning: " + s.warning);
}

namespace {
json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

json scores_json(const ex::Scores& s) {
  return {{"n", s.n}, {"pearson", num_or_null(s.pearson)}, {"spearman", num_or_null(s.spearman)},
          {"kendall_tau", num_or_null(s.kendall_tau)}, {"relative_error", num_or_null(s.relative_error)},
          {"signs_agree", s.signs_agree}, {"undefined", s.undefined}, {"caveat", s.caveat}};
}

std::string scores_line(const ex::Scores& s) {
  std::string l = s.undefined.empty() ? "Pearson " + fmt("%.3f", s.pearson) + "   Spearman " + fmt("%.3f", s.spearman) + "   Kendall τ " +
                                            fmt("%.3f", s.kendall_tau)
                                      : "no correlation: " + s.undefined;
  l += "   relative error " + (std::isfinite(s.relative_error) ? fmt("%.3f", s.relative_error) : std::string("n/a")) + "   signs agree " +
       std::to_string(s.signs_agree) + "/" + std::to_string(s.n) + "   (n = " + std::to_string(s.n) + ")";
  if (!s.caveat.empty()) l += "\n  caveat: " + s.caveat;
  return l;
}

json retrain_json(const ex::RetrainSummary& r) {
  return {{"jobs", r.jobs},       {"converged", r.converged},   {"saddles", r.saddles},
          {"budget", r.budget},   {"unresolved", r.unresolved}, {"replayed", r.replayed}, {"resumed", r.resumed}};
}

std::string retrain_line(const ex::RetrainSummary& r) {
  // a replayed run (target unrolled) seeks no minimum: no saddle to count
  std::string s = r.replayed ? std::to_string(r.replayed) + "/" + std::to_string(r.jobs) + " replayed (the run's exact Δ)"
                             : std::to_string(r.converged) + "/" + std::to_string(r.jobs) + " converged, " + std::to_string(r.saddles) + " at a saddle (λmin(H) < 0)";
  if (r.budget) s += ", " + std::to_string(r.budget) + " stopped before the tolerance or ran a fixed budget";
  if (r.unresolved) s += ", " + std::to_string(r.unresolved) + " unresolved (no step taken)";
  if (r.resumed) s += "; resumed " + std::to_string(r.resumed) + " of " + std::to_string(r.jobs) + " from the journal";
  return s;
}

std::string retrain_status(const ex::RetrainRecord& r) { return ex::status_name(r.status); }

}  // namespace inflab::cli
