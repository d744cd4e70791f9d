// influence, validate, group: estimates of what removing training points does to a test
// loss, and their check against retraining.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli/common.hpp"
#include "cli/plot.hpp"
#include "influence/evaluation.hpp"
#include "influence/group_selection.hpp"
#include "influence/metrics.hpp"

namespace inflab::cli {

using json = nlohmann::json;

namespace {
json solve_json(const influence::SolveResult& s) {
  return {{"method", s.method}, {"iterations", s.iterations}, {"products", s.products}, {"relative_residual", s.rel_residual},
          {"seconds", s.seconds}, {"negative_eigenvalues", s.negative}, {"note", s.note}};
}
std::string solve_line(const influence::SolveResult& s) {
  return s.method + " solve, relative residual " + fmt("%.1e", s.rel_residual) + ", " + std::to_string(s.products) +
         " Hessian-vector products, " + fmt("%.2f", s.seconds) + " s" + (s.note.empty() ? "" : " (" + s.note + ")");
}
std::vector<double> vec(const Tensor& t) { return {t.begin(), t.end()}; }
std::string label_of(const data::Dataset& d, std::size_t i) { return d.class_names.at(d.y.at(i)); }
}  // namespace

int run_influence(Args& a) {
  const Common c = read_common(a, "influence");
  const ProblemOptions po = read_problem(a);
  const influence::SolverChoice sc = read_solver(a);
  const influence::Curvature kind = read_curvature(a);
  const std::string spec = a.text("test", "highest");
  const std::size_t top = a.count("top", 10, 1);
  a.finish("inflab influence");
  const RunDir rd(c.out, "influence", a.settings());
  const Problem p = build_problem(po, !c.quiet);
  const auto rows = pick_test_rows(spec, p, po.seed);
  const influence::CurvatureOperator A(*p.obj, p.train, p.theta, kind);
  std::vector<influence::SolveResult> solves;
  const Tensor D = influence::predicted_changes_each(A, p.test, rows, sc, &solves);  // [m, n]
  const std::size_t n = p.train.size();
  std::vector<std::string> head = {"train_row", "label"};
  for (auto t : rows) head.push_back("delta_test_" + std::to_string(t));
  CsvLog out(rd.path("influence.csv"), head);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> r = {std::to_string(i), label_of(p.train, i)};
    for (std::size_t j = 0; j < rows.size(); ++j) r.push_back(CsvLog::cell(D(j, i)));
    out.row(r);
  }
  CsvLog topcsv(rd.path("top.csv"), {"test_row", "kind", "rank", "train_row", "label", "delta"});
  json per = json::array();
  std::ostringstream screen;
  screen << p.train.name << ": " << n << " training rows, " << p.theta.size() << " parameters, ‖∇R(θ̂)‖ = " << fmt("%.2e", A.grad_norm()) << "\n";
  if (A.grad_norm() > 1e-5)
    screen << "warning: θ̂ is not a stationary point of this objective (‖∇R‖ > 1e-5); influence assumes one. With --checkpoint, "
              "give the --weight-decay, --dataset, --classes and --seed it was trained with.\n";
  for (std::size_t j = 0; j < rows.size(); ++j) {
    Tensor d = zeros({n});
    for (std::size_t i = 0; i < n; ++i) d(i) = D(j, i);
    double loss = 0;
    influence::test_loss_gradient(*p.obj, p.test, {rows[j]}, p.theta, &loss);
    json item = {{"test_row", rows[j]}, {"test_loss", loss}, {"label", label_of(p.test, rows[j])}, {"solve", solve_json(solves[j])}};
    screen << "test row " << rows[j] << " (" << label_of(p.test, rows[j]) << ", loss " << fmt("%.4g", loss) << "): " << solve_line(solves[j]) << "\n";
    for (const bool helpful : {true, false}) {
      json list = json::array();
      const auto tk = influence::top_k(d, std::min(top, n), helpful);
      screen << (helpful ? "  most helpful (removing raises the loss):" : "  most harmful (removing lowers it):  ");
      for (std::size_t r = 0; r < tk.size(); ++r) {
        topcsv.row({std::to_string(rows[j]), helpful ? "helpful" : "harmful", std::to_string(r + 1), std::to_string(tk[r].index),
                    label_of(p.train, tk[r].index), CsvLog::cell(tk[r].value)});
        list.push_back({{"train_row", tk[r].index}, {"delta", tk[r].value}});
        if (r < 5) screen << " " << tk[r].index << " (" << fmt("%+.3g", tk[r].value) << ")";
      }
      screen << "\n";
      item[helpful ? "helpful" : "harmful"] = list;
    }
    per.push_back(item);
  }
  rd.write_json("summary.json", {{"method", sc.method}, {"damping", sc.damping}, {"grad_norm", A.grad_norm()},
                                 {"train_accuracy", p.train_accuracy}, {"test_accuracy", p.test_accuracy}, {"tests", per}});
  screen << "Δ̂ is the predicted change of the test loss when the training row is removed (÷n; DESIGN.md). Files: "
         << rd.path("influence.csv") << ", top.csv, summary.json\n";
  say(c, screen.str());
  return 0;
}

