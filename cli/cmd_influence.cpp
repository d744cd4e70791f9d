// influence, validate: Δ̂ of every training row for test points, and its check against
// leave-one-out retraining. Parse → call influence/ → render.
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>

#include <xtensor/xview.hpp>

#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "cli/gallery.hpp"
#include "cli/plot.hpp"
#include "influence/tracin.hpp"
#include "influence/trak.hpp"
#include "nn/choices.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace inf = influence;

namespace {
// influence.csv: one row per training row, one column per test point
void write_influence_csv(const RunDir& rd, const inf::Problem& p, const std::vector<std::size_t>& rows, const Tensor& D,
                         const std::string& quantity) {
  std::vector<std::string> head = {"train_row", "source_row", "label"};
  for (auto t : rows) head.push_back(quantity + "_test" + std::to_string(t));
  CsvLog out(rd.path("influence.csv"), head);
  for (std::size_t i = 0; i < p.train.size(); ++i) {
    std::vector<std::string> r = {std::to_string(i), std::to_string(p.train.source_row(i)), label_of(p.train, i)};
    for (std::size_t j = 0; j < rows.size(); ++j) r.push_back(CsvLog::cell(D(j, i)));
    out.row(r);
  }
}
}  // namespace

namespace {
// one test point: its top lists in top.csv and on screen, its summary entry
// how: the solve (or the estimator) as JSON under `how_key` and as a screen line
json render_test_point(const inf::Problem& p, std::size_t t, const Tensor& d, const std::string& how_key, const json& how, const std::string& how_line,
                       const std::string& quantity, std::size_t top, CsvLog& topcsv, std::ostream& screen) {
  double loss = 0;
  inf::test_loss_gradient(*p.obj, p.test, {t}, p.theta, &loss);
  const std::size_t src = p.test.source_row(t), n = p.train.size();
  json item = {{"test_row", t}, {"test_source_row", src}, {"test_loss", loss}, {"label", label_of(p.test, t)}, {how_key, how}};
  screen << "test row " << t << " (source row " << src << ", " << label_of(p.test, t) << ", loss " << fmt("%.4g", loss) << "): " << how_line
         << "\n";
  for (const bool helpful : {true, false}) {
    json list = json::array();
    const auto tk = inf::top_k(d, top, helpful);
    screen << (helpful ? "  most helpful (removing raises the loss):" : "  most harmful (removing lowers it):  ");
    for (std::size_t r = 0; r < tk.size(); ++r) {
      const std::size_t i = tk[r].index;
      topcsv.row({std::to_string(t), std::to_string(src), helpful ? "helpful" : "harmful", std::to_string(r + 1), std::to_string(i),
                  std::to_string(p.train.source_row(i)), label_of(p.train, i), CsvLog::cell(tk[r].value)});
      list.push_back({{"train_row", i}, {"source_row", p.train.source_row(i)}, {quantity, tk[r].value}});
      if (r < 5) screen << " " << i << " (" << fmt("%+.3g", tk[r].value) << ")";
    }
    if (tk.size() < top) screen << "  [only " << tk.size() << " of " << n << " rows have this sign]";
    screen << "\n";
    item[helpful ? "helpful" : "harmful"] = list;
  }
  return item;
}
constexpr std::size_t kShown = 10;     // pictures per list in a gallery
constexpr std::size_t kGalleries = 10;  // test points drawn (all are in the CSVs)
}  // namespace

