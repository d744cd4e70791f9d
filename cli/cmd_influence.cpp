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
#include "experiments/retrain_jobs.hpp"
#include "nn/choices.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace ex = experiments;

namespace {
// influence.csv: one row per training row, one column per test point
void write_influence_csv(const RunDir& rd, const ex::Problem& p, const std::vector<std::size_t>& rows, const Tensor& D,
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
json render_test_point(const ex::Problem& p, std::size_t t, const Tensor& d, const std::string& how_key, const json& how, const std::string& how_line,
                       const std::string& quantity, std::size_t top, CsvLog& topcsv, std::ostream& screen) {
  double loss = 0;
  ex::test_loss_gradient(*p.obj, p.test, {t}, p.theta, &loss);
  const std::size_t src = p.test.source_row(t), n = p.train.size();
  json item = {{"test_row", t}, {"test_source_row", src}, {"test_loss", loss}, {"label", label_of(p.test, t)}, {how_key, how}};
  screen << "test row " << t << " (source row " << src << ", " << label_of(p.test, t) << ", loss " << fmt("%.4g", loss) << "): " << how_line
         << "\n";
  for (const bool helpful : {true, false}) {
    json list = json::array();
    const auto tk = ex::top_k(d, top, helpful);
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

int run_influence(Args& a) {
  const Common c = read_common(a, "influence");
  const ProblemArgs pa = read_problem(a);
  const EstimatorArgs ea = read_estimator(a, pa, EstimatorScope{true, true, false});
  const ex::EstimatorRow& row = ex::row_of(ea.method);
  ex::EstimatorSettings settings = ea.settings;
  settings.solver.exact.progress = !c.quiet;  // exact's dense H can take minutes
  const std::string spec = a.text("test", "highest");
  const std::size_t top = a.count("top", 10, 1);
  a.finish("inflab influence");
  const RunDir rd(c.out, "influence", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::Problem p = obtain_problem(pa, !c.quiet, ea.save_steps, feasible_for(ea));
  const auto rows = test_rows(spec, p);
  check_estimator(ea, p, pa);
  const ex::Estimate est = ex::estimate(ea.method, ex::trained(p, !c.quiet), rows, settings);
  write_influence_csv(rd, p, rows, est.predicted, row.quantity);
  CsvLog topcsv(rd.path("top.csv"), {"test_row", "test_source_row", "list", "rank", "train_row", "source_row", "label", row.quantity});
  json per = json::array();
  std::ostringstream screen;
  screen << problem_line(p, row.at_minimum);
  const Examples ex(p.spec);
  const bool pictures = ex.pictures() && row.loss_change;  // captions say Δ̂
  const std::string line = estimate_line(est) + " for all test points";
  Report report;
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const Tensor d = xt::view(est.predicted, j, xt::all());
    per.push_back(est.solves.empty() ? render_test_point(p, rows[j], d, "estimator", estimate_json(est), line, row.quantity, top, topcsv, screen)
                                     : render_test_point(p, rows[j], d, "solve", solve_json(est.solves[j]), solve_line(est.solves[j]), row.quantity, top,
                                                         topcsv, screen));
    if (pictures && j < kGalleries) ex.render(influence_gallery(p, rows[j], d, std::min(top, kShown)), rd, "examples-test" + std::to_string(rows[j]), report);
  }
  if (pictures && rows.size() > kGalleries)
    screen << "pictures for the first " << kGalleries << " of " << rows.size() << " test points (all are in influence.csv and top.csv)\n";
  const std::vector<std::string> warnings = estimate_warnings(p, est, rows);
  json summary = {{"problem", problem_json(p)}, {"method", row.name}, {"grad_norm", row.method ? est.grad_norm : p.fit.grad_norm},
                  {"units", row.units}, {"warnings", warnings}, {"tests", per}};
  if (row.method) {
    summary.update(curvature_json(settings.curvature));
    summary["damping"] = settings.solver.damping;
  }
  rd.write_json("summary.json", summary);
  screen << (row.method ? "predicted Δ: the change of the test loss predicted for removing the training row (÷n; docs/conventions.md)" : row.units)
         << ". Rows are split rows; source_row is the row of the dataset file.\n";
  finish(c, rd, screen.str(), report);
  return 0;
}

namespace {
std::string validate_report(const ex::Problem& p, const ex::LooEvaluation& e, const ex::RetrainProtocol& rp) {
  std::ostringstream s;
  const std::size_t t = e.test_row, k = e.rows.size();
  s << "\n" << problem_line(p, ex::row_of(e.estimate.estimator).at_minimum);
  s << "Test row " << t << " (source row " << p.test.source_row(t) << ", " << label_of(p.test, t) << "), loss "
    << fmt("%.4g", e.test_loss) << ": predicted Δ for all " << p.train.size() << " training rows from " << (e.estimate.solves.empty() ? "" : "one ")
    << estimate_line(e.estimate)
    << (e.parameters < p.theta.size() ? " on the last layer's " + std::to_string(e.parameters) + " parameters (--params last)" : "") << "\n";
  const TruthWords w = truth_words(rp);
  s << w.how << " each of the " << k << " rows with the largest |predicted Δ|: " << retrain_line(e.retrain) << "\n\n";
  s << "  train row  source row  label            predicted Δ  " << "  " << w.column << "   retrain\n";
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
  s << "What this means: predicted Δ is how much this test point's loss should rise when one training point is\n"
       "removed and the model retrained (positive: the point helped). The actual Δ comes from really\n"
       "retraining. Pearson near 1 says the influence function's numbers track reality; Spearman near 1\n"
       "that its ranking does; a large relative error with high correlation means right direction,\n"
       "wrong scale. Deep or unregularised networks usually score lower (Basu et al., ICLR 2021).\n";
  return s.str();
}
}  // namespace

int run_validate(Args& a) {
  const Common c = read_common(a, "validate");
  const ProblemArgs pa = read_problem(a);
  ex::LooOptions o;
  const EstimatorArgs ea = read_estimator(a, pa, EstimatorScope{true, true, false});
  o.estimator = ea.method, o.settings = ea.settings;
  o.settings.solver.exact.progress = !c.quiet;
  o.retrain = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  o.top = a.count("top", 20, 3);
  o.params = a.choice("params", ex::param_scopes(), ex::ParamScope::All);
  if (o.params == ex::ParamScope::LastLayer && (ea.method == ex::Estimator::TracIn || ea.method == ex::Estimator::Trak))
    throw UsageError("--params last does not apply to --method " + ex::estimators().name(ea.method) +
                     " (its saved steps and models are of the whole network)");
  a.finish("inflab validate");
  const RunDir rd(c.out, "validate", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::Problem p = obtain_problem(pa, !c.quiet, ea.save_steps, feasible_for(ea));
  check_estimator(ea, p, pa);
  o.retrain = ex::for_problem(o.retrain, p.spec);  // loo-cold, unrolled: θ̂'s training, as recorded
  if (o.top > p.train.size())
    throw UsageError("--top " + std::to_string(o.top) + " asks for more retrains than the " + std::to_string(p.train.size()) + " training rows");
  const auto rows = test_rows(spec, p);
  if (rows.size() != 1) throw UsageError("validate checks one test point; --test " + spec + " gives " + std::to_string(rows.size()));
  const ex::LooEvaluation e = ex::evaluate_leave_one_out(p, rows[0], o, retrain_run(c, rd, "loo.jsonl"));
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
            {truth_words(o.retrain).title + ", " + p.train.name + " test row " + std::to_string(e.test_row) + ": " + sc + " (n = " + std::to_string(e.scores.n) + ")",
             truth_words(o.retrain).axis, "predicted change (influence" + std::string(o.params == ex::ParamScope::LastLayer ? " on the last layer" : "") + "; top " +
                 std::to_string(e.rows.size()) + " rows by |predicted|)",
             series, true});
  json summary = {{"problem", problem_json(p)}, {"test_row", e.test_row}, {"test_source_row", p.test.source_row(e.test_row)},
                  {"test_loss", e.test_loss}, {"method", ex::estimators().name(o.estimator)}, {"params", ex::param_scopes().name(o.params)},
                  {"warnings", estimate_warnings(p, e.estimate, {e.test_row})},
                  {"retrain", nn::optimizers().name(o.retrain.optimizer)}, {"retrain_protocol", ex::protocol_json(o.retrain)},
                  {"truth", ex::retrain_targets().name(o.retrain.target)}, {"retrains", retrain_json(e.retrain)},
                  {"scores", scores_json(e.scores)}, {"converged_scores", scores_json(e.converged_scores)}};
  summary.update(estimate_summary(e.estimate, o.settings));
  rd.write_json("summary.json", summary);
  std::vector<double> actual(p.train.size(), NAN);  // the retrained Δ and its status, where there is one
  std::vector<std::string> status(p.train.size());
  for (std::size_t j = 0; j < e.rows.size(); ++j) actual[e.rows[j]] = e.actual(j), status[e.rows[j]] = retrain_status(e.retrains[j]);
  Report report;
  Examples(p.spec).render(influence_gallery(p, e.test_row, e.predicted_all, 10, actual, status), rd, "examples", report);
  finish(c, rd, validate_report(p, e, o.retrain), report);
  return 0;
}

}  // namespace inflab::cli
