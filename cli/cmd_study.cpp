// The two reproduced studies. Each writes one CSV row per finished setting (so an
// interrupted study resumes where it stopped), plots, a markdown table and a summary.
//   study fragility — Basu, Pope & Feizi (ICLR 2021): influence accuracy against depth,
//                     width, weight decay and the test point, by leave-one-out retraining.
//   study groups    — Basu, You & Feizi (ICML 2020): first- against second-order group
//                     influence over group size and kind, by group retraining.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/common.hpp"
#include "cli/plot.hpp"
#include "influence/evaluation.hpp"
#include "influence/group_selection.hpp"
#include "influence/metrics.hpp"
#include "influence/spectrum.hpp"

namespace inflab::cli {

using json = nlohmann::json;

namespace {
// rows of a CsvLog read back as maps (for tables and plots over resumed runs too)
std::vector<std::map<std::string, std::string>> read_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> head;
  std::vector<std::map<std::string, std::string>> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> v;
    std::stringstream ss(l);
    for (std::string x; std::getline(ss, x, ',');) v.push_back(x);
    return v;
  };
  if (!std::getline(in, line)) return rows;
  head = split(line);
  while (std::getline(in, line)) {
    const auto v = split(line);
    std::map<std::string, std::string> r;
    for (std::size_t i = 0; i < head.size() && i < v.size(); ++i) r[head[i]] = v[i];
    rows.push_back(r);
  }
  return rows;
}
double num(const std::map<std::string, std::string>& r, const std::string& k) { return std::stod(r.at(k)); }
// a sweep list without repeats, in the order given (a repeat would be a duplicate row)
template <class T>
std::vector<T> unique_in_order(const std::vector<T>& v) {
  std::vector<T> out;
  for (const T& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  return out;
}
// keys name settings exactly: 17 significant digits, so close values never collide
std::string exact(double v) { return fmt("%.17g", v); }
}  // namespace

