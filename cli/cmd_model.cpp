// train, check, hessian, spectrum: the model and its objective's derivatives.
#include <cmath>
#include <limits>
#include <cstdio>
#include <sstream>

#include "autodiff/check.hpp"
#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "cli/plot.hpp"
#include "nn/choices.hpp"
#include "influence/solvers.hpp"
#include "influence/spectrum.hpp"
#include "nn/checkpoint.hpp"

namespace inflab::cli {

using json = nlohmann::json;


int run_train(Args& a) {
  const Common c = read_common(a, "train");
  const ProblemArgs pa = read_problem(a, {}, "train makes a checkpoint");
  const std::vector<std::size_t> save_steps = read_save_steps(a, pa);
  a.finish("inflab train");
  const RunDir rd(c.out, "train", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const experiments::Problem p = experiments::build_problem(pa.spec, !c.quiet, save_steps);
  experiments::save_problem(rd.path("checkpoint"), p);
  // L-BFGS and Newton: one row per iteration, without an accuracy (not measured per
  // iteration; θ̂'s is in summary.json); sgd and adam: one row per epoch
  const bool per_iteration = nn::to_tolerance(pa.spec.optimizer);
  CsvLog h(rd.path("history.csv"), per_iteration ? std::vector<std::string>{"iteration", "loss", "grad_norm", "seconds"}
                                                 : std::vector<std::string>{"epoch", "steps", "loss", "accuracy", "grad_norm", "seconds"});
  Series loss{.label = "R(θ) on the training set", .line = true}, grad{.label = "‖∇R(θ)‖ (influence assumes ≈ 0)", .line = true};
  for (const auto& e : p.history) {
    if (per_iteration) h.row({std::to_string(e.epoch), CsvLog::cell(e.loss), CsvLog::cell(e.grad_norm), CsvLog::cell(e.seconds)});
    else
      h.row({std::to_string(e.epoch), std::to_string(e.steps), CsvLog::cell(e.loss), CsvLog::cell(e.accuracy), CsvLog::cell(e.grad_norm),
             CsvLog::cell(e.seconds)});
    loss.x.push_back(static_cast<double>(e.epoch)), loss.y.push_back(std::log10(std::max(e.loss, 1e-300)));
    if (std::isfinite(e.grad_norm)) grad.x.push_back(static_cast<double>(e.epoch)), grad.y.push_back(std::log10(std::max(e.grad_norm, 1e-300)));
  }
  write_svg(rd.path("loss.svg"), {"Training on " + p.train.name + " (" + p.fit.optimizer + "): R(θ) and ‖∇R(θ)‖", per_iteration ? "iteration" : "epoch",
                                  "log10", {loss, grad}, false});
  rd.write_json("summary.json", problem_json(p));
  finish(c, rd, problem_line(p) + "checkpoint: " + rd.path("checkpoint") + "  (use it with --checkpoint)\n");
  return 0;
}

int run_check(Args& a) {
  const Common c = read_common(a, "check");
  const ProblemArgs pa = read_problem(a);
  const bool at_init = a.flag("at-init");
  const std::size_t rows = a.count("rows", 200, 1);
  a.finish("inflab check");
  const RunDir rd(c.out, "check", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  experiments::Problem p = obtain_problem(pa, !c.quiet);
  if (at_init) p.theta = p.obj->model().init(pa.spec.seed);
  const data::Dataset d = p.train.size() > rows ? data::subset(p.train, [&] {
    std::vector<std::size_t> r(rows);
    for (std::size_t i = 0; i < rows; ++i) r[i] = i;
    return r;
  }()) : p.train;
  const ad::Fn f = p.obj->fn(d);
  const std::size_t P = p.theta.size();
  const ad::DerivativeChecks dc = ad::check_derivatives(f, p.theta, pa.spec.seed);
  const auto& t = dc.taylor;
  std::ostringstream rep;
  rep << "Derivative checks of R(θ) on " << d.size() << " rows of " << d.name << ", " << P << " parameters, at "
      << (at_init ? "initialisation" : "θ̂") << "\n";
  const bool ok = dc.pass();
  json j = json::object();
  for (const auto& l : dc.checks) {
    rep << "  " << ad::verdict_name(l.verdict) << "  " << l.name << ": " << l.why << "\n";
    j[l.name] = {{"value", std::isfinite(l.value) ? json(l.value) : json(nullptr)}, {"bound", l.bound}, {"pass", l.verdict != ad::Verdict::Fail},
                 {"inconclusive", l.verdict == ad::Verdict::Inconclusive}};
  }
  // the Taylor remainders themselves, so a verdict can be read off the numbers
  rep << "\n  Taylor remainders along a unit direction v (rounding floor beside each):\n"
      << "        ε     |f(θ+εv) − f − εgᵀv|    floor   |… − ½ε²vᵀHv|    floor\n";
  for (std::size_t k = 0; k < t.eps.size(); ++k) {
    char line[160];
    std::snprintf(line, sizeof line, "  %9.3g   %12.3g   %9.2g   %12.3g   %9.2g\n", t.eps[k], t.r1[k], t.floor1[k], t.r2[k], t.floor2[k]);
    rep << line;
  }
  write_file(rd.path("report.txt"), rep.str());
  rd.write_json("summary.json", {{"problem", problem_json(p)}, {"checks", j}, {"pass", ok}});
  finish(c, rd, rep.str());
  return ok ? 0 : 3;
}


int run_hessian(Args& a) {
  const Common c = read_common(a, "hessian");
  const ProblemArgs pa = read_problem(a);
  const experiments::CurvatureChoice kind = read_curvature(a);
  const std::size_t max_dim = a.count("max-dim", 4000, 1);
  a.finish("inflab hessian");
  const RunDir rd(c.out, "hessian", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const experiments::Problem p = obtain_problem(pa, !c.quiet, {}, [&](std::size_t params) {  // before training
    if (params > max_dim)
      throw UsageError("the model has " + std::to_string(params) + " parameters; a dense H above --max-dim " + std::to_string(max_dim) +
                       " is refused (use `inflab spectrum` for its extreme eigenvalues)");
  });
  const experiments::CurvatureOperator A(*p.obj, p.train, p.theta, kind);
  const Tensor H = experiments::dense_matrix(A);
  nn::save_npy(rd.path("hessian.npy"), H);
  const experiments::Eigen e = experiments::symmetric_eigen(H);
  CsvLog ev(rd.path("eigenvalues.csv"), {"index", "eigenvalue"});
  for (std::size_t i = 0; i < e.values.size(); ++i) ev.row({std::to_string(i), CsvLog::cell(e.values(i))});
  // negative beyond rounding (a Gauss–Newton or K-FAC matrix has none: its negatives are rounding)
  const experiments::EigenSigns signs = experiments::eigen_signs(e, 0.0, kind.kind);
  const std::size_t neg = signs.negative;
  const double lo = e.values(0), hi = e.values(e.values.size() - 1);
  nlohmann::json summary = {{"problem", problem_json(p)}, {"dimension", H.shape(0)}, {"largest", hi},  {"smallest", lo},
                            {"negative", neg},           {"zero_to_rounding", signs.zero}, {"condition", lo > 0 ? hi / lo : INFINITY}};
  summary.update(curvature_json(kind));
  rd.write_json("summary.json", summary);
  const std::string matrix = kind.kind == experiments::Curvature::Hessian ? "H" : experiments::curvatures().name(kind.kind) + " matrix";
  finish(c, rd, problem_line(p) + matrix + ": " + std::to_string(H.shape(0)) + "×" + std::to_string(H.shape(0)) + " → " + rd.path("hessian.npy") +
             "; eigenvalues " + fmt("%.4g", lo) + " .. " + fmt("%.4g", hi) + ", " + std::to_string(neg) + " negative" +
             (signs.zero ? ", " + std::to_string(signs.zero) + " zero to rounding (|λ| ≤ " + fmt("%.2g", signs.rounding) + ")" : "") + "\n");
  return 0;
}

int run_spectrum(Args& a) {
  const Common c = read_common(a, "spectrum");
  const ProblemArgs pa = read_problem(a);
  const experiments::CurvatureChoice kind = read_curvature(a);
  const std::size_t exact_up_to = a.count("exact-up-to", 2000);
  const std::size_t steps = a.count("steps", 60, 2);
  a.finish("inflab spectrum");
  const RunDir rd(c.out, "spectrum", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  const experiments::Problem p = obtain_problem(pa, !c.quiet);
  const experiments::CurvatureOperator A(*p.obj, p.train, p.theta, kind);
  std::vector<double> values;
  bool exact = p.theta.size() <= exact_up_to;
  if (exact) {
    const auto e = experiments::dense_eigen(A);
    values.assign(e.values.begin(), e.values.end());
  } else {
    const auto l = experiments::lanczos(A, std::min(steps, p.theta.size()), pa.spec.seed);
    values.assign(l.ritz_values.begin(), l.ritz_values.end());
  }
  CsvLog out(rd.path("spectrum.csv"), {"index", exact ? "eigenvalue" : "ritz_value"});
  const std::string what = exact ? "eigenvalues" : "Ritz values";
  Series pos{.label = "positive " + what}, negs{.label = "negative " + what};
  // signed log scale sign(λ)·log10(1 + |λ|/c) keeps negatives and spans decades; c is the
  // smallest |λ| that is not rounding noise (|λ| > 1e-12·max|λ|), so no eigenvalue of the
  // data is flattened to 0
  double big = 0, c0 = INFINITY;
  for (double v : values) big = std::max(big, std::fabs(v));
  for (double v : values)
    if (std::fabs(v) > 1e-12 * big) c0 = std::min(c0, std::fabs(v));
  if (!std::isfinite(c0)) c0 = 1;
  std::size_t neg = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.row({std::to_string(i), CsvLog::cell(values[i])});
    neg += values[i] < 0;
    Series& s = values[i] < 0 ? negs : pos;
    s.x.push_back(static_cast<double>(i)), s.y.push_back((values[i] < 0 ? -1 : 1) * std::log10(1 + std::fabs(values[i]) / c0));
  }
  std::vector<Series> series;
  if (!pos.x.empty()) series.push_back(pos);
  if (!negs.x.empty()) series.push_back(negs);
  write_svg(rd.path("spectrum.svg"), {"Spectrum of " + std::string(kind.kind == experiments::Curvature::Hessian ? "H" : kind.kind == experiments::Curvature::GaussNewton ? "G" : experiments::curvatures().name(kind.kind) + " G") + " (" + p.train.name + ", " +
                                          std::to_string(p.theta.size()) + " parameters, " + std::to_string(neg) + " negative)",
                                      "index (ascending)", "sign(λ) · log10(1 + |λ| / " + fmt("%.2g", c0) + ")", series, false});
  const double lo = values.front(), hi = values.back();
  rd.write_json("summary.json", {{"problem", problem_json(p)}, {"exact", exact}, {"largest", hi}, {"smallest", lo},
                                 {"negative", exact ? json(neg) : json(nullptr)}, {"values", values.size()}});
  finish(c, rd, problem_line(p) + (exact ? "exact" : "Lanczos") + " spectrum: λmin " + fmt("%.4g", lo) + ", λmax " + fmt("%.4g", hi) +
             (exact ? ", " + std::to_string(neg) + " negative" : std::string()) + " → " + rd.path("spectrum.svg") + "\n");
  return 0;
}

}  // namespace inflab::cli