int run_validate(Args& a) {
  const Common c = read_common(a, "validate");
  const ProblemOptions po = read_problem(a);
  const influence::SolverChoice sc = read_solver(a);
  const influence::Curvature kind = read_curvature(a);
  const influence::RetrainProtocol rp = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  const std::size_t top = a.count("top", 20, 2);
  a.finish("inflab validate");
  const RunDir rd(c.out, "validate", a.settings());
  const Problem p = build_problem(po, !c.quiet);
  const auto rows = pick_test_rows(spec, p, po.seed);
  if (rows.size() != 1) throw UsageError("validate checks one test point; --test " + spec + " gives " + std::to_string(rows.size()));
  const std::size_t t = rows[0], n = p.train.size();
  const influence::CurvatureOperator A(*p.obj, p.train, p.theta, kind);
  const influence::Influence inf = influence::influence_on_test(A, p.test, {t}, sc);
  // the points to retrain: the largest |Δ̂|
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return std::fabs(inf.predicted_change(x)) > std::fabs(inf.predicted_change(y));
  });
  order.resize(std::min(top, n));
  influence::RetrainRun run;
  run.threads = c.threads;
  run.results_path = rd.path("loo.jsonl");
  run.progress = !c.quiet;
  const auto rec = influence::leave_one_out(*p.obj, p.train, p.test, p.theta, order, {t}, rp, run);
  const std::size_t k = order.size();
  Tensor pred = zeros({k}), act = zeros({k});
  std::size_t converged = 0, signs = 0;
  CsvLog out(rd.path("validate.csv"), {"train_row", "label", "predicted", "actual", "converged", "retrain_grad_norm"});
  for (std::size_t j = 0; j < k; ++j) {
    pred(j) = inf.predicted_change(order[j]);
    act(j) = rec[j].test_loss_change[0];
    converged += rec[j].converged;
    signs += (pred(j) > 0) == (act(j) > 0);
    out.row({std::to_string(order[j]), label_of(p.train, order[j]), CsvLog::cell(pred(j)), CsvLog::cell(act(j)),
             rec[j].converged ? "1" : "0", CsvLog::cell(rec[j].grad_norm)});
  }
  const double pr = influence::or_nan(influence::pearson, pred, act), sr = influence::or_nan(influence::spearman, pred, act),
               kt = influence::or_nan(influence::kendall_tau, pred, act);
  const double re = influence::or_nan(influence::relative_error, pred, act);
  write_svg(rd.path("scatter.svg"),
            {"Leave-one-out on " + p.train.name + ": Pearson " + fmt("%.3f", pr) + ", Spearman " + fmt("%.3f", sr),
             "actual change of the test loss (retrained)", "predicted change Δ̂ (influence)",
             {{"top " + std::to_string(k) + " training points by |Δ̂|", vec(act), vec(pred), false}}, true});
  json summary = {{"test_row", t}, {"test_loss", inf.test_value}, {"solve", solve_json(inf.solve)}, {"grad_norm", inf.grad_norm},
                  {"warning", inf.warning}, {"retrained", k}, {"converged", converged}, {"pearson", pr}, {"spearman", sr},
                  {"kendall_tau", kt}, {"relative_error", re}, {"sign_agreement", signs}, {"retrain", rp.optimizer},
                  {"train_accuracy", p.train_accuracy}, {"test_accuracy", p.test_accuracy}, {"parameters", p.theta.size()}};
  rd.write_json("summary.json", summary);
  std::ostringstream s;
  s << "\n" << p.train.name << ": " << n << " train / " << p.test.size() << " test rows; " << p.description << " ("
    << p.theta.size() << " parameters), λ = " << p.obj->weight_decay() << "; accuracy train " << fmt("%.3f", p.train_accuracy)
    << ", test " << fmt("%.3f", p.test_accuracy) << "\n";
  s << "Test row " << t << " (" << label_of(p.test, t) << "), loss " << fmt("%.4g", inf.test_value) << ": Δ̂ for all " << n
    << " training rows from one " << solve_line(inf.solve) << "\n";
  if (!inf.warning.empty()) s << "warning: " << inf.warning << "\n";
  s << "Retrained without each of the " << k << " rows with the largest |Δ̂| (" << rp.optimizer << ", from θ̂): " << converged << "/" << k
    << " converged\n\n";
  s << "  train row  label            predicted Δ̂      actual Δ\n";
  for (std::size_t j = 0; j < std::min<std::size_t>(k, 10); ++j) {
    char line[160];
    std::snprintf(line, sizeof line, "  %9zu  %-15s %+12.4e  %+12.4e\n", order[j], label_of(p.train, order[j]).substr(0, 15).c_str(), pred(j), act(j));
    s << line;
  }
  if (k > 10) s << "  … (" << k - 10 << " more in validate.csv)\n";
  s << "\n  Pearson " << fmt("%.3f", pr) << "   Spearman " << fmt("%.3f", sr) << "   Kendall τ " << fmt("%.3f", kt)
    << "   relative error " << fmt("%.3f", re) << "   signs agree " << signs << "/" << k << "\n\n";
  s << "What this means: Δ̂ predicts how much this test point's loss rises when one training point is\n"
       "removed and the model retrained (positive: the point helped). The actual Δ comes from really\n"
       "retraining. Pearson near 1 says the influence function's numbers track reality; Spearman near 1\n"
       "that its ranking does; a large relative error with high correlation means right direction,\n"
       "wrong scale. Deep or unregularised networks usually score lower (Basu et al., ICLR 2021).\n";
  s << "Files: " << rd.dir() << "/{validate.csv, scatter.svg, summary.json, loo.jsonl, settings.json, command.txt}\n";
  say(c, s.str());
  return 0;
}

