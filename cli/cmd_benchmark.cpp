// inflab benchmark: every chosen estimator scored against retraining on one problem
// (influence/benchmark.hpp; docs/benchmark.md) — parse → ground truth → estimates → table.
#include <cmath>
#include <sstream>

#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "datasets/split.hpp"
#include "influence/benchmark.hpp"
#include "influence/evaluation.hpp"
#include "influence/influence.hpp"
#include "influence/metrics.hpp"
#include "influence/retrain_jobs.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace inf = influence;

namespace {
struct Row {
  std::string estimator;
  inf::BenchScores loo, lds;
  double auc = std::nan(""), seconds = std::nan("");
  std::string note;  // why a score is missing, or the solve's warning
};
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

int run_benchmark(Args& a) {
  const Common c = read_common(a, "benchmark");
  inf::ProblemSpec def;
  def.dataset = "fashion-mnist", def.model = inf::ModelKind::Softmax, def.weight_decay = 0.01;
  const bool sized = a.given("n-train");
  ProblemArgs pa = read_problem(a, def, "benchmark trains its problems: the clean one and one with flipped labels");
  if (pa.spec.dataset == "fashion-mnist" && !sized) pa.spec.n_train = 5000;  // dattri's size (other data: all rows)
  const auto ests = a.choices("estimators", inf::benchmark_estimators(), "exact,cg,ggn,kfac,ekfac,graddot,trak");
  inf::BenchmarkSettings s;
  s.damping = a.real("damping", 0, 0, 1e6);
  s.tol = a.real("tol", 1e-10, 1e-300, 1);
  s.max_iterations = a.count("max-iterations", 2000, 1);
  s.rank = a.count("rank", 50, 1);
  s.trak_dim = a.count("trak-dim", 256, 1);
  s.lissa.scale = a.real("lissa-scale", 10, 1e-12, 1e12);
  s.lissa.depth = a.count("lissa-depth", 1000, 1);
  const std::size_t loo_rows = a.count("loo-rows", 100, 3), points = a.count("test-points", 10, 1);
  const std::size_t subsets = a.count("subsets", 100, 3);
  const double alpha = a.real("alpha", 0.5, 1e-6, 0.999999), flip = a.real("flip", 0.1, 0, 0.5);
  const auto truth = a.choice("truth", inf::benchmark_truths(), inf::BenchTruth::Retrain);
  inf::BenchmarkSettings ref = s;  // the reference: CG on H + μI, to its own tolerance
  ref.tol = a.real("reference-tol", 1e-10, 1e-300, 1);
  ref.max_iterations = a.count("reference-iterations", 10000, 1);
  if (truth == inf::BenchTruth::Retrain)
    for (const char* o : {"reference-tol", "reference-iterations"})
      if (a.given(o)) throw UsageError(std::string("--") + o + " applies to --truth cg only");
  const inf::RetrainProtocol rp = read_retrain(a);
  if (truth == inf::BenchTruth::Cg)
    for (const char* o : {"retrain", "retrain-tol", "retrain-epochs", "retrain-lr", "retrain-steps", "escape-saddles"})
      if (a.given(o)) throw UsageError(std::string("--") + o + " does not apply to --truth cg: nothing is retrained");
  a.finish("inflab benchmark");
  const RunDir rd(c.out, "benchmark", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const inf::Problem p = obtain_problem(pa, !c.quiet);
  if (loo_rows >= p.train.size()) throw UsageError("--loo-rows " + std::to_string(loo_rows) + " needs more than that many training rows; there are " + std::to_string(p.train.size()));
  if (points > p.test.size()) throw UsageError("--test-points " + std::to_string(points) + " exceeds the " + std::to_string(p.test.size()) + " test rows");
  const std::vector<std::size_t> tests = inf::pick_test_rows("random:" + std::to_string(points), p, pa.spec.seed);
  auto rows = data::permutation(p.train.size(), pa.spec.seed + 101);  // removed rows: random, not chosen by any estimator
  rows.resize(loo_rows);

  // ground truth first (journals: resumable, spread over MPI ranks), then every estimator
  const bool retrained = truth == inf::BenchTruth::Retrain;
  inf::Estimate reference;  // --truth cg: Δ̂ of CG to --reference-tol
  std::string reference_note;
  if (!retrained) {
    reference = inf::estimate(p, inf::BenchEstimator::Cg, tests, ref);
    reference_note = reference.warning.empty() ? "CG on H + μI to relative residual " + shortest(ref.tol) + " at every test point"
                                               : "the reference is not exact: " + reference.warning;
    if (!c.quiet) say(c, "reference: " + reference_note + " (" + fmt("%.1f", reference.seconds) + " s)\n");
  }
  std::vector<std::vector<std::size_t>> loo_groups;
  for (auto r : rows) loo_groups.push_back({r});
  const inf::GroundTruth loo = retrained ? inf::loo_truth(p, rows, tests, rp, retrain_run(c, rd, "loo.jsonl"))
                                         : inf::reference_truth(reference.predicted, loo_groups, tests);
  const inf::GroundTruth lds = retrained ? inf::lds_truth(p, subsets, alpha, tests, rp, retrain_run(c, rd, "lds.jsonl"), pa.spec.seed)
                                         : inf::reference_truth(reference.predicted, inf::lds_groups(p.train.size(), subsets, alpha, pa.spec.seed), tests);
  bool floor_converged = false;
  // a floor only where both trainings end at the one minimum: a convex model, θ′ to the tolerance
  const bool convex = pa.spec.model == inf::ModelKind::LogReg || pa.spec.model == inf::ModelKind::Softmax;
  const Tensor floor = retrained ? inf::seed_floor(p, tests, &floor_converged) : Tensor(zeros({0}));
  const std::string floor_note = !retrained ? "no retraining: the reference's precision is its solve's residual"
                                 : !convex ? "not a floor: a non-convex model's other initialisation ends at another minimum"
                                 : !floor_converged ? "θ′ did not meet the training tolerance: the floor is approximate"
                                                    : "";
  auto median_abs = [](const Tensor& v) {
    std::vector<double> x;
    for (double e : v)
      if (std::isfinite(e)) x.push_back(std::fabs(e));
    return x.empty() ? std::nan("") : inf::quantile(x, 0.5);
  };
  data::TrainTest noisy_data = inf::load_data(pa.spec);
  const auto flipped = inf::flip_labels(noisy_data.train, flip, pa.spec.seed + 17);
  const inf::Problem noisy = inf::build_problem(pa.spec, std::move(noisy_data), !c.quiet);
  const double auc_loss = flipped.empty() ? std::nan("") : inf::detection_auc(inf::row_losses(*noisy.obj, noisy.train, noisy.theta), flipped);

  std::vector<Row> out;
  CsvLog csv(rd.path("benchmark.csv"), {"estimator", "loo_pearson", "loo_spearman", "loo_points", "loo_undefined", "lds_spearman", "lds_points",
                                        "lds_undefined", "noisy_label_auc", "seconds", "note"});
  for (const auto e : ests) {
    Row r;
    r.estimator = inf::benchmark_estimators().name(e);
    try {
      const inf::Estimate est = inf::estimate(p, e, tests, s);
      r.seconds = est.seconds, r.note = est.warning;
      if (!retrained && e == inf::BenchEstimator::Cg && s.tol <= ref.tol)
        r.note += (r.note.empty() ? "" : "; ") + std::string("the reference itself (--tol ≤ --reference-tol): give a larger --tol to score a cheaper CG");
      r.loo = inf::loo_scores(est.predicted, loo), r.lds = inf::lds_scores(est.predicted, lds);
      for (const auto& [what, sc] : {std::pair<const char*, const inf::BenchScores*>{"LOO", &r.loo}, {"LDS", &r.lds}})
        if (sc->undefined)  // the mean is over fewer points than asked: say so beside it
          r.note += (r.note.empty() ? "" : "; ") + std::string(what) + ": mean over " + std::to_string(sc->points) + " of " +
                    std::to_string(sc->points + sc->undefined) + " test points (no correlation at the others)";
      std::string why;
      if (flipped.empty()) why = "--flip 0";
      else if (const auto self = inf::self_scores(noisy, e, s, &why)) r.auc = inf::detection_auc(*self, flipped);
      if (!why.empty()) r.note += (r.note.empty() ? "" : "; ") + std::string("noisy labels: ") + why;
    } catch (const std::exception& err) {  // one estimator that cannot run (e.g. exact on a large p) does not stop the others
      r.loo.pearson = r.loo.spearman = r.lds.spearman = std::nan("");
      r.note = std::string("not run: ") + err.what();
    }
    csv.row({r.estimator, CsvLog::cell(r.loo.pearson), CsvLog::cell(r.loo.spearman), std::to_string(r.loo.points), std::to_string(r.loo.undefined),
             CsvLog::cell(r.lds.spearman), std::to_string(r.lds.points), std::to_string(r.lds.undefined), CsvLog::cell(r.auc),
             CsvLog::cell(r.seconds), CsvLog::text(r.note)});
    out.push_back(r);
  }

  std::ostringstream md;
  md << "| estimator | LOO Pearson | LOO Spearman | LDS Spearman | noisy-label AUC | time (s) | note |\n|---|---|---|---|---|---|---|\n";
  auto cell = [](double v) { return std::isfinite(v) ? fmt("%.3f", v) : std::string("n/a"); };
  for (const auto& r : out)
    md << "| " << r.estimator << " | " << cell(r.loo.pearson) << " | " << cell(r.loo.spearman) << " | " << cell(r.lds.spearman) << " | "
       << cell(r.auc) << " | " << (std::isfinite(r.seconds) ? fmt("%.2f", r.seconds) : std::string("n/a")) << " | " << r.note << " |\n";
  md << "| training loss (baseline) | | | | " << cell(auc_loss) << " | | |\n";
  // scores over retrains that did not end at a minimum are not exact ground truth: say so under the table
  for (const auto& [what, g] : {std::pair<const char*, const inf::GroundTruth*>{"leave-one-out", &loo}, {"subset", &lds}})
    if (g->retrain.converged < g->retrain.jobs)
      md << "\ncaveat: " << g->retrain.jobs - g->retrain.converged << " of " << g->retrain.jobs << " " << what
         << " retrains did not end at a minimum to the tolerance (" << g->retrain.saddles << " at a saddle, " << g->retrain.unresolved
         << " took no step, the rest stopped before the tolerance); their Δ is approximate and in the scores above.";
  if (!retrained && !reference.warning.empty()) md << "\ncaveat: " << reference_note << " — every score above is against it.";
  md << "\n";
  write_file(rd.path("benchmark.md"), md.str());

  json rows_j = json::array();
  for (const auto& r : out)
    rows_j.push_back({{"estimator", r.estimator}, {"loo_pearson", num(r.loo.pearson)}, {"loo_spearman", num(r.loo.spearman)},
                      {"loo_points", r.loo.points}, {"loo_undefined", r.loo.undefined}, {"lds_spearman", num(r.lds.spearman)},
                      {"lds_points", r.lds.points}, {"lds_undefined", r.lds.undefined}, {"noisy_label_auc", num(r.auc)},
                      {"seconds", num(r.seconds)}, {"note", r.note}});
  auto sources = [](const data::Dataset& d, const std::vector<std::size_t>& r) {
    std::vector<std::size_t> s;
    for (auto i : r) s.push_back(d.source_row(i));
    return s;
  };
  json summary = {{"problem", problem_json(p)}, {"noisy_problem", problem_json(noisy)}, {"test_rows", tests},
                  {"test_source_rows", sources(p.test, tests)}, {"loo_rows", rows}, {"loo_source_rows", sources(p.train, rows)},
                  {"subsets", subsets}, {"alpha", alpha}, {"flip", flip}, {"flipped", flipped.size()},
                  {"truth", inf::benchmark_truths().name(truth)},
                  {"noisy_label_auc_training_loss", num(auc_loss)},
                  {"noise_floor", {{"per_test_point", std::vector<double>(floor.begin(), floor.end())},
                                   {"median", convex ? num(median_abs(floor)) : json(nullptr)}, {"note", floor_note},
                                   {"median_abs_loo_change", median_abs(loo.actual)}, {"median_abs_lds_change", median_abs(lds.actual)}}}, {"estimators", rows_j},
                  {"warnings", warnings_of(p, inf::SolveResult{})}};
  if (retrained)
    summary.update({{"retrain_protocol", inf::protocol_json(rp)}, {"loo_retrains", retrain_json(loo.retrain)}, {"lds_retrains", retrain_json(lds.retrain)}});
  else
    summary["reference"] = {{"method", "cg"}, {"curvature", "hessian"}, {"damping", ref.damping}, {"tol", ref.tol},
                            {"max_iterations", ref.max_iterations}, {"seconds", reference.seconds}, {"warning", reference.warning}};
  rd.write_json("summary.json", summary);
  std::ostringstream screen;
  screen << problem_line(p);
  if (retrained)
    screen << "ground truth on " << tests.size() << " random test points: leave-one-out of " << loo_rows << " random rows ("
           << retrain_line(loo.retrain) << "); " << subsets << " subsets keeping α = " << shortest(alpha) << " (" << retrain_line(lds.retrain)
           << "); noisy labels: " << flipped.size() << " of " << noisy.train.size() << " flipped\n"
           << "noise floor (θ′ from another initialisation, same data and training): median |Δℓ| " << fmt("%.2g", median_abs(floor))
           << " against median |Δ| " << fmt("%.2g", median_abs(loo.actual)) << " (leave-one-out) and " << fmt("%.2g", median_abs(lds.actual))
           << " (subsets)" << (floor_note.empty() ? "" : " — " + floor_note) << "\n\n";
  else
    screen << "reference on " << tests.size() << " random test points (no retraining): " << reference_note << " in "
           << fmt("%.1f", reference.seconds) << " s; scored at " << loo_rows << " random rows and " << subsets << " subsets keeping α = "
           << shortest(alpha) << "; noisy labels: " << flipped.size() << " of " << noisy.train.size() << " flipped\n\n";
  screen << md.str()
         << (retrained ? "\nLOO: correlation of Δ̂ with the retrained change over the removed rows, mean over test points; LDS: Spearman of Σ Δ̂ over\n"
                         "each subset's removed rows with its retrained change; AUC: self-influence as a detector of flipped labels (docs/benchmark.md).\n"
                       : "\nLOO: correlation of Δ̂ with the reference's Δ̂ over the chosen rows, mean over test points; LDS: Spearman of Σ Δ̂ over\n"
                         "each subset's removed rows with the reference's sum; AUC: self-influence as a detector of flipped labels (docs/benchmark.md).\n")
         << "Files: " << rd.dir() << "/{benchmark.csv, benchmark.md, summary.json" << (retrained ? ", loo.jsonl, lds.jsonl}\n" : "}\n");
  finish(c, rd, screen.str());
  return 0;
}

}  // namespace inflab::cli
