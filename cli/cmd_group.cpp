// group, lds, mislabel: influence of groups of rows and the evaluations built on it.
// Parse → call influence/ → render.
#include <cstdio>
#include <sstream>

#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "cli/gallery.hpp"
#include "cli/plot.hpp"
#include "experiments/retrain_jobs.hpp"
#include "nn/choices.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace ex = experiments;

namespace {
std::size_t one_test_row(const std::string& command, const std::string& spec, const ex::Problem& p) {
  const auto rows = test_rows(spec, p);
  if (rows.size() != 1) throw UsageError(command + " uses one test point; --test " + spec + " gives " + std::to_string(rows.size()));
  return rows[0];
}
std::string score_cell(double v) { return std::isfinite(v) ? fmt("%.3f", v) : "n/a"; }
json selection_json(const ex::SelectionComparison& s) {
  return {{"greedy", {{"rows", s.selection.greedy}, {"first_order", s.selection.greedy_estimate.first_order},
                      {"second_order", s.selection.greedy_estimate.second_order}, {"actual", s.greedy.test_loss_change.at(0)},
                      {"status", retrain_status(s.greedy)}}},
          {"second_order", {{"rows", s.selection.second_order}, {"first_order", s.selection.second_order_estimate.first_order},
                            {"second_order", s.selection.second_order_estimate.second_order},
                            {"actual", s.second_order.test_loss_change.at(0)}, {"status", retrain_status(s.second_order)}}},
          {"common", s.common}, {"iterations", s.selection.iterations}};
}
// groups.csv rows, the summary entry, the screen line and the plot of one kind
void render_kind(const ex::Problem& p, const RunDir& rd, const ex::GroupsRow& r, std::size_t t, double fraction, CsvLog& out,
                 json& summary, std::ostringstream& s) {
  const std::string name = ex::group_kinds().name(r.kind);
  const auto& e = r.evaluation;
  for (std::size_t j = 0; j < e.groups.size(); ++j) {
    std::string split;
    for (auto i : e.groups[j]) split += (split.empty() ? "" : " ") + std::to_string(i);
    out.row({name, std::to_string(j), std::to_string(e.groups[j].size()), split, source_rows(p.train, e.groups[j]), CsvLog::cell(e.first(j)),
             CsvLog::cell(e.second(j)), CsvLog::cell(e.newton(j)), CsvLog::cell(e.actual(j)), retrain_status(e.retrains[j]),
             CsvLog::cell(e.predicted[j].rel_residual)});
  }
  summary["kinds"][name] = {{"groups", e.groups.size()}, {"first", scores_json(r.first)}, {"second", scores_json(r.second)},
                            {"newton", scores_json(r.newton)}, {"retrains", retrain_json(r.retrain)}};
  if (!r.warning.empty()) summary["warnings"].push_back(name + " groups: " + r.warning), s << "warning: " << r.warning << "\n";
  char line[240];
  std::snprintf(line, sizeof line, "  %-9s %6zu  %14s %7s %7s   %17s %7s %7s   %s\n", name.c_str(), e.groups.size(), score_cell(r.first.pearson).c_str(),
                score_cell(r.second.pearson).c_str(), score_cell(r.newton.pearson).c_str(), score_cell(r.first.relative_error).c_str(),
                score_cell(r.second.relative_error).c_str(), score_cell(r.newton.relative_error).c_str(), retrain_line(r.retrain).c_str());
  s << line;
  if (!r.first.undefined.empty()) s << "    (" << name << ": no correlation — " << r.first.undefined << ")\n";
  std::vector<Series> series = {{.label = "first order", .x = vec(e.actual), .y = vec(e.first)}, {.label = "second order", .x = vec(e.actual), .y = vec(e.second)}};
  if (std::isfinite(r.newton.relative_error)) series.push_back({.label = "Newton step", .x = vec(e.actual), .y = vec(e.newton)});
  write_svg(rd.path("group-" + name + ".svg"),
            {name + " groups, p = " + shortest(fraction) + ", test row " + std::to_string(t) + ": Pearson first " + score_cell(r.first.pearson) +
                 ", second " + score_cell(r.second.pearson) + " (n = " + std::to_string(r.first.n) + ")",
             "actual change of the test loss (retrained)", "predicted change", series, true});
}
}  // namespace

