// inflab benchmark: every chosen estimator scored against retraining on one problem
// (experiments/benchmark.hpp; docs/benchmark.md) — parse → run_benchmark → table.
#include <cmath>
#include <sstream>

#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "experiments/benchmark.hpp"
#include "experiments/retrain_jobs.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace ex = experiments;

namespace {
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
std::string cell(double v) { return std::isfinite(v) ? fmt("%.3f", v) : std::string("n/a"); }

ex::BenchmarkOptions read_benchmark(Args& a) {
  ex::BenchmarkOptions o;
  std::vector<ex::Estimator> chosen;
  o.entries = read_bench_entries(a, "exact,cg,ggn,kfac,ekfac,graddot,trak");
  for (const auto& e : o.entries) chosen.push_back(e.estimator);
  o.truth = a.choice("truth", ex::benchmark_truths(), ex::BenchTruth::Retrain);
  if (ex::references(o.truth)) chosen.push_back(ex::Estimator::Cg);  // the reference reads --damping
  o.settings = read_estimator_settings(a, chosen, EstimatorScope{true, false, true}, ex::benchmark_settings());
  o.loo_rows = a.count("loo-rows", 100, 3), o.test_points = a.count("test-points", 10, 1);
  o.subsets = a.count("subsets", 100, 3);
  o.alpha = a.real("alpha", 0.5, 1e-6, 0.999999), o.flip = a.real("flip", 0.1, 0, 0.5);
  // only the chosen truth's options are read, so that command.txt (every setting read) repeats the run
  o.reference = o.settings;  // the reference: CG on H + μI, to its own tolerance
  if (ex::references(o.truth)) {
    o.reference.solver.cg.tol = a.real("reference-tol", 1e-10, 1e-300, 1);
    o.reference.solver.cg.max_iterations = a.count("reference-iterations", 10000, 1);
  } else {
    for (const char* opt : {"reference-tol", "reference-iterations"})
      if (a.given(opt)) throw UsageError(std::string("--") + opt + " applies to --truth cg or both only");
  }
  if (ex::retrains(o.truth)) {
    o.retrain = read_retrain(a);
  } else {
    for (const char* opt : {"retrain", "retrain-tol", "retrain-epochs", "retrain-lr", "retrain-steps", "escape-saddles", "retrain-precondition",
                            "retrain-precondition-rank", "retrain-target", "retrain-damping"})
      if (a.given(opt)) throw UsageError(std::string("--") + opt + " does not apply to --truth cg: nothing is retrained");
  }
  return o;
}

// benchmark.md: the table, the baseline and the caveats under it
std::string markdown(const ex::BenchmarkResult& r, ex::BenchTruth truth) {
  const bool both = truth == ex::BenchTruth::Both;
  std::ostringstream md;
  md << "| estimator | LOO Pearson | LOO Spearman | LDS Spearman | "
     << (both ? "against the reference: LOO Pearson | LOO Spearman | LDS Spearman | " : "") << "noisy-label AUC | time (s) | note |\n|---|---|---|---|"
     << (both ? "---|---|---|" : "") << "---|---|---|\n";
  for (const auto& row : r.rows) {
    md << "| " << row.estimator << " | " << cell(row.loo.pearson) << " | " << cell(row.loo.spearman) << " | " << cell(row.lds.spearman) << " | ";
    if (both) md << cell(row.ref_loo.pearson) << " | " << cell(row.ref_loo.spearman) << " | " << cell(row.ref_lds.spearman) << " | ";
    md << cell(row.auc) << " | " << (std::isfinite(row.seconds) ? fmt("%.2f", row.seconds) : std::string("n/a")) << " | " << row.note << " |\n";
  }
  md << "| training loss (baseline) | | | | " << (both ? "| | | " : "") << cell(r.auc_loss) << " | | |\n";
  // scores over retrains that did not end at a minimum are not exact ground truth: say so under the table
  for (const auto& [what, g] : {std::pair<const char*, const ex::GroundTruth*>{"leave-one-out", &r.loo}, {"subset", &r.lds}})
    if (g->retrain.exact() < g->retrain.jobs)
      md << "\ncaveat: " << g->retrain.jobs - g->retrain.exact() << " of " << g->retrain.jobs << " " << what
         << " retrains did not end at a minimum to the tolerance (" << g->retrain.saddles << " at a saddle, " << g->retrain.unresolved
         << " took no step, " << g->retrain.budget << " stopped before the tolerance or ran a fixed budget); their Δ is approximate and in the scores above.";
  if (ex::references(truth) && !r.reference.first_warning().empty())
    md << "\ncaveat: " << r.reference_note << " — every score " << (both ? "against the reference" : "above") << " is against it.";
  md << "\n";
  return md.str();
}

json row_json(const ex::BenchmarkRow& r) {
  return {{"estimator", r.estimator}, {"loo_pearson", num(r.loo.pearson)}, {"loo_spearman", num(r.loo.spearman)},
          {"loo_points", r.loo.points}, {"loo_undefined", r.loo.undefined}, {"lds_spearman", num(r.lds.spearman)},
          {"lds_points", r.lds.points}, {"lds_undefined", r.lds.undefined}, {"reference_loo_pearson", num(r.ref_loo.pearson)},
          {"reference_loo_spearman", num(r.ref_loo.spearman)}, {"reference_lds_spearman", num(r.ref_lds.spearman)},
          {"noisy_label_auc", num(r.auc)}, {"seconds", num(r.seconds)}, {"note", r.note}};
}

json summary_json(const ex::Problem& p, const ex::BenchmarkOptions& o, const ex::BenchmarkResult& r) {
  auto sources = [](const data::Dataset& d, const std::vector<std::size_t>& rows) {
    std::vector<std::size_t> s;
    for (auto i : rows) s.push_back(d.source_row(i));
    return s;
  };
  json rows = json::array();
  for (const auto& row : r.rows) rows.push_back(row_json(row));
  json s = {{"problem", problem_json(p)}, {"noisy_problem", r.noisy.obj ? problem_json(r.noisy) : json(nullptr)}, {"test_rows", r.test_rows},
            {"test_source_rows", sources(p.test, r.test_rows)}, {"loo_rows", r.loo_rows}, {"loo_source_rows", sources(p.train, r.loo_rows)},
            {"subsets", o.subsets}, {"alpha", o.alpha}, {"flip", o.flip}, {"flipped", r.flipped.size()},
            {"truth", ex::benchmark_truths().name(o.truth)}, {"noisy_label_auc_training_loss", num(r.auc_loss)},
            {"noise_floor", {{"per_test_point", vec(r.floor)}, {"median", r.convex ? num(ex::median_abs(r.floor)) : json(nullptr)}, {"note", r.floor_note},
                             {"median_abs_loo_change", ex::median_abs(r.loo.actual)}, {"median_abs_lds_change", ex::median_abs(r.lds.actual)}}},
            {"estimators", rows}, {"warnings", warnings_of(p, ex::SolveResult{})}};
  if (ex::retrains(o.truth))
    s.update({{"retrain_protocol", ex::protocol_json(o.retrain)}, {"retrain_target", ex::retrain_targets().name(o.retrain.target)}, {"loo_retrains", retrain_json(r.loo.retrain)}, {"lds_retrains", retrain_json(r.lds.retrain)}});
  if (ex::references(o.truth))
    s["reference"] = {{"method", "cg"}, {"curvature", "hessian"}, {"damping", o.reference.solver.damping}, {"tol", o.reference.solver.cg.tol},
                      {"max_iterations", o.reference.solver.cg.max_iterations}, {"seconds", r.reference.seconds}, {"warning", r.reference.first_warning()}};
  return s;
}

std::string noisy_text(const ex::BenchmarkResult& r) {
  return r.noisy.obj ? "noisy labels: " + std::to_string(r.flipped.size()) + " of " + std::to_string(r.noisy.train.size()) + " flipped"
                     : std::string("no noisy labels (--flip 0)");
}

std::string screen_text(const ex::Problem& p, const ex::BenchmarkOptions& o, const ex::BenchmarkResult& r) {
  const bool retrained = ex::retrains(o.truth);
  std::ostringstream screen;
  screen << problem_line(p);
  if (retrained)
    screen << "ground truth on " << r.test_rows.size() << " random test points, " << truth_words(o.retrain).title << ": " << o.loo_rows
           << " random rows removed one at a time ("
           << retrain_line(r.loo.retrain) << "); " << o.subsets << " subsets keeping α = " << shortest(o.alpha) << " (" << retrain_line(r.lds.retrain)
           << "); " << noisy_text(r) << "\n"
           << "noise floor (θ′ from another initialisation, same data and training): median |Δℓ| " << fmt("%.2g", ex::median_abs(r.floor))
           << " against median |Δ| " << fmt("%.2g", ex::median_abs(r.loo.actual)) << " (leave-one-out) and " << fmt("%.2g", ex::median_abs(r.lds.actual))
           << " (subsets)" << (r.floor_note.empty() ? "" : " — " + r.floor_note) << "\n"
           << (ex::references(o.truth) ? "reference (the columns against it): " + r.reference_note + " in " + fmt("%.1f", r.reference.seconds) + " s\n" : "")
           << "\n";
  else
    screen << "reference on " << r.test_rows.size() << " random test points (no retraining): " << r.reference_note << " in "
           << fmt("%.1f", r.reference.seconds) << " s; scored at " << o.loo_rows << " random rows and " << o.subsets << " subsets keeping α = "
           << shortest(o.alpha) << "; " << noisy_text(r) << "\n\n";
  screen << markdown(r, o.truth)
         << (retrained ? "\nLOO: correlation of predicted Δ with the retrained change over the removed rows, mean over test points; LDS: Spearman of Σ predicted Δ over\n"
                         "each subset's removed rows with its retrained change; AUC: self-influence as a detector of flipped labels (docs/benchmark.md).\n" +
                             std::string(o.truth == ex::BenchTruth::Both ? "Against the reference: the same scores with CG's predicted Δ to --reference-tol in place of the retrained change.\n" : "")
                       : "\nLOO: correlation of predicted Δ with the reference's predicted Δ over the chosen rows, mean over test points; LDS: Spearman of Σ predicted Δ over\n"
                         "each subset's removed rows with the reference's sum; AUC: self-influence as a detector of flipped labels (docs/benchmark.md).\n");
  return screen.str();
}
}  // namespace