int run_group(Args& a) {
  const Common c = read_common(a, "group");
  const ProblemOptions po = read_problem(a);
  const influence::SolverChoice sc = read_solver(a);
  const influence::RetrainProtocol rp = read_retrain(a);
  const std::string spec = a.text("test", "highest");
  const double fraction = a.real("fraction", 0.1, 1e-6, 0.99);
  const std::size_t count = a.count("groups", 10, 2);
  std::vector<std::string> kinds;
  {
    const std::string ks = a.text("kinds", "random,knn,gradient");
    std::stringstream ss(ks);
    for (std::string k; std::getline(ss, k, ',');) {
      if (k != "random" && k != "knn" && k != "class" && k != "gradient")
        throw UsageError("--kinds: '" + k + "' is not one of random, knn, class, gradient");
      kinds.push_back(k);
    }
  }
  const bool select = a.flag("select");
  a.finish("inflab group");
  const RunDir rd(c.out, "group", a.settings());
  const Problem p = build_problem(po, !c.quiet);
  const auto rows = pick_test_rows(spec, p, po.seed);
  if (rows.size() != 1) throw UsageError("group uses one test point; --test " + spec + " gives " + std::to_string(rows.size()));
  const std::size_t t = rows[0], n = p.train.size(), k = influence::group_size(n, fraction);
  const influence::CurvatureOperator A(*p.obj, p.train, p.theta);
  const influence::InverseHvp inv(A, sc);
  CsvLog out(rd.path("groups.csv"), {"kind", "group", "size", "first_order", "second_order", "newton", "actual", "converged"});
  json summary = {{"test_row", t}, {"fraction", fraction}, {"group_size", k}, {"retrain", rp.optimizer}, {"kinds", json::object()}};
  std::ostringstream s;
  s << p.train.name << ": n = " << n << ", groups of " << k << " rows (p = " << fmt("%.3g", fraction) << "), test row " << t << "\n";
  s << "  kind       groups  Pearson: first  second   rel. error: first  second  Newton\n";
  for (const auto& kind : kinds) {
    std::vector<std::vector<std::size_t>> groups;
    if (kind == "gradient") {
      const std::size_t clusters = static_cast<std::size_t>(std::llround(static_cast<double>(n) / static_cast<double>(k)));
      groups = influence::gradient_cluster_groups(*p.obj, p.train, p.theta, k, std::min(count, clusters), po.seed);
    }
    for (std::size_t j = 0; groups.size() < count && kind != "gradient"; ++j) {
      if (kind == "random") groups.push_back(influence::random_group(n, k, po.seed + 1000 + j));
      else if (kind == "knn") groups.push_back(influence::knn_group(p.train, (j * 7919 + po.seed) % n, k));
      else groups.push_back(influence::class_group(p.train, j % p.train.num_classes(), k, po.seed + j));
    }
    if (groups.size() < 2) throw UsageError("--kinds gradient: groups of " + std::to_string(k) + " rows give fewer than 2 clusters; lower --fraction");
    influence::RetrainRun run;
    run.threads = c.threads;
    run.results_path = rd.path("retrain-" + kind + ".jsonl");
    run.progress = !c.quiet;
    const auto e = influence::evaluate_groups(inv, p.test, t, groups, rp, run);
    std::size_t conv = 0;
    for (std::size_t j = 0; j < groups.size(); ++j) {
      conv += e.retrains[j].converged;
      out.row({kind, std::to_string(j), std::to_string(groups[j].size()), CsvLog::cell(e.first(j)), CsvLog::cell(e.second(j)),
               CsvLog::cell(e.newton(j)), CsvLog::cell(e.actual(j)), e.retrains[j].converged ? "1" : "0"});
    }
    summary["kinds"][kind] = {{"groups", groups.size()}, {"converged", conv}, {"pearson_first", e.pearson_first},
                              {"pearson_second", e.pearson_second}, {"pearson_newton", e.pearson_newton},
                              {"error_first", e.error_first}, {"error_second", e.error_second}, {"error_newton", e.error_newton}};
    char line[200];
    std::snprintf(line, sizeof line, "  %-9s %6zu  %14.3f %7.3f   %17.3f %7.3f %7.3f\n", kind.c_str(), groups.size(), e.pearson_first,
                  e.pearson_second, e.error_first, e.error_second, e.error_newton);
    s << line;
    write_svg(rd.path("group-" + kind + ".svg"),
              {kind + " groups, p = " + fmt("%.3g", fraction) + ": Pearson first " + fmt("%.3f", e.pearson_first) + ", second " +
                   fmt("%.3f", e.pearson_second),
               "actual change of the test loss (retrained)", "predicted change",
               {{"first order", vec(e.actual), vec(e.first), false}, {"second order", vec(e.actual), vec(e.second), false}}, true});
  }
  if (select) {
    const Tensor tg = influence::test_loss_gradient(*p.obj, p.test, {t}, p.theta);
    const auto sel = influence::most_influential_group(inv, tg, k);
    influence::RetrainRun run;
    run.threads = c.threads;
    run.results_path = rd.path("retrain-selection.jsonl");
    run.progress = !c.quiet;
    const auto rr = influence::retrain_groups(*p.obj, p.train, p.test, p.theta, {sel.greedy, sel.second_order}, {t}, rp, run);
    summary["selection"] = {{"greedy", {{"rows", sel.greedy}, {"first_order", sel.greedy_estimate.first_order},
                                        {"second_order", sel.greedy_estimate.second_order}, {"actual", rr[0].test_loss_change[0]}}},
                            {"second_order", {{"rows", sel.second_order}, {"first_order", sel.second_order_estimate.first_order},
                                              {"second_order", sel.second_order_estimate.second_order}, {"actual", rr[1].test_loss_change[0]}}},
                            {"iterations", sel.iterations}};
    s << "most influential group of " << k << " (raise the loss): greedy first-order pick → actual " << fmt("%+.4g", rr[0].test_loss_change[0])
      << "; second-order selection → actual " << fmt("%+.4g", rr[1].test_loss_change[0]) << "\n";
  }
  rd.write_json("summary.json", summary);
  s << "Files: " << rd.dir() << "/{groups.csv, group-<kind>.svg, summary.json}\n";
  say(c, s.str());
  return 0;
}

}  // namespace inflab::cli