namespace {
// --method graddot, gradcos, tracin, trak: their options, read before the problem is built
struct EstimatorArgs {
  inf::Estimator kind = inf::Estimator::GradDot;
  std::vector<std::size_t> save_steps;  // tracin, training here
  inf::TrakOptions trak;
  std::size_t models = 1;
  bool dim_given = false;
  std::string checkpoint;  // --checkpoint, or empty when trained here
};
// options of the estimators, refused with a solver method
constexpr const char* kEstimatorOnly[] = {"projection-dim", "projection", "projection-seed", "models", "save-steps"};
EstimatorArgs read_estimator(Args& a, inf::Estimator kind, const ProblemArgs& pa) {
  EstimatorArgs e;
  e.kind = kind;
  const std::string name = "--method " + inf::estimators().name(kind);
  e.checkpoint = pa.checkpoint;
  for (const char* o : {"curvature", "fisher", "fisher-seed", "indefinite", "tol", "max-iterations", "rank", "solver-seed", "lissa-scale",
                        "lissa-depth", "lissa-repeats", "lissa-batch"})
    if (a.given(o)) throw UsageError(std::string("--") + o + " does not apply to " + name + " (it sets the inverse-HVP solvers)");
  if (kind != inf::Estimator::Trak)
    for (const char* o : {"damping", "projection-dim", "projection", "projection-seed", "models"})
      if (a.given(o)) throw UsageError(std::string("--") + o + " does not apply to " + name);
  if (kind != inf::Estimator::TracIn && a.given("save-steps")) throw UsageError("--save-steps applies to --method tracin only");
  if (kind == inf::Estimator::TracIn) {
    if (a.given("save-steps") && !pa.checkpoint.empty())
      throw UsageError("--save-steps trains here; the --checkpoint brings its own saved steps (`inflab train --save-steps`)");
    e.save_steps = read_save_steps(a, pa);
    if (e.save_steps.empty() && pa.checkpoint.empty())
      throw UsageError("--method tracin needs parameters saved during training: give --save-steps S1,S2,… (steps of an sgd or adam run), "
                       "or a --checkpoint trained with --save-steps");
  }
  if (kind == inf::Estimator::Trak) {
    e.trak.damping = a.real("damping", 0, 0, 1e6);
    e.dim_given = a.given("projection-dim");
    e.trak.dim = a.count("projection-dim", 0);
    if (e.dim_given && e.trak.dim == 0) throw UsageError("--projection-dim 0: the projection dimension must be at least 1");
    e.trak.projection = a.choice("projection", inf::projections(), inf::Projection::Gaussian);
    e.trak.seed = a.count("projection-seed", 0);
    e.models = a.count("models", 1, 1, 1000);
  }
  return e;
}

struct Estimate {
  Tensor D;                 // [m, n]
  json how;                 // settings and time
  std::string line;         // the same on screen
  std::string quantity;     // column name
  std::string units;        // for summary.json
  bool loss_change = true;  // values in Δ̂'s units (the gallery captions say Δ̂); false: the cosine
};

Estimate run_estimator(const EstimatorArgs& e, const inf::Problem& p, const std::vector<std::size_t>& rows, bool progress) {
  Estimate r;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string name = inf::estimators().name(e.kind);
  r.quantity = "predicted_loss_change";
  switch (e.kind) {
    case inf::Estimator::GradDot:
      r.D = inf::gradient_dot(*p.obj, p.train, p.test, rows, p.theta);
      r.units = "predicted_loss_change = (1/n)∇ℓ(z_t)ᵀ∇ℓ̃(z) at θ̂: Δ̂ with H replaced by I (÷n; > 0: the row helped; docs/influence.md)";
      r.line = "gradient dot product at θ̂";
      break;
    case inf::Estimator::GradCos:
      r.D = inf::gradient_cosine(*p.obj, p.train, p.test, rows, p.theta);
      r.quantity = "gradient_cosine";
      r.loss_change = false;
      r.units = "gradient_cosine = cos(∇ℓ(z_t), ∇ℓ̃(z)) at θ̂: unitless in [−1, 1], same sign as Δ̂; a ranking, not a loss change";
      r.line = "gradient cosine at θ̂ (unitless: not a loss change)";
      break;
    case inf::Estimator::TracIn: {
      if (p.trajectory.empty())
        throw UsageError("--method tracin needs parameters saved during training, and checkpoint '" + e.checkpoint +
                         "' has none: train it with --save-steps S1,S2,… (an sgd or adam run)");
      r.D = inf::tracin(*p.obj, p.train, p.test, rows, p.trajectory);
      std::string steps;
      json js = json::array();
      for (const auto& s : p.trajectory) steps += (steps.empty() ? "" : ", ") + std::to_string(s.step), js.push_back({{"step", s.step}, {"lr", s.lr}});
      r.how["checkpoints"] = js;
      r.units = "predicted_loss_change = (1/n)Σ_t η_t ∇ℓ(z_t; θ_t)ᵀ∇ℓ̃(z; θ_t) over the saved steps (÷n; > 0: the row helped; TracIn = n × this)";
      r.line = "TracIn over " + std::to_string(p.trajectory.size()) + " saved steps (" + steps + ")";
      break;
    }
    case inf::Estimator::Trak: {
      inf::TrakOptions o = e.trak;
      const std::size_t P = p.theta.size();
      if (!e.dim_given) o.dim = std::min<std::size_t>(P, 256);
      if (o.dim > P) throw UsageError("--projection-dim " + std::to_string(o.dim) + " is above the parameter count p = " + std::to_string(P));
      const std::vector<Tensor> models = inf::trained_models(p, e.models, progress);
      r.D = inf::trak(*p.obj, p.train, p.test, rows, models, o);
      r.how = {{"projection_dim", o.dim}, {"projection", inf::projections().name(o.projection)}, {"projection_seed", o.seed},
               {"models", e.models}, {"damping", o.damping}};
      r.units = "predicted_loss_change = (1/M)Σ_m (1/n)φ_tᵀ(P G Pᵀ + μI)⁻¹φ(z), φ = P∇ℓ̃: Δ̂ with a projected Gauss–Newton (÷n; > 0: the row helped)";
      r.line = "TRAK, k = " + std::to_string(o.dim) + " (" + inf::projections().name(o.projection) + "), " + std::to_string(e.models) +
               " model(s), μ = " + fmt("%g", o.damping);
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.how["estimator"] = name;
  r.how["seconds"] = secs;
  r.line += ", " + fmt("%.3g", secs) + " s for all test points";
  return r;
}
}  // namespace

int run_influence(Args& a) {
  const Common c = read_common(a, "influence");
  const ProblemArgs pa = read_problem(a);
  const std::string method = a.text("method", inf::solver_methods().name(inf::Method::Exact));
  if (!inf::solver_methods().has(method) && !inf::estimators().has(method))
    throw UsageError("--method '" + method + "' is not one of: " + inf::solver_methods().names() + ", " + inf::estimators().names());
  const bool estimator = inf::estimators().has(method);
  EstimatorArgs ea;
  inf::SolverChoice sc;
  inf::CurvatureChoice kind;
  if (estimator) {
    ea = read_estimator(a, inf::estimators().parse(method), pa);
  } else {
    for (const char* o : kEstimatorOnly)
      if (a.given(o)) throw UsageError(std::string("--") + o + " does not apply to --method " + method + " (it sets the estimators tracin and trak)");
    sc = read_solver(a), kind = read_curvature(a);
  }
  const std::string spec = a.text("test", "highest");
  const std::size_t top = a.count("top", 10, 1);
  a.finish("inflab influence");
  const RunDir rd(c.out, "influence", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const inf::Problem p = ea.save_steps.empty() ? obtain_problem(pa, !c.quiet) : inf::build_problem(pa.spec, !c.quiet, ea.save_steps);
  const auto rows = test_rows(spec, p);
  Tensor D;  // [m, n]
  std::vector<inf::SolveResult> solves;
  Estimate est;
  double grad_norm = p.fit.grad_norm;
  if (estimator) {
    est = run_estimator(ea, p, rows, !c.quiet);
    D = est.D;
  } else {
    const inf::CurvatureOperator A(*p.obj, p.train, p.theta, kind);
    D = inf::predicted_changes_each(A, p.test, rows, sc, &solves);
    grad_norm = A.grad_norm();
    est.quantity = "predicted_loss_change";
    est.units = "predicted_loss_change = Δ̂ = (1/n)∇ℓ(z_t)ᵀ(H + μI)⁻¹∇ℓ̃(z): test-loss change when the row is removed (docs/conventions.md)";
  }
  write_influence_csv(rd, p, rows, D, est.quantity);
  CsvLog topcsv(rd.path("top.csv"), {"test_row", "test_source_row", "list", "rank", "train_row", "source_row", "label", est.quantity});
  json per = json::array();
  std::ostringstream screen;
  screen << problem_line(p);
  const Examples ex(p.spec);
  const bool pictures = ex.pictures() && est.loss_change;  // captions say Δ̂
  Report report;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const Tensor d = xt::view(D, j, xt::all());
    per.push_back(estimator ? render_test_point(p, rows[j], d, "estimator", est.how, est.line, est.quantity, top, topcsv, screen)
                            : render_test_point(p, rows[j], d, "solve", solve_json(solves[j]), solve_line(solves[j]), est.quantity, top, topcsv, screen));
    if (pictures && j < kGalleries) ex.render(influence_gallery(p, rows[j], d, std::min(top, kShown)), rd, "examples-test" + std::to_string(rows[j]), report);
  }
  if (pictures && rows.size() > kGalleries)
    screen << "pictures for the first " << kGalleries << " of " << rows.size() << " test points (all are in influence.csv and top.csv)\n";
  std::vector<std::string> warnings = problem_warnings(p);
  for (std::size_t j = 0; j < solves.size(); ++j)
    if (!solves[j].warning.empty()) warnings.push_back("test row " + std::to_string(rows[j]) + ": " + solves[j].warning);
  json summary = {{"problem", problem_json(p)}, {"method", method}, {"grad_norm", grad_norm}, {"units", est.units}, {"warnings", warnings}, {"tests", per}};
  if (!estimator) {
    summary.update(curvature_json(kind));
    summary["damping"] = sc.damping;
  }
  rd.write_json("summary.json", summary);
  screen << (estimator ? est.units : "Δ̂ is the predicted change of the test loss when the training row is removed (÷n; docs/conventions.md)")
         << ". Rows are split rows; source_row is the row of the dataset file. Files: "
         << rd.path("influence.csv") << ", top.csv, " << (pictures ? "examples-test<row>.svg, " : "") << "summary.json, index.html\n";
  finish(c, rd, screen.str(), report);
  return 0;
}

namespace {
std::string validate_report(const inf::Problem& p, const inf::LooEvaluation& e, const inf::RetrainProtocol& rp, const RunDir& rd) {
  std::ostringstream s;
  const std::size_t t = e.test_row, k = e.rows.size();
  s << "\n" << problem_line(p);
  s << "Test row " << t << " (source row " << p.test.source_row(t) << ", " << label_of(p.test, t) << "), loss "
    << fmt("%.4g", e.influence.test_value) << ": Δ̂ for all " << p.train.size() << " training rows from one " << solve_line(e.influence.solve)
    << (e.influence.s.size() < p.theta.size() ? " on the last layer's " + std::to_string(e.influence.s.size()) + " parameters (--params last)" : "") << "\n";
  s << "Retrained without each of the " << k << " rows with the largest |Δ̂| (" << nn::optimizers().name(rp.optimizer)
    << ", from θ̂): " << retrain_line(e.retrain) << "\n\n";
  s << "  train row  source row  label            predicted Δ̂      actual Δ   retrain\n";
  for (std::size_t j = 0; j < std::min<std::size_t>(k, 10); ++j) {
    char line[200];
    std::snprintf(line, sizeof line, "  %9zu  %10zu  %-15s %+12.4e  %+12.4e   %s\n", e.rows[j], p.train.source_row(e.rows[j]),
                  label_of(p.train, e.rows[j]).substr(0, 15).c_str(), e.predicted(j), e.actual(j), retrain_status(e.retrains[j]).c_str());
    s << line;
  }
  if (k > 10) s << "  … (" << k - 10 << " more in validate.csv)\n";
  s << "\n  " << scores_line(e.scores) << "\n";
  if (!e.scores.caveat.empty()) s << "  over the " << e.converged_scores.n << " retrains that reached a minimum only: " << scores_line(e.converged_scores) << "\n";
  s << "\n";
  s << "What this means: Δ̂ predicts how much this test point's loss rises when one training point is\n"
       "removed and the model retrained (positive: the point helped). The actual Δ comes from really\n"
       "retraining. Pearson near 1 says the influence function's numbers track reality; Spearman near 1\n"
       "that its ranking does; a large relative error with high correlation means right direction,\n"
       "wrong scale. Deep or unregularised networks usually score lower (Basu et al., ICLR 2021).\n";
  s << "Files: " << rd.dir() << "/{index.html, validate.csv, scatter.svg, examples.svg (images), summary.json, loo.jsonl, settings.json, command.txt}\n";
  return s.str();
}
}  // namespace

int run_validate(Args& a) {
  const Common c = read_common(a, "validate");
  const ProblemArgs pa = read_problem(a);
  inf::LooOptions o;
  o.solver = read_solver(a);
  o.curvature = read_curvature(a);
  o.retrain = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  o.top = a.count("top", 20, 3);
  o.params = a.choice("params", inf::param_scopes(), inf::ParamScope::All);
  a.finish("inflab validate");
  const RunDir rd(c.out, "validate", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const inf::Problem p = obtain_problem(pa, !c.quiet);
  const auto rows = test_rows(spec, p);
  if (rows.size() != 1) throw UsageError("validate checks one test point; --test " + spec + " gives " + std::to_string(rows.size()));
  const inf::LooEvaluation e = inf::evaluate_leave_one_out(p, rows[0], o, retrain_run(c, rd, "loo.jsonl"));
  CsvLog out(rd.path("validate.csv"), {"train_row", "source_row", "label", "predicted_loss_change", "actual_loss_change", "retrain_status",
                                       "retrain_grad_norm", "retrain_steps"});
  for (std::size_t j = 0; j < e.rows.size(); ++j)
    out.row({std::to_string(e.rows[j]), std::to_string(p.train.source_row(e.rows[j])), label_of(p.train, e.rows[j]), CsvLog::cell(e.predicted(j)),
             CsvLog::cell(e.actual(j)), retrain_status(e.retrains[j]), CsvLog::cell(e.retrains[j].grad_norm), std::to_string(e.retrains[j].steps)});
  const std::string sc = e.scores.undefined.empty() ? "Pearson " + fmt("%.3f", e.scores.pearson) + ", Spearman " + fmt("%.3f", e.scores.spearman)
                                                    : "no correlation";
  // one series per retraining status: a saddle or an unconverged retrain is seen as such
  std::map<std::string, Series> by_status;
  for (std::size_t j = 0; j < e.rows.size(); ++j) {
    Series& s = by_status[retrain_status(e.retrains[j])];
    s.label = "retrain " + retrain_status(e.retrains[j]);
    s.x.push_back(e.actual(j)), s.y.push_back(e.predicted(j));
  }
  std::vector<Series> series;
  for (auto& [k, s] : by_status) series.push_back(s);
  write_svg(rd.path("scatter.svg"),
            {"Leave-one-out, " + p.train.name + " test row " + std::to_string(e.test_row) + ": " + sc + " (n = " + std::to_string(e.scores.n) + ")",
             "actual change of the test loss (retrained)", "predicted change (influence" + std::string(o.params == inf::ParamScope::LastLayer ? " on the last layer" : "") + "; top " +
                 std::to_string(e.rows.size()) + " rows by |predicted|)",
             series, true});
  json summary = {{"problem", problem_json(p)}, {"test_row", e.test_row}, {"test_source_row", p.test.source_row(e.test_row)},
                  {"test_loss", e.influence.test_value}, {"method", inf::solver_methods().name(o.solver.method)},
                  {"damping", o.solver.damping}, {"params", inf::param_scopes().name(o.params)}, {"solve", solve_json(e.influence.solve)}, {"grad_norm", e.influence.grad_norm},
                  {"warnings", warnings_of(p, e.influence.solve)},
                  {"retrain", nn::optimizers().name(o.retrain.optimizer)}, {"retrains", retrain_json(e.retrain)},
                  {"scores", scores_json(e.scores)}, {"converged_scores", scores_json(e.converged_scores)}};
  summary.update(curvature_json(o.curvature));
  rd.write_json("summary.json", summary);
  std::vector<double> actual(p.train.size(), NAN);  // the retrained Δ and its status, where there is one
  std::vector<std::string> status(p.train.size());
  for (std::size_t j = 0; j < e.rows.size(); ++j) actual[e.rows[j]] = e.actual(j), status[e.rows[j]] = retrain_status(e.retrains[j]);
  Report report;
  Examples(p.spec).render(influence_gallery(p, e.test_row, e.influence.predicted_change, 10, actual, status), rd, "examples", report);
  finish(c, rd, validate_report(p, e, o.retrain, rd), report);
  return 0;
}

}  // namespace inflab::cli