int run_group(Args& a) {
  const Common c = read_common(a, "group");
  const ProblemArgs pa = read_problem(a);
  const ex::SolverChoice sc = read_solver(a);
  ex::RetrainProtocol rp = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  const double fraction = a.real("fraction", 0.1, 1e-6, 0.99);
  const std::size_t count = a.count("groups", 10, 3);
  const auto kinds = a.choices("kinds", ex::group_kinds(), "random,knn,gradient");
  const bool select = a.flag("select");
  a.finish("inflab group");
  const RunDir rd(c.out, "group", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::Problem p = obtain_problem(pa, !c.quiet);
  rp = ex::for_problem(rp, p.spec);  // loo-cold, unrolled: θ̂'s training, as recorded
  const std::size_t t = one_test_row("group", spec, p), n = p.train.size();
  group_size(n, fraction, "fraction");
  const ex::CurvatureOperator A(*p.obj, p.train, p.theta);
  const ex::InverseHvp inv(A, sc);
  CsvLog out(rd.path("groups.csv"), {"kind", "group", "size", "train_rows", "source_rows", "predicted_first_order", "predicted_second_order",
                                     "predicted_newton", "actual_loss_change", "retrain_status", "solve_rel_residual"});
  json summary = {{"problem", problem_json(p)}, {"test_row", t}, {"test_source_row", p.test.source_row(t)}, {"fraction", fraction},
                  {"method", ex::solver_methods().name(sc.method)}, {"damping", sc.damping}, {"curvature", "hessian"},
                  {"retrain", nn::optimizers().name(rp.optimizer)}, {"retrain_protocol", ex::protocol_json(rp)},
                  {"truth", ex::retrain_targets().name(rp.target)}, {"kinds", json::object()}, {"warnings", problem_warnings(p)},
                  {"units", "predicted_* and actual_loss_change: test-loss change when the group is removed (docs/conventions.md)"}};
  std::ostringstream s;
  s << problem_line(p) << "groups of " << ex::group_size(n, fraction) << " rows (p = " << shortest(fraction) << "), test row " << t
    << " (source row " << p.test.source_row(t) << ")\n";
  s << "  kind       groups  Pearson: first  second  Newton   rel. error: first  second  Newton   retraining\n";
  for (const auto kind : kinds) {
    const std::string name = ex::group_kinds().name(kind);
    const ex::GroupsRow r = ex::evaluate_group_kind(p, inv, t, fraction, kind, count, rp, retrain_run(c, rd, "retrain-" + name + ".jsonl"));
    render_kind(p, rd, r, t, fraction, out, summary, s);
  }
  if (select) {
    const auto sel = ex::compare_selection(p, inv, t, ex::group_size(n, fraction), rp, retrain_run(c, rd, "retrain-selection.jsonl"));
    summary["selection"] = selection_json(sel);
    s << "most influential group (raise the loss): greedy first-order pick → actual " << fmt("%+.4g", sel.greedy.test_loss_change.at(0))
      << " (retrain " << retrain_status(sel.greedy) << "); second-order selection → actual " << fmt("%+.4g", sel.second_order.test_loss_change.at(0))
      << " (retrain " << retrain_status(sel.second_order) << "); " << sel.common << " rows in common\n";
  }
  rd.write_json("summary.json", summary);
  finish(c, rd, s.str());
  return 0;
}

int run_lds(Args& a) {
  const Common c = read_common(a, "lds");
  const ProblemArgs pa = read_problem(a);
  ex::LdsOptions o;
  const EstimatorArgs ea = read_estimator(a, pa, EstimatorScope{true, true, false});
  o.estimator = ea.method, o.settings = ea.settings;
  o.settings.solver.exact.progress = !c.quiet;
  o.retrain = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  o.subsets = a.count("subsets", 20, 3);
  o.alpha = a.real("alpha", 0.5, 1e-6, 0.999999);
  a.finish("inflab lds");
  const RunDir rd(c.out, "lds", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::Problem p = obtain_problem(pa, !c.quiet, ea.save_steps, feasible_for(ea));
  check_estimator(ea, p, pa);
  o.retrain = ex::for_problem(o.retrain, p.spec);  // loo-cold, unrolled: θ̂'s training, as recorded
  const std::size_t t = one_test_row("lds", spec, p);
  const ex::LdsEvaluation e = ex::evaluate_lds(p, t, o, retrain_run(c, rd, "subsets.jsonl"));
  CsvLog out(rd.path("lds.csv"), {"subset", "removed", "predicted_loss_change", "actual_loss_change", "retrain_status", "removed_source_rows"});
  for (std::size_t j = 0; j < o.subsets; ++j)
    out.row({std::to_string(j), std::to_string(e.lds.retrains[j].removed.size()), CsvLog::cell(e.lds.predicted(j)),
             CsvLog::cell(e.lds.actual(j)), retrain_status(e.lds.retrains[j]), source_rows(p.train, e.lds.retrains[j].removed)});
  write_svg(rd.path("lds.svg"), {"LDS on " + p.train.name + ", test row " + std::to_string(t) + ": Spearman " + score_cell(e.scores.spearman) +
                                     " (n = " + std::to_string(e.scores.n) + " subsets)",
                                 o.retrain.target == ex::RetrainTarget::Loo ? "actual change of the test loss (retrained on the subset)"
                                                                             : truth_words(o.retrain).title + ": change of the test loss without the subset",
                                 "predicted change (sum over the removed rows)",
                                 {{.label = "subsets keeping α = " + shortest(o.alpha), .x = vec(e.lds.actual), .y = vec(e.lds.predicted)}}, true});
  json summary = {{"problem", problem_json(p)}, {"test_row", t}, {"test_source_row", p.test.source_row(t)},
                  {"alpha", o.alpha}, {"subsets", o.subsets}, {"method", ex::estimators().name(o.estimator)},
                  {"warnings", estimate_warnings(p, e.estimate, {t})},
                  {"lds", e.scores.undefined.empty() ? json(e.scores.spearman) : json(nullptr)},
                  {"scores", scores_json(e.scores)}, {"retrains", retrain_json(e.retrain)}, {"retrain_protocol", ex::protocol_json(o.retrain)},
                  {"truth", ex::retrain_targets().name(o.retrain.target)}};
  summary.update(estimate_summary(e.estimate, o.settings));
  rd.write_json("summary.json", summary);
  finish(c, rd, problem_line(p, ex::row_of(e.estimate.estimator).at_minimum) + "test row " + std::to_string(t) + ": " + estimate_line(e.estimate) + "\n" + std::to_string(o.subsets) +
             " random subsets keeping α = " + shortest(o.alpha) + " of the training rows, retrained: " + retrain_line(e.retrain) + "\n  LDS (Spearman) " +
             score_cell(e.scores.spearman) + "; " + scores_line(e.scores) +
             "\nLDS (Park et al. 2023): how well the sum of predicted Δ over the removed rows ranks the subsets by their retrained test loss.\n");
  return 0;
}

int run_mislabel(Args& a) {
  const Common c = read_common(a, "mislabel");
  const ProblemArgs pa = read_problem(a, {}, "mislabel trains on flipped labels");
  const ex::SolverChoice sc = read_solver(a);
  const double fraction = a.real("flip", 0.1, 1e-6, 0.5);
  const double top = a.real("inspect", 0.1, 1e-6, 1);
  a.finish("inflab mislabel");
  const RunDir rd(c.out, "mislabel", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::MislabelDetection m = ex::detect_mislabels(pa.spec, fraction, sc, top, !c.quiet);
  const ex::Problem& p = m.problem;
  // ranked as the AUC ranks them: largest self-influence first (signed)
  std::vector<std::size_t> order(p.train.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return m.self_influence(x) > m.self_influence(y); });
  std::vector<bool> flipped(p.train.size(), false);
  for (auto i : m.flipped) flipped[i] = true;
  CsvLog out(rd.path("ranking.csv"), {"rank", "train_row", "source_row", "given_label", "true_label", "flipped", "self_influence", "train_loss"});
  for (std::size_t r = 0; r < order.size(); ++r) {
    const std::size_t i = order[r];
    out.row({std::to_string(r + 1), std::to_string(i), std::to_string(p.train.source_row(i)), label_of(p.train, i),
             p.train.class_names.at(m.given_labels[i]), flipped[i] ? "1" : "0", CsvLog::cell(m.self_influence(i)), CsvLog::cell(m.train_loss(i))});
  }
  Report report;
  Examples(pa.spec).render(ranking_gallery(p, order, m.self_influence, flipped, m.given_labels, 20), rd, "ranking", report);
  std::vector<std::string> warnings = problem_warnings(p);
  if (!m.warning.empty()) warnings.push_back(m.warning);
  rd.write_json("summary.json", {{"problem", problem_json(p)}, {"flipped", m.flipped.size()}, {"flip_fraction", fraction}, {"inspect", top},
                                 {"method", ex::solver_methods().name(sc.method)}, {"damping", sc.damping}, {"warnings", warnings},
                                 {"flipped_source_rows", source_rows(p.train, m.flipped)},
                                 {"auc_self_influence", m.auc_influence}, {"auc_train_loss", m.auc_loss},
                                 {"found_self_influence", m.found_influence}, {"found_train_loss", m.found_loss}});
  finish(c, rd, problem_line(p) + (m.warning.empty() ? "" : "warning: " + m.warning + "\n") + std::to_string(m.flipped.size()) + " training labels flipped (seeded). Ranking the rows by self-influence "
             "∇ℓ̃ᵀ(H + μI)⁻¹∇ℓ̃ against training loss:\n  ROC AUC: self-influence " + fmt("%.3f", m.auc_influence) + ", training loss " +
             fmt("%.3f", m.auc_loss) + "\n  flipped rows found in the top " + shortest(100 * top) + "%: self-influence " +
             fmt("%.0f%%", 100 * m.found_influence) + ", training loss " + fmt("%.0f%%", 100 * m.found_loss) +
             "\n", report);
  return 0;
}

}  // namespace inflab::cli