int run_benchmark(Args& a) {
  const Common c = read_common(a, "benchmark");
  ex::ProblemSpec def = ex::benchmark_problem();
  const bool sized = a.given("n-train");
  def.n_train = 0;  // 5000 on Fashion-MNIST only (below): other data keep all their rows
  ProblemArgs pa = read_problem(a, def, "benchmark trains its problems: the clean one and one with flipped labels");
  if (ex::named_dataset(pa.spec) == ex::DatasetKind::FashionMnist && !sized) pa.spec.n_train = ex::benchmark_problem().n_train;
  ex::BenchmarkOptions o = read_benchmark(a);
  o.settings.solver.exact.progress = !c.quiet;  // an exact row's dense H: minutes on Fashion-MNIST
  a.finish("inflab benchmark");
  const RunDir rd(c.out, "benchmark", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const ex::Problem p = obtain_problem(pa, !c.quiet, {}, [&o](std::size_t params) {  // an exact row's dense H, before training
    for (const auto& e : o.entries) {
      ex::EstimatorSettings s = o.settings;
      s.curvature = e.curvature;
      ex::check_feasible(e.estimator, s, params);
    }
  });
  o.retrain = ex::for_problem(o.retrain, p.spec);  // loo-cold, unrolled: θ̂'s training, as recorded
  if (o.loo_rows >= p.train.size()) throw UsageError("--loo-rows " + std::to_string(o.loo_rows) + " needs more than that many training rows; there are " + std::to_string(p.train.size()));
  if (o.test_points > p.test.size()) throw UsageError("--test-points " + std::to_string(o.test_points) + " exceeds the " + std::to_string(p.test.size()) + " test rows");
  CsvLog csv(rd.path("benchmark.csv"), {"estimator", "loo_pearson", "loo_spearman", "loo_points", "loo_undefined", "lds_spearman", "lds_points",
                                        "lds_undefined", "noisy_label_auc", "seconds", "note", "reference_loo_pearson", "reference_loo_spearman",
                                        "reference_lds_spearman"});
  const ex::BenchmarkResult r = ex::run_benchmark(p, o, retrain_run(c, rd, "loo.jsonl"), retrain_run(c, rd, "lds.jsonl"), !c.quiet, [&](const ex::BenchmarkRow& row) {
    csv.row({row.estimator, CsvLog::cell(row.loo.pearson), CsvLog::cell(row.loo.spearman), std::to_string(row.loo.points), std::to_string(row.loo.undefined),
             CsvLog::cell(row.lds.spearman), std::to_string(row.lds.points), std::to_string(row.lds.undefined), CsvLog::cell(row.auc),
             CsvLog::cell(row.seconds), CsvLog::text(row.note), CsvLog::cell(row.ref_loo.pearson), CsvLog::cell(row.ref_loo.spearman),
             CsvLog::cell(row.ref_lds.spearman)});
  });
  write_file(rd.path("benchmark.md"), markdown(r, o.truth));
  rd.write_json("summary.json", summary_json(p, o, r));
  finish(c, rd, screen_text(p, o, r));
  return 0;
}

}  // namespace inflab::cli