int run_study_fragility(Args& a) {
  const Common c = read_common(a, "fragility");
  ProblemOptions def;
  def.dataset = "iris";
  def.model = "mlp";
  def.width = 16;
  def.depth = 1;
  def.max_steps = 3000;
  const ProblemOptions po = read_problem(a, def);
  const influence::SolverChoice sc = read_solver(a);
  const influence::RetrainProtocol rp = read_retrain(a);
  const auto depths = unique_in_order(a.counts("depths", {1, 2, 3, 4, 6, 8}));
  const auto widths = unique_in_order(a.counts("widths", {5, 10, 25, 50}));
  const auto decays = unique_in_order(a.reals("weight-decays", {0.0, 0.001}));
  const std::size_t random_tests = a.count("random-tests", 2);
  const std::size_t top = a.count("top", 10, 2);
  a.finish("inflab study fragility");
  if (po.model != "mlp") throw UsageError("study fragility varies an MLP's depth and width; --model must be mlp");
  if (!po.checkpoint.empty()) throw UsageError("study fragility trains one model per setting; --checkpoint does not apply");
  for (double wd : decays)
    if (wd < 0) throw UsageError("--weight-decays: " + std::to_string(wd) + " is negative");
  const RunDir rd(c.out, "study fragility", a.settings());
  std::filesystem::create_directories(rd.path("loo"));
  struct Setting {
    std::size_t depth, width;
    double wd;
    std::string sweep;
  };
  std::vector<Setting> settings;
  for (double wd : decays) {
    for (auto d : depths) settings.push_back({d, po.width, wd, "depth"});
    for (auto w : widths) settings.push_back({po.depth, w, wd, "width"});
  }
  auto key_of = [](const Setting& s, const std::string& test) {
    return s.sweep + "-d" + std::to_string(s.depth) + "-w" + std::to_string(s.width) + "-wd" + exact(s.wd) + "-" + test;
  };
  CsvLog log(rd.path("fragility.csv"),
             {"key", "sweep", "depth", "width", "weight_decay", "test", "test_row", "parameters", "train_accuracy", "test_accuracy",
              "grad_norm", "lambda_min", "lambda_max", "negative", "pearson", "spearman", "relative_error", "mean_abs_actual", "converged",
              "retrained"},
             true);
  const auto done_list = log.done_keys();
  const std::set<std::string> done(done_list.begin(), done_list.end());
  const std::size_t tests = 1 + random_tests;
  Progress prog("fragility", settings.size() * tests, !c.quiet);
  for (const auto& s : settings) {
    bool all = true;
    std::vector<std::string> names = {"highest"};
    for (std::size_t r = 0; r < random_tests; ++r) names.push_back("random" + std::to_string(r));
    for (const auto& nm : names) all &= done.count(key_of(s, nm)) > 0;
    if (all) {
      for (std::size_t r = 0; r < tests; ++r) prog.tick("(done before)");
      continue;
    }
    ProblemOptions o = po;
    o.depth = s.depth, o.width = s.width, o.weight_decay = s.wd;
    const Problem p = build_problem(o, false);
    const influence::CurvatureOperator A(*p.obj, p.train, p.theta);
    const influence::SpectrumSummary spec = influence::spectrum(A);
    std::vector<std::size_t> trows = pick_test_rows("highest", p, po.seed);
    if (p.test.size() < tests)
      throw UsageError("--random-tests " + std::to_string(random_tests) + " needs " + std::to_string(tests) +
                       " test rows; the test set has " + std::to_string(p.test.size()));
    if (random_tests) {
      // random test points other than the highest-loss one (the same for every setting: same split and seed)
      for (auto r : pick_test_rows("random:" + std::to_string(tests), p, po.seed + 7))
        if (r != trows[0] && trows.size() < tests) trows.push_back(r);
    }
    const influence::InverseHvp inv(A, sc);
    for (std::size_t q = 0; q < trows.size(); ++q) {
      const std::string key = key_of(s, names[q]);
      if (done.count(key)) {
        prog.tick();
        continue;
      }
      const Tensor tg = influence::test_loss_gradient(*p.obj, p.test, {trows[q]}, p.theta);
      const influence::SolveResult sol = inv(tg);
      const Tensor pc = influence::train_gradient_dots(*p.obj, p.train, p.theta, sol.x) / static_cast<double>(p.train.size());
      std::vector<std::size_t> order(p.train.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return std::fabs(pc(x)) > std::fabs(pc(y)); });
      order.resize(std::min(top, order.size()));
      influence::RetrainRun run;
      run.threads = c.threads;
      run.results_path = rd.path("loo/" + key + ".jsonl");
      run.progress = false;
      const auto rec = influence::leave_one_out(*p.obj, p.train, p.test, p.theta, order, {trows[q]}, rp, run);
      Tensor pred = zeros({order.size()}), act = zeros({order.size()});
      std::size_t conv = 0;
      double scale = 0;  // mean |Δ|: beside retraining's own precision it says how much the correlation can mean
      for (std::size_t j = 0; j < order.size(); ++j)
        pred(j) = pc(order[j]), act(j) = rec[j].test_loss_change[0], conv += rec[j].converged, scale += std::fabs(act(j)) / order.size();
      log.row({key, s.sweep, std::to_string(s.depth), std::to_string(s.width), CsvLog::cell(s.wd), names[q], std::to_string(trows[q]),
               std::to_string(p.theta.size()), CsvLog::cell(p.train_accuracy), CsvLog::cell(p.test_accuracy), CsvLog::cell(A.grad_norm()),
               CsvLog::cell(spec.smallest), CsvLog::cell(spec.largest), spec.exact ? std::to_string(spec.negative) : "n/a",
               CsvLog::cell(influence::or_nan(influence::pearson, pred, act)), CsvLog::cell(influence::or_nan(influence::spearman, pred, act)),
               CsvLog::cell(influence::or_nan(influence::relative_error, pred, act)), CsvLog::cell(scale), std::to_string(conv), std::to_string(order.size())});
      prog.tick(key);
    }
  }
  prog.done();
  // tables and plots from the whole CSV (this run's rows and resumed ones alike)
  const auto rows = read_rows(rd.path("fragility.csv"));
  std::ostringstream md;
  md << "| sweep | depth | width | λ | test | params | test acc | λmin(H) | λmax(H) | negative | Pearson | Spearman | rel. error | mean abs Δ |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    md << "| " << r.at("sweep") << " | " << r.at("depth") << " | " << r.at("width") << " | " << r.at("weight_decay") << " | " << r.at("test")
       << " | " << r.at("parameters") << " | " << fmt("%.3f", num(r, "test_accuracy")) << " | " << fmt("%.3g", num(r, "lambda_min")) << " | "
       << fmt("%.3g", num(r, "lambda_max")) << " | " << r.at("negative") << " | " << fmt("%.3f", num(r, "pearson")) << " | "
       << fmt("%.3f", num(r, "spearman")) << " | " << fmt("%.3f", num(r, "relative_error")) << " | " << fmt("%.2g", num(r, "mean_abs_actual"))
       << " |\n";
  write_file(rd.path("fragility.md"), md.str());
  json summary = json::array();
  for (const std::string sweep : {"depth", "width"}) {
    Plot pl{"Influence vs leave-one-out on " + po.dataset + ": Pearson against " + sweep, sweep == "depth" ? "hidden layers" : "hidden units",
            "Pearson (top-" + std::to_string(top) + " by |Δ̂|)", {}, false};
    for (double wd : decays)
      for (const std::string test : {"highest", "random"}) {
        Series se{"λ = " + fmt("%g", wd) + (test == "highest" ? ", highest-loss test point" : ", random test points (mean)"), {}, {}, true};
        std::map<std::size_t, std::pair<double, int>> acc;
        for (const auto& r : rows)
          if (r.at("sweep") == sweep && std::fabs(num(r, "weight_decay") - wd) < 1e-15 && (r.at("test") == "highest") == (test == "highest")) {
            auto& e = acc[std::stoul(r.at(sweep == "depth" ? "depth" : "width"))];
            if (std::isfinite(num(r, "pearson"))) e.first += num(r, "pearson"), e.second += 1;
          }
        for (const auto& [x, e] : acc) {  // no defined Pearson at x: NaN, a gap in the line
          const double m = e.second ? e.first / e.second : std::nan("");
          se.x.push_back(static_cast<double>(x)), se.y.push_back(m);
          summary.push_back({{"sweep", sweep}, {sweep, x}, {"weight_decay", wd}, {"test", test}, {"mean_pearson", m}});
        }
        if (!se.x.empty()) pl.series.push_back(se);
      }
    write_svg(rd.path("pearson-vs-" + sweep + ".svg"), pl);
  }
  rd.write_json("summary.json", {{"settings", settings.size()}, {"rows", rows.size()}, {"mean_pearson", summary}});
  say(c, "study fragility: " + std::to_string(rows.size()) + " rows\n" + md.str() + "Files: " + rd.dir() +
             "/{fragility.csv, fragility.md, pearson-vs-depth.svg, pearson-vs-width.svg, summary.json}\n");
  return 0;
}

int run_study_groups(Args& a) {
  const Common c = read_common(a, "groups");
  ProblemOptions def;
  def.dataset = "iris";
  def.classes = {1, 2};
  def.model = "logreg";
  def.weight_decay = 0.01;
  def.grad_tol = 1e-10;
  const ProblemOptions po = read_problem(a, def);
  const influence::SolverChoice sc = read_solver(a);
  const influence::RetrainProtocol rp = read_retrain(a, 1e-10);
  const std::string spec = a.text("test", "highest");
  const auto fractions = unique_in_order(a.reals("fractions", {0.01, 0.05, 0.1, 0.2, 0.3}));
  const std::size_t count = a.count("groups", 10, 2);
  const bool select = !a.flag("no-select");
  a.finish("inflab study groups");
  for (double f : fractions)
    if (!(f > 0 && f < 1)) throw UsageError("--fractions: " + std::to_string(f) + " is not in (0, 1)");
  const RunDir rd(c.out, "study groups", a.settings());
  std::filesystem::create_directories(rd.path("retrain"));
  const Problem p = build_problem(po, !c.quiet);
  const auto trows = pick_test_rows(spec, p, po.seed);
  if (trows.size() != 1) throw UsageError("study groups uses one test point; --test " + spec + " gives " + std::to_string(trows.size()));
  const std::size_t t = trows[0], n = p.train.size();
  for (double f : fractions) {  // every size checked before any work
    try {
      influence::group_size(n, f);
    } catch (const Error& e) {
      throw UsageError(std::string("--fractions: ") + e.what());
    }
  }
  const influence::CurvatureOperator A(*p.obj, p.train, p.theta);
  const influence::InverseHvp inv(A, sc);
  CsvLog log(rd.path("groups.csv"),
             {"key", "fraction", "size", "kind", "groups", "pearson_first", "pearson_second", "pearson_newton", "error_first",
              "error_second", "error_newton", "converged"},
             true);
  CsvLog sel_log(rd.path("selection.csv"),
                 {"key", "fraction", "size", "greedy_first", "greedy_second", "greedy_actual", "selected_first", "selected_second",
                  "selected_actual", "common"},
                 true);
  const auto d1 = log.done_keys(), d2 = sel_log.done_keys();
  std::set<std::string> done(d1.begin(), d1.end());
  done.insert(d2.begin(), d2.end());
  const std::vector<std::string> kinds = {"random", "knn", "gradient"};
  Progress prog("groups", fractions.size() * (kinds.size() + (select ? 1 : 0)), !c.quiet);
  for (double f : fractions) {
    const std::size_t k = influence::group_size(n, f);
    for (const auto& kind : kinds) {
      const std::string key = "p" + exact(f) + "-" + kind;
      if (done.count(key)) { prog.tick("(done before)"); continue; }
      std::vector<std::vector<std::size_t>> groups;
      if (kind == "gradient") {
        const auto clusters = static_cast<std::size_t>(std::llround(static_cast<double>(n) / static_cast<double>(k)));
        if (clusters < 2) { prog.tick("(fewer than 2 clusters)"); continue; }
        groups = influence::gradient_cluster_groups(*p.obj, p.train, p.theta, k, std::min(count, clusters), po.seed);
      }
      for (std::size_t j = 0; kind != "gradient" && groups.size() < count; ++j)
        groups.push_back(kind == "random" ? influence::random_group(n, k, po.seed + 1000 + j)
                                          : influence::knn_group(p.train, (j * 7919 + po.seed) % n, k));
      influence::RetrainRun run;
      run.threads = c.threads;
      run.results_path = rd.path("retrain/" + key + ".jsonl");
      run.progress = false;
      const auto e = influence::evaluate_groups(inv, p.test, t, groups, rp, run);
      std::size_t conv = 0;
      for (const auto& r : e.retrains) conv += r.converged;
      log.row({key, CsvLog::cell(f), std::to_string(k), kind, std::to_string(groups.size()), CsvLog::cell(e.pearson_first),
               CsvLog::cell(e.pearson_second), CsvLog::cell(e.pearson_newton), CsvLog::cell(e.error_first), CsvLog::cell(e.error_second),
               CsvLog::cell(e.error_newton), std::to_string(conv)});
      prog.tick(key);
    }
    if (select) {
      const std::string key = "p" + exact(f) + "-select";
      if (done.count(key)) { prog.tick("(done before)"); continue; }
      const Tensor tg = influence::test_loss_gradient(*p.obj, p.test, {t}, p.theta);
      const auto sel = influence::most_influential_group(inv, tg, k);
      influence::RetrainRun run;
      run.results_path = rd.path("retrain/" + key + ".jsonl");
      run.progress = false;
      const auto rr = influence::retrain_groups(*p.obj, p.train, p.test, p.theta, {sel.greedy, sel.second_order}, {t}, rp, run);
      std::size_t common = 0;
      for (auto i : sel.greedy) common += std::binary_search(sel.second_order.begin(), sel.second_order.end(), i);
      sel_log.row({key, CsvLog::cell(f), std::to_string(k), CsvLog::cell(sel.greedy_estimate.first_order),
                   CsvLog::cell(sel.greedy_estimate.second_order), CsvLog::cell(rr[0].test_loss_change[0]),
                   CsvLog::cell(sel.second_order_estimate.first_order), CsvLog::cell(sel.second_order_estimate.second_order),
                   CsvLog::cell(rr[1].test_loss_change[0]), std::to_string(common)});
      prog.tick(key);
    }
  }
  prog.done();
  const auto rows = read_rows(rd.path("groups.csv"));
  std::ostringstream md;
  md << "| p | size | groups | kind | Pearson first | second | Newton | rel. error first | second | Newton |\n"
     << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    md << "| " << r.at("fraction") << " | " << r.at("size") << " | " << r.at("groups") << " | " << r.at("kind") << " | "
       << fmt("%.3f", num(r, "pearson_first")) << " | " << fmt("%.3f", num(r, "pearson_second")) << " | " << fmt("%.3f", num(r, "pearson_newton"))
       << " | " << fmt("%.3f", num(r, "error_first")) << " | " << fmt("%.3f", num(r, "error_second")) << " | "
       << fmt("%.3f", num(r, "error_newton")) << " |\n";
  const auto srows = read_rows(rd.path("selection.csv"));
  if (!srows.empty()) {
    md << "\nMost influential group (raise the loss): actual change after retraining\n\n"
       << "| p | size | greedy: Δ̂₁ | Δ̂₂ | actual | second-order selection: Δ̂₁ | Δ̂₂ | actual | rows in common |\n"
       << "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : srows)
      md << "| " << r.at("fraction") << " | " << r.at("size") << " | " << fmt("%.4g", num(r, "greedy_first")) << " | "
         << fmt("%.4g", num(r, "greedy_second")) << " | " << fmt("%.4g", num(r, "greedy_actual")) << " | "
         << fmt("%.4g", num(r, "selected_first")) << " | " << fmt("%.4g", num(r, "selected_second")) << " | "
         << fmt("%.4g", num(r, "selected_actual")) << " | " << r.at("common") << " |\n";
  }
  write_file(rd.path("groups.md"), md.str());
  for (const std::string metric : {"pearson", "error"}) {
    Plot pl{(metric == "pearson" ? "Pearson of group influence vs retraining (" : "Relative error of group influence (") + p.train.name + ")",
            "group size as a fraction p of the training set", metric == "pearson" ? "Pearson" : "Σ|Δ̂ − Δ| / Σ|Δ|", {}, false};
    for (const auto& kind : kinds)
      for (const std::string order : {"first", "second"}) {
        Series se{kind + ", " + order + " order", {}, {}, true};
        for (const auto& r : rows)
          if (r.at("kind") == kind) se.x.push_back(num(r, "fraction")), se.y.push_back(num(r, metric + "_" + order));
        if (!se.x.empty()) pl.series.push_back(se);
      }
    write_svg(rd.path(metric + "-vs-p.svg"), pl);
  }
  rd.write_json("summary.json", {{"test_row", t}, {"train_rows", n}, {"rows", rows.size()}, {"selections", srows.size()}});
  say(c, "study groups on " + p.train.name + " (n = " + std::to_string(n) + ", test row " + std::to_string(t) + ")\n" + md.str() +
             "Files: " + rd.dir() + "/{groups.csv, selection.csv, groups.md, pearson-vs-p.svg, error-vs-p.svg, summary.json}\n");
  return 0;
}

}  // namespace inflab::cli
