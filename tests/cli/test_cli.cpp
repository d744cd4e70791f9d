// End-to-end tests of the inflab command: every subcommand on small data, its files and
// numbers (against the library where a value can be recomputed), resuming, and bad input
// with its exit code and message.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cctype>
#include <map>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "datasets/csv.hpp"
#include "datasets/idx.hpp"

#include "experiments/problem.hpp"
#include "influence/influence.hpp"
#include "experiments/last_layer.hpp"
#include "influence/tracin.hpp"
#include "nn/checkpoint.hpp"
#include "tests/cli/run_inflab.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace inflab;
using json = nlohmann::json;

namespace {
using test::Result;
using test::run_inflab;
using test::slurp;
using test::summary;
using test::lines;
// the Iris versicolor/virginica L2 logistic regression every command below starts from
const std::string logreg = "--dataset iris --classes 1,2 --model logreg --weight-decay 0.01 --grad-tol 1e-10 --quiet";
}  // namespace

TEST_CASE("inflab: usage errors exit 2 with a message naming the problem") {
  const test::TempDir t;
  auto expect = [&](const std::string& args, const std::string& text) {
    CAPTURE(args);
    const Result r = run_inflab(t.dir(), args);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find(text) != std::string::npos, r.out);
  };
  expect("", "usage: inflab <command>");
  expect("frobnicate", "unknown command 'frobnicate'");
  expect("study", "'study' needs fragility or groups");
  expect("influence --bogus 3", "unknown option --bogus for 'inflab influence'");
  expect("influence --method newton", "--method 'newton' is not one of: exact, cg, minres, lissa, lowrank");
  expect("influence --damping -1", "--damping");
  expect("influence --damping abc", "'abc' is not a number");
  expect("influence --top 2.5", "not a whole number");
  expect("influence --dataset nosuch", "--dataset 'nosuch' is not one of");
  expect("validate --top 500", "--top 500 asks for more retrains than the 120 training rows");
  // a setting of 0 that would be silently replaced is refused, naming the option
  expect("validate --grad-tol 0", "--grad-tol 0 is never met by lbfgs");
  expect("validate --retrain-tol 0", "--retrain-tol 0 is never met by newton-cg");
  expect("influence --method cg --tol 0", "--tol 0 is never met");
  expect("influence --method graddot --tol 1e-8", "--tol does not apply to --method graddot (it sets cg, minres)");
  expect("influence --method exact --rank 5", "--rank does not apply to --method exact (it sets lowrank)");
  expect("influence --method cg --indefinite abs", "--indefinite does not apply to --method cg (it sets exact)");
  expect("validate --method trak --params last", "--params last does not apply to --method trak");
  expect("benchmark --estimators graddot --tol 1e-8", "--tol does not apply to --estimators graddot (it sets cg, minres)");
  expect("influence --quiet --test 999", "--test row 999 out of range: the test set has 30 rows");
  expect("validate --quiet --test random:3", "validate checks one test point");
  expect("influence --top 3 --top 4", "given twice");
  expect("study fragility --model logreg", "--model must be mlp");
  // one bad input for each remaining command
  expect("train --optimizer bogus", "--optimizer 'bogus' is not one of: lbfgs, newton-cg, newton, adam, sgd");
  expect("check --rows 0", "--rows 0 must be in 1..");
  expect("hessian --quiet --max-dim 100", "the model has 131 parameters; a dense H above --max-dim 100 is refused");
  expect("spectrum --steps 1", "--steps 1 must be in 2..");
  expect("group --kinds random,bogus", "--kinds: 'bogus' is not one of: random, knn, class, gradient");
  expect("group --fraction 1.5", "--fraction");
  expect("study groups --fractions 0.1,1.5", "--fractions: 1.5 is not in (0, 1)");
  expect("study groups --at-init", "unknown option --at-init for 'inflab study groups'");
  expect("train extra", "unexpected argument 'extra'");
  expect("train --quiet extra", "--quiet is a flag and takes no value (got 'extra')");
  expect("influence --quiet --test random:2x", "expected highest, random:K or row numbers");
  expect("influence --quiet --test 3,3", "--test lists row 3 twice");
  expect("influence --quiet --test 99999999999999", "expected highest, random:K or row numbers");
  expect("study fragility --checkpoint x", "--checkpoint does not apply");
  expect("study groups --quiet --fractions 0.001", "--fractions: a group of fraction");
  CHECK(run_inflab(t.dir(), "help").code == 0);
}

TEST_CASE("inflab: run directories — a failed run's directory is reused, a foreign one refused") {
  const test::TempDir t;
  // fails after writing its settings (unknown dataset): the corrected command may use the directory
  CHECK(run_inflab(t.dir(), "study groups --quiet --dataset irs --out sg").code == 2);
  const Result ok = run_inflab(t.dir(), "study groups --quiet --fractions 0.1 --groups 3 --no-select --out sg");
  CHECK_MESSAGE(ok.code == 0, ok.out);
  // a directory with files of its own and no settings.json is not a run directory
  std::filesystem::create_directories(t.file("mine"));
  t.write("mine/notes.txt", std::string("keep me"));
  const Result r = run_inflab(t.dir(), "influence --quiet --out mine");
  CHECK(r.code == 2);
  CHECK(r.out.find("no settings.json") != std::string::npos);
  CHECK(slurp(t.file("mine/notes.txt")) == "keep me");
}

TEST_CASE("inflab: a missing data file exits 1 naming it") {
  const test::TempDir t;
  const Result r = run_inflab(t.dir(), "influence --quiet --dataset csv:/nonexistent/table.csv");
  CHECK(r.code == 1);
  CHECK(r.out.find("/nonexistent/table.csv") != std::string::npos);
}

TEST_CASE("inflab train → checkpoint → influence, hessian, spectrum, check on it") {
  const test::TempDir t;
  REQUIRE(run_inflab(t.dir(), "train " + logreg + " --out tr").code == 0);
  const json s = summary(t.file("tr/summary.json"));
  CHECK(s["parameters"] == 5);
  CHECK(s["fit"]["converged"] == true);
  CHECK(s["test_accuracy"].get<double>() >= 0.85);
  const nn::Checkpoint ck = nn::load_checkpoint(t.file("tr/checkpoint"));
  CHECK(ck.theta.size() == 5);
  CHECK(slurp(t.file("tr/loss.svg")).find("<svg") == 0);
  {  // L-BFGS's history: one row per iteration, every cell a number (no accuracy column of NaN)
    std::istringstream h(slurp(t.file("tr/history.csv")));
    std::string line;
    std::getline(h, line);
    CHECK(line == "iteration,loss,grad_norm,seconds");
    std::size_t rows = 0;
    while (std::getline(h, line)) {
      ++rows;
      CHECK_MESSAGE(line.find("nan") == std::string::npos, line);
    }
    CHECK(rows == s["fit"]["steps"].get<std::size_t>() + 1);  // iterations 0 … steps
  }
  // command.txt repeats the run: the same command line gives the same summary
  const std::string cmd = slurp(t.file("tr/command.txt"));
  REQUIRE(cmd.rfind("inflab train ", 0) == 0);
  CHECK(cmd.find("--classes 1,2") != std::string::npos);
  CHECK(cmd.find("--out tr\n") != std::string::npos);  // quoted only where the shell needs it
  REQUIRE(run_inflab(t.dir(), cmd.substr(7, cmd.size() - 8)).code == 0);
  CHECK(summary(t.file("tr/summary.json")) == s);
  // and as the shell splits it unquoted ($(cat command.txt)): the same run, in the same directory
  const Result again = run_inflab(t.dir(), "$(cat tr/command.txt | cut -d' ' -f2-) --quiet");
  CHECK_MESSAGE(again.code == 0, again.out);
  CHECK(summary(t.file("tr/summary.json")) == s);

  // influence from the checkpoint equals the library's Δ̂ for the same θ̂
  const std::string from_ck = "--dataset iris --classes 1,2 --weight-decay 0.01 --quiet --checkpoint " + t.file("tr/checkpoint");
  REQUIRE(run_inflab(t.dir(), "influence " + from_ck + " --test 3 --out inf").code == 0);
  const experiments::Problem p = experiments::load_problem(t.file("tr/checkpoint"));
  const experiments::CurvatureOperator A(*p.obj, p.train, p.theta);
  experiments::SolverChoice c;
  c.method = experiments::Method::Exact;
  const experiments::Influence want = experiments::influence_on_test(A, p.test, {3}, c);
  std::ifstream csv(t.file("inf/influence.csv"));
  std::string line;
  std::getline(csv, line);
  CHECK(line == "train_row,source_row,label,predicted_loss_change_test3");
  std::size_t rows = 0;
  double worst = 0;
  while (std::getline(csv, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', line.find(',', c1 + 1) + 1);
    const std::size_t i = std::stoul(line.substr(0, c1));
    worst = std::max(worst, std::fabs(std::stod(line.substr(c2 + 1)) - want.predicted_change(i)));
    ++rows;
  }
  CHECK(rows == p.train.size());
  CHECK(worst < 1e-9);
  const json is = summary(t.file("inf/summary.json"));
  CHECK(is["tests"][0]["helpful"].size() == 10);
  CHECK(is["tests"][0]["helpful"][0]["predicted_loss_change"].get<double>() == doctest::Approx(experiments::top_k(want.predicted_change, 1, true)[0].value));

  REQUIRE(run_inflab(t.dir(), "hessian " + from_ck + " --out h").code == 0);
  const Tensor H = nn::load_npy(t.file("h/hessian.npy"));
  CHECK(H.shape(0) == 5);
  double asym = 0;
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 5; ++j) asym = std::max(asym, std::fabs(H(i, j) - H(j, i)));
  CHECK(asym < 1e-12);
  const json hs = summary(t.file("h/summary.json"));
  CHECK(hs["smallest"].get<double>() >= 0.01 - 1e-12);  // H ⪰ λI for logistic regression
  CHECK(lines(t.file("h/eigenvalues.csv")) == 6);

  REQUIRE(run_inflab(t.dir(), "spectrum " + from_ck + " --out sp").code == 0);
  const json ss = summary(t.file("sp/summary.json"));
  CHECK(ss["exact"] == true);
  CHECK(ss["largest"].get<double>() == doctest::Approx(hs["largest"].get<double>()).epsilon(1e-10));
  CHECK(slurp(t.file("sp/spectrum.svg")).find("positive eigenvalues") != std::string::npos);
  // Lanczos with all 5 steps finds the same extremes
  REQUIRE(run_inflab(t.dir(), "spectrum " + from_ck + " --exact-up-to 0 --steps 5 --out sp2").code == 0);
  CHECK(summary(t.file("sp2/summary.json"))["largest"].get<double>() == doctest::Approx(hs["largest"].get<double>()).epsilon(1e-8));

  const Result ck_run = run_inflab(t.dir(), "check " + logreg + " --out ch");
  CHECK(ck_run.code == 0);
  const std::string rep = slurp(t.file("ch/report.txt"));
  CHECK(rep.find("FAIL") == std::string::npos);
  std::size_t passes = 0;
  for (std::size_t k = rep.find("PASS"); k != std::string::npos; k = rep.find("PASS", k + 1)) ++passes;
  CHECK(passes == 5);
}

TEST_CASE("inflab validate: convex problem, Pearson near 1, resumes, and refuses other settings in its directory") {
  const test::TempDir t;
  const std::string args = "validate " + logreg + " --top 12 --retrain newton --retrain-tol 1e-12 --out v";
  const Result r = run_inflab(t.dir(), args);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const json s = summary(t.file("v/summary.json"));
  CHECK(s["retrains"]["jobs"] == 12);
  CHECK(s["retrains"]["converged"] == 12);
  CHECK(s["scores"]["n"] == 12);
  CHECK(s["scores"]["pearson"].get<double>() >= 0.99);
  CHECK(s["scores"]["signs_agree"] == 12);
  CHECK(lines(t.file("v/validate.csv")) == 13);
  CHECK(lines(t.file("v/loo.jsonl")) == 13);  // header + 12 jobs
  const std::string svg = slurp(t.file("v/scatter.svg"));
  CHECK(svg.find("stroke-dasharray") != std::string::npos);  // the y = x line
  CHECK(svg.find("Pearson 0.99") != std::string::npos);
  // interrupted after some jobs: drop the last 5 results; the rerun redoes only those
  {
    std::ifstream in(t.file("v/loo.jsonl"));
    std::vector<std::string> keep;
    for (std::string l; std::getline(in, l);) keep.push_back(l);
    keep.resize(8);
    std::ofstream out(t.file("v/loo.jsonl"), std::ios::trunc);
    for (const auto& l : keep) out << l << "\n";
  }
  const std::string before = slurp(t.file("v/loo.jsonl"));
  REQUIRE(run_inflab(t.dir(), args).code == 0);
  CHECK(slurp(t.file("v/loo.jsonl")).rfind(before, 0) == 0);  // the 7 finished jobs kept as they were
  CHECK(lines(t.file("v/loo.jsonl")) == 13);
  CHECK(summary(t.file("v/summary.json"))["scores"] == s["scores"]);
  CHECK(summary(t.file("v/summary.json"))["retrains"]["resumed"] == 7);  // said on screen as "resumed 7 of 12"
  const Result loud = run_inflab(t.dir(), "validate --dataset iris --classes 1,2 --model logreg --weight-decay 0.01 --grad-tol 1e-10 "
                                          "--top 12 --retrain newton --retrain-tol 1e-12 --out v");
  CHECK(loud.out.find("resumed 12 of 12 from the journal") != std::string::npos);
  const Result other = run_inflab(t.dir(), "validate " + logreg + " --top 13 --retrain newton --retrain-tol 1e-12 --out v");
  CHECK(other.code == 2);
  CHECK(other.out.find("was made with --top 12, now 13") != std::string::npos);
}

TEST_CASE("inflab group and study groups: second order closer than first on coherent groups") {
  const test::TempDir t;
  const Result r = run_inflab(t.dir(), "group " + logreg + " --fraction 0.2 --groups 6 --kinds random,knn,class --select --out g");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const json s = summary(t.file("g/summary.json"));
  CHECK(lines(t.file("g/groups.csv")) == 1 + 18);
  const auto& knn = s["kinds"]["knn"];
  CHECK(knn["retrains"]["converged"] == 6);
  CHECK(knn["second"]["relative_error"].get<double>() < knn["first"]["relative_error"].get<double>());
  CHECK(s["kinds"]["random"]["second"]["pearson"].get<double>() > 0.9);
  CHECK(s["selection"]["greedy"]["rows"].size() == 16);
  CHECK(slurp(t.file("g/group-knn.svg")).find("second order") != std::string::npos);
  CHECK(slurp(t.file("g/command.txt")).find(" --select") != std::string::npos);  // flags are settings too

  const Result st = run_inflab(t.dir(), "study groups --quiet --fractions 0.05,0.2 --groups 5 --out sg");
  REQUIRE_MESSAGE(st.code == 0, st.out);
  CHECK(lines(t.file("sg/groups.csv")) == 1 + 2 * 3);
  CHECK(lines(t.file("sg/selection.csv")) == 1 + 2);
  CHECK(slurp(t.file("sg/groups.md")).find("| 0.2 | 16 | 5 | knn |") != std::string::npos);
  CHECK(slurp(t.file("sg/pearson-vs-p.svg")).find("knn, second order") != std::string::npos);
}

TEST_CASE("inflab study fragility: one row per setting, seed and test point; spread over seeds; resumed after an interruption") {
  const test::TempDir t;
  const std::string args =
      "study fragility --quiet --depths 1,2 --widths 4 --width 6 --weight-decays 0.01 --random-tests 1 --top 6 --seeds 2 --out f";
  REQUIRE(run_inflab(t.dir(), args).code == 0);
  const std::string csv = slurp(t.file("f/fragility.csv"));
  CHECK(lines(t.file("f/fragility.csv")) == 1 + 2 * 3 * 2);  // 2 seeds × (depths 1, 2 at width 6, width 4 at depth 1) × 2 test points
  CHECK(csv.find("depth-d2-w6-wd0.01-s1-highest,depth,2,6,0.01,1,highest,") != std::string::npos);
  // the spread over seeds, recomputed from the rows: the highest-loss point of depth 2 over its 2 seeds
  const json sum = summary(t.file("f/summary.json"));
  std::vector<double> p2;
  for (const auto& r : sum["rows"])
    if (r["sweep"] == "depth" && r["depth"] == 2 && r["test"] == "highest") p2.push_back(r["pearson"].get<double>());
  REQUIRE(p2.size() == 2);
  bool found = false;
  for (const auto& sp : sum["spread"])
    if (sp["sweep"] == "depth" && sp["depth"] == 2 && sp["test"] == "highest") {
      found = true;
      CHECK(sp["rows"] == 2);
      CHECK(sp["pearson"]["median"].get<double>() == doctest::Approx((p2[0] + p2[1]) / 2));
      CHECK(sp["pearson"]["q25"].get<double>() == doctest::Approx(std::min(p2[0], p2[1]) + 0.25 * std::fabs(p2[0] - p2[1])));
      CHECK(sp["pearson"]["ci95"][0].is_null());  // 2 values: no 95% interval of a median exists
      CHECK(sp["pearson"]["ci95"][1].is_null());
    }
  CHECK(found);
  CHECK(slurp(t.file("f/fragility-seeds.md")).find("| depth | 2 | 0.01 | highest | 2 / 0 / 0 | ") != std::string::npos);
  CHECK(slurp(t.file("f/spearman-vs-width.svg")).find("bars = IQR") != std::string::npos);
  // interrupted: the last row never written; the rerun adds only it
  const std::string cut = csv.substr(0, csv.rfind('\n', csv.size() - 2) + 1);
  { std::ofstream(t.file("f/fragility.csv"), std::ios::trunc) << cut; }
  const Result again = run_inflab(t.dir(), args);
  REQUIRE(again.code == 0);
  CHECK(slurp(t.file("f/fragility.csv")) == csv);
  CHECK(slurp(t.file("f/fragility.md")).find("| width | 1 | 4 | 0.01 | 1 | highest |") != std::string::npos);
  CHECK(slurp(t.file("f/pearson-vs-depth.svg")).find("λ = 0.01, highest-loss test point") != std::string::npos);
  // the replication's candidate rule: the highest-training-loss rows, recorded in every output
  const Result l = run_inflab(t.dir(), "study fragility --quiet --depths 1 --widths 6 --width 6 --weight-decays 0.01 --random-tests 0 --top 5 "
                                       "--seeds 1 --candidates loss --out fl");
  REQUIRE_MESSAGE(l.code == 0, l.out);
  CHECK(slurp(t.file("fl/fragility.csv")).find(",0,highest,loss,") != std::string::npos);
  CHECK(summary(t.file("fl/summary.json"))["candidates"] == "loss");
  CHECK(slurp(t.file("fl/pearson-vs-depth.svg")).find("5 highest-loss rows") != std::string::npos);
  const Result bad = run_inflab(t.dir(), "study fragility --candidates largest --out fb");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("largest") != std::string::npos);
}

TEST_CASE("inflab study decomposition: every rung and term per removed row, the terms add up, resumed; validate against the PBRF, cold leave-one-out and the replayed run") {
  const test::TempDir t;
  const std::string args = "study decomposition --quiet --depths 1,2 --width 6 --weight-decays 0.01 --seeds 1 --top 4 --cold-histories 10,5 "
                           "--estimators cg,graddot --out d";
  const Result r = run_inflab(t.dir(), args);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(lines(t.file("d/decomposition.csv")) == 1 + 2 * 4);
  const json sum = summary(t.file("d/summary.json"));
  REQUIRE(sum["rows"].size() == 8);
  const std::vector<std::string> rungs = {"loo-cold", "loo", "loo-proximal", "pbrf", "linear", "estimate"};
  const std::vector<std::string> terms = {"warm-start", "proximity", "non-convergence", "linearisation", "solver"};
  for (const auto& row : sum["rows"]) {
    // the CSV keeps 10 digits: differences agree to 1e-9 of the rungs' size
    double total = 0, scale = 0;
    for (const auto& r : rungs) scale = std::max(scale, std::fabs(row[r].get<double>()));
    for (std::size_t k = 0; k < terms.size(); ++k) {
      CHECK(std::fabs(row[terms[k]].get<double>() - (row[rungs[k]].get<double>() - row[rungs[k + 1]].get<double>())) < 1e-9 * scale);
      total += row[terms[k]].get<double>();
    }
    CHECK(std::fabs(total - (row["loo-cold"].get<double>() - row["estimate"].get<double>())) < 1e-8 * scale);
    CHECK(row["estimate"] == row["estimator:cg"]);
    CHECK(row["pbrf_status"] == "converged");
    CHECK(row["cold_converged"] == 1);
    // the branch check ran (--continuation 4 by default): "none", or the rungs whose retrain left the path from θ̂
    const std::string jumps = row["branch_jumps"].is_string() ? row["branch_jumps"].get<std::string>() : "";
    CHECK((jumps == "none" || jumps.rfind("loo", 0) == 0 || jumps == "pbrf"));
    // a Δ off the path's end is flagged (a jump may also be flagged by ‖θ − θ̂‖ alone)
    const double d = row["pbrf"].get<double>(), c = row["pbrf_continued"].get<double>();
    if (std::fabs(d - c) > 2e-3 * std::max(std::fabs(d), std::fabs(c)) + 1e-8) CHECK(jumps.find("pbrf") != std::string::npos);
  }
  const std::string md = slurp(t.file("d/decomposition.md"));
  CHECK(md.find("/ off the branch |") != std::string::npos);
  CHECK(md.find("| 2 | 0.01 | 4 (1) |") != std::string::npos);
  CHECK(md.find("| 1 | 0.01 | graddot |") != std::string::npos);
  CHECK(slurp(t.file("d/terms-vs-depth-wd0.01.svg")).find("linearisation") != std::string::npos);
  // interrupted after the first setting's rows: the rerun adds the second setting only
  const std::string csv = slurp(t.file("d/decomposition.csv"));
  std::string cut = csv;
  for (int k = 0; k < 4; ++k) cut = cut.substr(0, cut.rfind('\n', cut.size() - 2) + 1);
  { std::ofstream(t.file("d/decomposition.csv"), std::ios::trunc) << cut; }
  REQUIRE(run_inflab(t.dir(), args).code == 0);
  CHECK(slurp(t.file("d/decomposition.csv")) == csv);
  const Result bad = run_inflab(t.dir(), "study decomposition --retrain-target pbrf --out db");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--retrain-target does not apply") != std::string::npos);
  // validate against the PBRF with the same μ as a Gauss–Newton estimate: named in every output
  const Result v = run_inflab(t.dir(), "validate --quiet --width 6 --weight-decay 0.01 --top 5 --curvature ggn --damping 0.01 "
                                       "--retrain-target pbrf --retrain-damping 0.01 --out v");
  REQUIRE_MESSAGE(v.code == 0, v.out);
  const json vs = summary(t.file("v/summary.json"));
  CHECK(vs["truth"] == "pbrf");
  CHECK(vs["retrain_protocol"]["damping"] == 0.01);
  CHECK(vs["scores"]["pearson"].get<double>() > 0.99);  // the PBRF is what damped Gauss–Newton influence answers
  CHECK(slurp(t.file("v/scatter.svg")).find("PBRF (μ = 0.01)") != std::string::npos);
  // the references from scratch train as θ̂ was (its lbfgs here, not the retraining's newton-cg), named in every output
  const Result vc = run_inflab(t.dir(), "validate --quiet --width 6 --weight-decay 0.01 --top 4 --retrain-target loo-cold --out vc");
  REQUIRE_MESSAGE(vc.code == 0, vc.out);
  const json cs = summary(t.file("vc/summary.json"));
  CHECK(cs["truth"] == "loo-cold");
  CHECK(cs["retrain_protocol"]["optimizer"] == "lbfgs");
  CHECK(cs["retrains"]["converged"] == 4);
  CHECK(slurp(t.file("vc/scatter.svg")).find("Cold leave-one-out") != std::string::npos);
  const Result vu = run_inflab(t.dir(), "validate --quiet --width 6 --optimizer sgd --lr 0.1 --epochs 20 --batch-size 30 --method unrolled "
                                        "--retrain-target unrolled --top 5 --out vu");
  REQUIRE_MESSAGE(vu.code == 0, vu.out);
  const json us = summary(t.file("vu/summary.json"));
  CHECK(us["truth"] == "unrolled");
  CHECK(us["retrains"]["replayed"] == 5);
  CHECK(us["scores"]["pearson"].get<double>() > 0.99);  // the derivative of the run it replays
  CHECK(us["scores"]["caveat"] == "");
  const Result cold_opts = run_inflab(t.dir(), "validate --retrain-target loo-cold --retrain lbfgs --out vr");
  CHECK(cold_opts.code == 2);
  CHECK(cold_opts.out.find("trains as θ̂ was trained") != std::string::npos);
  const Result no_run = run_inflab(t.dir(), "validate --retrain-target unrolled --out vr");
  CHECK(no_run.code != 0);
  CHECK(no_run.out.find("unrolled replays θ̂'s training run") != std::string::npos);
  const Result nodamp = run_inflab(t.dir(), "validate --retrain-damping 0.1 --out vb");
  CHECK(nodamp.code == 2);
  CHECK(nodamp.out.find("--retrain-damping is the proximity damping") != std::string::npos);
  // every run directory's command.txt repeats the run: it names every setting, defaults too
  std::string again = slurp(t.file("d/command.txt"));
  again.erase(again.find_last_not_of('\n') + 1);
  CHECK(again.find("--retrain-damping 0") != std::string::npos);
  const Result repeat = run_inflab(t.dir(), again.substr(again.find(' ') + 1) + " --quiet");
  CHECK_MESSAGE(repeat.code == 0, repeat.out);
}

TEST_CASE("inflab: a checkpoint rebuilds its problem; a contradicting flag is a usage error naming the setting") {
  const test::TempDir t;
  REQUIRE(run_inflab(t.dir(), "train --quiet --dataset wine --width 6 --weight-decay 0.01 --seed 3 --out tr").code == 0);
  // the same problem trained here, and loaded from the checkpoint with no problem flags at all
  const Result direct = run_inflab(t.dir(), "influence --quiet --dataset wine --width 6 --weight-decay 0.01 --seed 3 --test 3 --out a");
  REQUIRE_MESSAGE(direct.code == 0, direct.out);
  const Result loaded = run_inflab(t.dir(), "influence --quiet --checkpoint tr/checkpoint --test 3 --out b");
  REQUIRE_MESSAGE(loaded.code == 0, loaded.out);
  CHECK(slurp(t.file("a/influence.csv")) == slurp(t.file("b/influence.csv")));
  CHECK(slurp(t.file("a/top.csv")) == slurp(t.file("b/top.csv")));
  // repeating a recorded value is fine; contradicting one is refused (was: a warning, exit 0)
  CHECK(run_inflab(t.dir(), "influence --quiet --checkpoint tr/checkpoint --weight-decay 0.01 --test 3 --out c").code == 0);
  const Result bad = run_inflab(t.dir(), "influence --quiet --checkpoint tr/checkpoint --weight-decay 0.001 --test 3 --out d");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--weight-decay 0.001 contradicts the checkpoint") != std::string::npos);
  const Result bad2 = run_inflab(t.dir(), "influence --quiet --checkpoint tr/checkpoint --dataset iris --out e");
  CHECK(bad2.code == 2);
  CHECK(bad2.out.find("--dataset \"iris\" contradicts") != std::string::npos);
  // a truncated parameter file is refused, naming it (was: garbage influence, exit 0)
  const std::string w = t.file("tr/checkpoint/0.weight.npy");
  const std::string bytes = slurp(w);
  { std::ofstream(w, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2); }
  const Result trunc = run_inflab(t.dir(), "influence --quiet --checkpoint tr/checkpoint --out f");
  CHECK(trunc.code == 1);
  CHECK(trunc.out.find("0.weight.npy") != std::string::npos);
  CHECK(trunc.out.find("truncated") != std::string::npos);
}

TEST_CASE("inflab: provenance — split rows beside source rows; each top list holds only its sign") {
  const test::TempDir t;
  REQUIRE(run_inflab(t.dir(), "influence " + logreg + " --test 3 --top 80 --out i").code == 0);
  std::ifstream top(t.file("i/top.csv"));
  std::string line;
  std::getline(top, line);
  CHECK(line == "test_row,test_source_row,list,rank,train_row,source_row,label,predicted_loss_change");
  std::size_t helpful = 0, harmful = 0;
  while (std::getline(top, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    const double v = std::stod(f.at(7));
    if (f.at(2) == "helpful") {
      CHECK(v > 0);
      ++helpful;
    } else {
      CHECK(v < 0);
      ++harmful;
    }
    // source rows index the Iris file (150 rows; classes 1,2 are rows 50..149)
    CHECK(std::stoul(f.at(5)) >= 50);
  }
  CHECK(helpful + harmful == 80);  // 80 training rows: each has one sign, none is listed twice
  CHECK(helpful < 80);
  CHECK(harmful < 80);
  const json s = summary(t.file("i/summary.json"));
  CHECK(s["tests"][0]["test_source_row"].get<std::size_t>() >= 50);
  CHECK(s["problem"]["spec"]["weight_decay"] == 0.01);
}

TEST_CASE("inflab: help per command, version, run-directory lock, refused meaningless inputs") {
  const test::TempDir t;
  for (const std::string h : {"help validate", "validate --help", "validate -h"}) {
    const Result r = run_inflab(t.dir(), h);
    CHECK(r.code == 0);
    CHECK(r.out.find("inflab validate: influence against leave-one-out") != std::string::npos);
    CHECK(r.out.find("--top K") != std::string::npos);
    CHECK(r.out.find("example:") != std::string::npos);
    CHECK(r.out.find("lissa") != std::string::npos);  // the solver table
    CHECK(r.out.find("--curvature") != std::string::npos);
  }
  CHECK(run_inflab(t.dir(), "help group").out.find("--curvature") == std::string::npos);  // group does not take it
  // each command's help shows its own problem defaults: the benchmark's are not Iris's MLP
  const std::string hb = run_inflab(t.dir(), "help benchmark").out, hv = run_inflab(t.dir(), "help validate").out;
  CHECK(hb.find("csv:PATH (fashion-mnist)") != std::string::npos);
  CHECK(hb.find("--model M             (softmax)") != std::string::npos);
  CHECK(hb.find("‖θ‖² (0.01)") != std::string::npos);
  CHECK(hb.find("fashion-mnist defaults: 5000 and 500") != std::string::npos);
  CHECK(hv.find("csv:PATH (iris)") != std::string::npos);
  CHECK(hv.find("--model M             (mlp)") != std::string::npos);
  CHECK(hv.find("‖θ‖² (0.001)") != std::string::npos);
  const Result v = run_inflab(t.dir(), "--version");
  CHECK(v.code == 0);
  CHECK(v.out.rfind("inflab ", 0) == 0);
  // a correlation over fewer than 3 points is refused up front (was: Pearson 1.000 over 2)
  const Result two = run_inflab(t.dir(), "validate --quiet --top 2");
  CHECK(two.code == 2);
  CHECK(two.out.find("--top 2 must be in 3..") != std::string::npos);
  CHECK(run_inflab(t.dir(), "group --quiet --groups 2").code == 2);
  // --n-train above the data: an error in the user's terms (was: silently capped)
  const Result big = run_inflab(t.dir(), "influence --quiet --n-train 5000");
  CHECK(big.code == 2);  // a value the data cannot take is a usage error (docs/cli.md, exit codes)
  CHECK(big.out.find("--n-train 5000: 'iris/train' has only 120 rows") != std::string::npos);
  // a not-stationary θ̂ without a checkpoint does not blame --checkpoint
  const Result early = run_inflab(t.dir(), "influence --max-steps 2 --out early");
  CHECK(early.code == 0);
  CHECK(early.out.find("not a stationary point") != std::string::npos);
  CHECK(early.out.find("checkpoint") == std::string::npos);
  // a second run into a directory in use is refused
  std::filesystem::create_directories(t.file("busy"));
  const int fd = ::open(t.file("busy/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const Result busy = run_inflab(t.dir(), "influence --quiet --out busy");
  CHECK(busy.code == 2);
  CHECK(busy.out.find("is in use by another inflab run") != std::string::npos);
  ::close(fd);
  CHECK(run_inflab(t.dir(), "influence --quiet --out busy").code == 0);
}

TEST_CASE("inflab lds and mislabel: scores against retraining and flipped labels") {
  const test::TempDir t;
  const Result l = run_inflab(t.dir(), "lds " + logreg + " --subsets 12 --alpha 0.7 --retrain newton --retrain-tol 1e-12 --out l");
  REQUIRE_MESSAGE(l.code == 0, l.out);
  const json s = summary(t.file("l/summary.json"));
  CHECK(s["scores"]["n"] == 12);
  CHECK(s["lds"].get<double>() > 0.8);  // convex: first-order sums rank the subsets well
  CHECK(lines(t.file("l/lds.csv")) == 13);
  const Result m = run_inflab(t.dir(), "mislabel --quiet --dataset breast-cancer --model logreg --weight-decay 0.01 --flip 0.1 --out m");
  REQUIRE_MESSAGE(m.code == 0, m.out);
  const json ms = summary(t.file("m/summary.json"));
  CHECK(ms["flipped"] == 46);  // round(0.1 · 456)
  CHECK(ms["auc_self_influence"].get<double>() > 0.8);
  CHECK(lines(t.file("m/ranking.csv")) == 457);
  // ranked as the AUC ranks: self-influence non-increasing down the file
  std::ifstream rk(t.file("m/ranking.csv"));
  std::string row;
  std::getline(rk, row);
  double prev = INFINITY;
  bool sorted = true;
  while (std::getline(rk, row)) {
    const auto cells = [&] {
      std::vector<std::string> f;
      std::stringstream ss(row);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      return f;
    }();
    const double v = std::stod(cells.at(6));
    sorted = sorted && v <= prev;
    prev = v;
  }
  CHECK(sorted);
}

TEST_CASE("inflab validate: the main job counts saddles; LiSSA on an indefinite H is refused, not reported") {
  const test::TempDir t;
  // the main job (scripts/run.sh) retrained by L-BFGS: 3 of 40 retrained θ stop at saddles
  // (rows 67, 103, 104, checked independently by their dense Hessians); the report and the CSV say so
  const Result r = run_inflab(t.dir(), "validate --top 40 --threads 2 --retrain lbfgs --out v");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const json s = summary(t.file("v/summary.json"));
  CHECK(s["retrains"]["jobs"] == 40);
  CHECK(s["retrains"]["saddles"].get<int>() >= 1);
  // every job in exactly one status, and the summary counts what validate.csv says row by row
  const std::string csv = slurp(t.file("v/validate.csv"));
  auto count = [&](const std::string& status) {
    std::size_t k = 0;
    for (std::size_t at = csv.find("," + status + ","); at != std::string::npos; at = csv.find("," + status + ",", at + 1)) ++k;
    return static_cast<int>(k);
  };
  CHECK(s["retrains"]["saddles"].get<int>() == count("saddle"));
  CHECK(s["retrains"]["budget"].get<int>() == count("budget"));
  CHECK(s["retrains"]["converged"].get<int>() == count("converged"));
  CHECK(s["retrains"]["saddles"].get<int>() + s["retrains"]["converged"].get<int>() + s["retrains"]["budget"].get<int>() +
            s["retrains"]["unresolved"].get<int>() == 40);
  // retrains stopped by a one-step budget are budget stops, not saddles, whatever the curvature there
  REQUIRE(run_inflab(t.dir(), "validate --quiet --top 5 --retrain-steps 1 --out b1").code == 0);
  const json b1 = summary(t.file("b1/summary.json"));
  CHECK(b1["retrains"]["budget"] == 5);
  CHECK(b1["retrains"]["saddles"] == 0);
  CHECK(r.out.find(std::to_string(s["retrains"]["saddles"].get<int>()) + " at a saddle") != std::string::npos);
  CHECK(slurp(t.file("v/validate.csv")).find(",saddle,") != std::string::npos);
  // the scores say that some Δ are not leave-one-out changes at a minimum, and give the converged-only ones
  CHECK(s["scores"]["caveat"].get<std::string>().find("at a saddle") != std::string::npos);
  CHECK(s["converged_scores"]["n"] == s["retrains"]["converged"]);
  // the escape continues from each saddle to a minimum: every retrain converged
  REQUIRE(run_inflab(t.dir(), "validate --quiet --top 40 --retrain lbfgs --escape-saddles --out e").code == 0);
  const json es = summary(t.file("e/summary.json"));
  CHECK(es["retrains"]["converged"] == 40);
  CHECK(es["retrains"]["saddles"] == 0);
  CHECK(es["scores"]["caveat"] == "");
  // Newton–CG (the default) follows the negative curvature at those points itself: every
  // retrain ends at a minimum, and the rows L-BFGS brought to a minimum agree with it
  REQUIRE(run_inflab(t.dir(), "validate --quiet --top 40 --out n").code == 0);
  const json ns = summary(t.file("n/summary.json"));
  CHECK(ns["retrain"] == "newton-cg");
  CHECK(ns["retrains"]["converged"] == 40);
  CHECK(ns["retrains"]["saddles"] == 0);
  auto read_csv = [](const std::string& path) {  // rows of cells (no quoted commas in validate.csv)
    std::vector<std::vector<std::string>> rows;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
      rows.push_back(cells);
    }
    return rows;
  };
  const auto lb = read_csv(t.file("v/validate.csv")), nc = read_csv(t.file("n/validate.csv"));
  REQUIRE(lb.size() == nc.size());
  std::size_t agree = 0;
  for (std::size_t i = 1; i < lb.size(); ++i)
    if (lb[i].at(5) == "converged") {
      // ‖∇R₋ᵢ‖ ≤ 1e-8 on both sides, so θ differs by up to 1e-8/λmin: Δ differences of ~3e-6 seen
      CHECK(std::fabs(std::stod(nc[i].at(4)) - std::stod(lb[i].at(4))) <= 1e-5);
      ++agree;
    }
  CHECK(agree >= 30);
  // was: Δ̂ of order 1e-122 with relative residual 1.0, exit 0
  const Result l = run_inflab(t.dir(), "validate --quiet --depth 3 --weight-decay 0 --method lissa --out l");
  CHECK(l.code == 1);
  CHECK(l.out.find("λmin") != std::string::npos);
  CHECK(l.out.find("--damping") != std::string::npos);
}

namespace {
std::string unbase64(const std::string& s) {
  std::string out;
  int bits = 0, acc = 0;
  for (char c : s) {
    const char* A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = std::strchr(A, c);
    if (c == '=' || !p) break;
    acc = acc << 6 | static_cast<int>(p - A), bits += 6;
    if (bits >= 8) out += static_cast<char>(acc >> (bits - 8) & 0xff), bits -= 8;
  }
  return out;
}
std::uint32_t be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 | static_cast<unsigned char>(s[at + 1]) << 16 |
         static_cast<unsigned char>(s[at + 2]) << 8 | static_cast<unsigned char>(s[at + 3]);
}
// A PNG of ours decoded: width, height and the RGB bytes (IHDR checked, IDAT inflated by zlib).
struct Png {
  std::uint32_t w = 0, h = 0;
  std::string rgb;
};
Png decode_png(const std::string& png) {
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  REQUIRE(png.substr(12, 4) == "IHDR");
  Png out{be32(png, 16), be32(png, 20), ""};
  CHECK(png[24] == 8);  // bit depth
  CHECK(png[25] == 2);  // RGB
  std::string idat;
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::uint32_t len = be32(png, at);
    if (png.substr(at + 4, 4) == "IDAT") idat += png.substr(at + 8, len);
    at += 12 + len;
  }
  std::string raw(out.h * (3 * out.w + 1), '\0');
  uLongf n = raw.size();
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(n == raw.size());
  for (std::uint32_t y = 0; y < out.h; ++y) {
    CHECK(raw[y * (3 * out.w + 1)] == 0);  // filter none
    out.rgb += raw.substr(y * (3 * out.w + 1) + 1, 3 * out.w);
  }
  return out;
}
}  // namespace

namespace {
// The tiles of a gallery SVG: <g class="tile" data-split data-row data-source-row data-value …>
// holding one <image href="data:image/png;base64,…"/> and the caption's text, up to </g>.
struct SvgTile {
  std::string split, row, source_row, value, png, text;
};
std::vector<SvgTile> svg_tiles(const std::string& svg) {
  auto attr = [](const std::string& tag, const std::string& name) {
    const std::size_t a = tag.find(" " + name + "=\"");
    if (a == std::string::npos) return std::string();
    const std::size_t b = a + name.size() + 3;
    return tag.substr(b, tag.find('"', b) - b);
  };
  std::vector<SvgTile> out;
  for (std::size_t at = svg.find("<g class=\"tile\""); at != std::string::npos; at = svg.find("<g class=\"tile\"", at + 1)) {
    const std::size_t end = svg.find("</g>", at);
    const std::string g = svg.substr(at, end - at), tag = g.substr(0, g.find('>'));
    SvgTile t{attr(tag, "data-split"), attr(tag, "data-row"), attr(tag, "data-source-row"), attr(tag, "data-value"), "", ""};
    const std::string prefix = "href=\"data:image/png;base64,";
    const std::size_t img = g.find(prefix), img_end = g.find("\"/>", img);
    REQUIRE(img != std::string::npos);
    t.png = g.substr(img + prefix.size(), img_end - img - prefix.size());
    t.text = g.substr(img_end + 3);
    out.push_back(t);
  }
  return out;
}
}  // namespace

TEST_CASE("inflab influence on Fashion-MNIST: the gallery shows influence.csv's rows, their Δ̂ and their pixels") {
  const test::TempDir t;
  REQUIRE(run_inflab(t.dir(), "influence --dataset fashion-mnist --n-train 200 --n-test 50 --method cg --damping 0.001 --test 0 --top 4 --quiet --out f")
              .code == 0);
  std::map<std::string, std::vector<std::string>> csv;  // train_row → cells of influence.csv
  {
    std::ifstream in(t.file("f/influence.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      csv[f.at(0)] = f;
    }
  }
  REQUIRE(csv.size() == 200);
  const std::string svg = slurp(t.file("f/examples-test0.svg"));
  const data::Dataset train = data::load_fashion_mnist(data::Split::Train), test = data::load_fashion_mnist(data::Split::Test);
  const json s = summary(t.file("f/summary.json"));
  std::size_t train_tiles = 0, test_tiles = 0;
  for (const SvgTile& m : svg_tiles(svg)) {
    const std::size_t src = std::stoul(m.source_row);
    const std::string& text = m.text;
    if (m.split == "train") {
      const auto& row = csv.at(m.row);
      CHECK(row.at(1) == m.source_row);  // the source row of that training row
      CHECK(row.at(3) == m.value);       // the same Δ̂, to the digit
      CHECK(text.find(">label " + row.at(2) + "<") != std::string::npos);
      char cap[32];
      std::snprintf(cap, sizeof cap, ">Δ %+.3g<", std::stod(row.at(3)));  // the caption's Δ̂ (its hat is a drawn path)
      CHECK(text.find(cap) != std::string::npos);
      ++train_tiles;
    } else {
      CHECK(src == s["tests"][0]["test_source_row"].get<std::size_t>());
      CHECK(text.find(">label " + s["tests"][0]["label"].get<std::string>() + "<") != std::string::npos);
      ++test_tiles;
    }
    // the picture: 28×28 pixels of the file's row, each a 3×3 block, grey
    const Png png = decode_png(unbase64(m.png));
    REQUIRE(png.w == 84);
    REQUIRE(png.h == 84);
    const data::Dataset& d = m.split == "train" ? train : test;
    std::size_t wrong = 0;
    for (std::size_t y = 0; y < 84; ++y)
      for (std::size_t x = 0; x < 84; ++x)
        wrong += static_cast<unsigned char>(png.rgb[(y * 84 + x) * 3 + 1]) != static_cast<unsigned char>(d.X(src, 0, y / 3, x / 3));
    CHECK(wrong == 0);
  }
  CHECK(test_tiles == 1);
  CHECK(train_tiles == 8);  // 4 helpful and 4 harmful (each list has rows of both signs here)
  CHECK(lines(t.file("f/top.csv")) == 1 + train_tiles);
  CHECK(slurp(t.file("f/index.html")).find("<img src=\"examples-test0.svg\"") != std::string::npos);
}

TEST_CASE("inflab influence: ekfac, graddot, tracin and trak against the library, and their bad input") {
  const test::TempDir t;
  // column j of influence.csv (after train_row, source_row, label), indexed by train_row
  auto column = [&](const std::string& file, std::size_t j = 0) {
    std::ifstream csv(t.file(file));
    std::string line;
    std::getline(csv, line);
    std::vector<double> v;
    while (std::getline(csv, line)) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
      REQUIRE(std::stoul(cells.at(0)) == v.size());
      v.push_back(std::stod(cells.at(3 + j)));
    }
    return v;
  };
  auto worst = [](const std::vector<double>& a, const Tensor& b) {
    double w = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) w = std::max(w, std::fabs(a[i] - b(i))), scale = std::max(scale, std::fabs(b(i)));
    return w / scale;
  };
  const std::string mlp = "--dataset iris --width 6 --weight-decay 0.01 --quiet";
  REQUIRE(run_inflab(t.dir(), "train " + mlp + " --optimizer adam --epochs 20 --batch-size 40 --lr 0.01 --save-steps 10,30,60 --out tr").code == 0);
  const std::string ck = "--checkpoint " + t.file("tr/checkpoint") + " --quiet";
  const experiments::Problem p = experiments::load_problem(t.file("tr/checkpoint"));
  REQUIRE(p.trajectory.size() == 3);
  CHECK(p.trajectory[2].step == 60);
  CHECK(p.trajectory[0].lr == 0.01);

  // EK-FAC: the same numbers as the library's solve on the EK-FAC operator
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --curvature ekfac --damping 0.001 --test 2 --out ek").code == 0);
  {
    const experiments::CurvatureOperator A(*p.obj, p.train, p.theta, experiments::Curvature::Ekfac);
    experiments::SolverChoice c;
    c.method = experiments::Method::Exact;
    c.damping = 0.001;
    const experiments::Influence want = experiments::influence_on_test(A, p.test, {2}, c);
    CHECK(worst(column("ek/influence.csv"), want.predicted_change) < 1e-9);
    const json s = summary(t.file("ek/summary.json"));
    CHECK(s["curvature"] == "ekfac");
    CHECK(s["fisher"] == "expected");
    CHECK(s["tests"][0]["solve"]["relative_residual"].get<double>() < 1e-10);
  }
  // gradient dot, and TracIn over the checkpoint's saved steps
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --method graddot --test 2 --out gd").code == 0);
  CHECK(worst(column("gd/influence.csv"), experiments::gradient_dot(*p.obj, p.train, p.test, {2}, p.theta)) < 1e-9);
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --method gradcos --test 2 --out gc").code == 0);
  CHECK(slurp(t.file("gc/influence.csv")).find("gradient_cosine_test2") != std::string::npos);
  CHECK(worst(column("gc/influence.csv"), experiments::gradient_cosine(*p.obj, p.train, p.test, {2}, p.theta)) < 1e-9);
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --method tracin --test 2 --out ti").code == 0);
  {
    const Tensor want = experiments::tracin(*p.obj, p.train, p.test, {2}, p.trajectory);
    CHECK(worst(column("ti/influence.csv"), want) < 1e-9);
    const json s = summary(t.file("ti/summary.json"));
    CHECK(s["tests"][0]["estimator"]["steps"].size() == 3);
    CHECK(s["units"].get<std::string>().find("TracIn = n × this") != std::string::npos);
  }
  // TRAK with k = p, an orthogonal projection and one model is Gauss–Newton influence
  const std::string P = std::to_string(p.theta.size());
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --method trak --projection-dim " + P + " --projection orthogonal --damping 0.01 --test 2 --out tk").code == 0);
  REQUIRE(run_inflab(t.dir(), "influence " + ck + " --curvature ggn --damping 0.01 --test 2 --out gn").code == 0);
  {
    const std::vector<double> gn = column("gn/influence.csv");
    Tensor g = zeros({gn.size()});
    for (std::size_t i = 0; i < gn.size(); ++i) g(i) = gn[i];
    CHECK(worst(column("tk/influence.csv"), g) < 1e-7);
  }
  // the K-FAC matrix through `hessian`: symmetric, ⪰ λI
  const Result hk = run_inflab(t.dir(), "hessian " + ck + " --curvature kfac --fisher sampled --fisher-seed 2 --out hk");
  REQUIRE(hk.code == 0);
  CHECK(summary(t.file("hk/summary.json"))["smallest"].get<double>() >= 0.01 - 1e-12);
  const std::string page = slurp(t.file("hk/index.html"));  // the screen, kept under --quiet
  CHECK(page.find("kfac matrix: ") != std::string::npos);     // not labelled H
  CHECK(page.find("\nH: ") == std::string::npos);

  auto expect = [&](const std::string& args, int code, const std::string& text) {
    CAPTURE(args);
    const Result r = run_inflab(t.dir(), args + " --out bad");
    CHECK(r.code == code);
    CHECK_MESSAGE(r.out.find(text) != std::string::npos, r.out);
  };
  expect("influence " + ck + " --curvature ekfac --damping -1", 2, "--damping -1 is out of range");
  expect("influence " + ck + " --method trak --damping -0.5", 2, "--damping -0.5 is out of range");
  expect("influence " + ck + " --method trak --projection-dim 0", 2, "--projection-dim 0");
  expect("influence " + ck + " --method trak --projection-dim " + std::to_string(p.theta.size() + 1), 2,
         "--projection-dim " + std::to_string(p.theta.size() + 1) + " is above the parameter count p = " + P);
  expect("influence " + mlp + " --method tracin", 2, "--method tracin needs parameters saved during training: give --save-steps");
  expect("influence " + mlp + " --method tracin --save-steps 5", 2, "this problem trains with lbfgs");
  REQUIRE(run_inflab(t.dir(), "train " + mlp + " --out plain").code == 0);
  expect("influence --checkpoint " + t.file("plain/checkpoint") + " --method tracin", 2, "has none: train it with --save-steps");
  expect("influence " + ck + " --fisher sampled", 2, "--fisher applies to --curvature kfac or ekfac only");
  expect("influence " + ck + " --method graddot --curvature ggn", 2, "--curvature does not apply to --method graddot");
  expect("influence " + ck + " --method cosine", 2, "is not one of: exact, cg, minres, lissa, lowrank, graddot, gradcos, tracin, trak");
  // an option of the other family names the method, not "unknown option"
  expect("influence " + ck + " --projection-dim 5", 2, "--projection-dim does not apply to --method exact");
  expect("influence " + ck + " --method cg --models 2", 2, "--models does not apply to --method cg");
  expect("influence " + ck + " --method lissa --save-steps 3", 2, "--save-steps does not apply to --method lissa");
  expect("influence " + ck + " --method graddot --lissa-depth 10", 2, "--lissa-depth does not apply to --method graddot");
  // options that would be silently ignored
  expect("influence " + ck + " --curvature kfac --fisher-seed 3", 2, "--fisher-seed applies to --fisher sampled only");
  expect("influence " + ck + " --curvature ekfac --fisher empirical --fisher-seed 3", 2, "--fisher-seed applies to --fisher sampled only");
  expect("influence " + ck + " --curvature ekfac --indefinite abs", 2, "--indefinite does not apply to --curvature ekfac");
  expect("influence " + ck + " --curvature kfac --method lissa --lissa-batch 10", 2, "--lissa-batch does not apply to --curvature kfac");
  // a save step beyond the run: refused before training (20000 epochs would take minutes)
  expect("influence " + mlp + " --optimizer adam --epochs 20000 --batch-size 40 --method tracin --save-steps 60001", 1,
         "save step 60001 is not a step of this run (it takes at most 60000 steps");
  // a trajectory.json without a key names the file
  std::filesystem::copy(t.file("tr"), t.file("tr2"), std::filesystem::copy_options::recursive);
  std::ofstream(t.file("tr2/checkpoint/trajectory.json")) << "{\"steps\": [10, 30, 60]}\n";
  expect("influence --checkpoint " + t.file("tr2/checkpoint") + " --quiet --method tracin", 1, "trajectory.json: no list 'learning_rates'");
}

TEST_CASE("validate and lds record the curvature and its Fisher labels in summary.json") {
  const test::TempDir t;
  const std::string mlp = "--dataset iris --width 4 --weight-decay 0.01 --quiet --curvature kfac --fisher sampled --fisher-seed 4";
  REQUIRE(run_inflab(t.dir(), "validate " + mlp + " --top 3 --out v").code == 0);
  REQUIRE(run_inflab(t.dir(), "lds " + mlp + " --subsets 3 --out l").code == 0);
  for (const char* f : {"v/summary.json", "l/summary.json"}) {
    CAPTURE(f);
    const json s = summary(t.file(f));
    CHECK(s["curvature"] == "kfac");
    CHECK(s["fisher"] == "sampled");
    CHECK(s["fisher_seed"] == 4);
  }
}

TEST_CASE("inflab benchmark: a tiny run end to end — every estimator a row, scores against its own journals, bad input refused") {
  const test::TempDir t;
  const std::string args = "benchmark " + logreg + " --estimators exact,cg,kfac,graddot --loo-rows 12 --subsets 10 --test-points 3 "
                           "--retrain newton --retrain-tol 1e-11 --out b";
  const Result r = run_inflab(t.dir(), args);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(lines(t.file("b/benchmark.csv")) == 1 + 4);
  CHECK(lines(t.file("b/loo.jsonl")) == 1 + 12);
  CHECK(lines(t.file("b/lds.jsonl")) == 1 + 10);
  const json s = summary(t.file("b/summary.json"));
  REQUIRE(s["estimators"].size() == 4);
  const auto& ex = s["estimators"][0];
  CHECK(ex["estimator"] == "exact");
  CHECK(ex["loo_pearson"].get<double>() > 0.99);  // convex, retrained to 1e-11
  CHECK(ex["loo_points"] == 3);
  CHECK(ex["lds_spearman"].get<double>() > 0.8);
  // 8 of 80 labels flipped on separable classes: self-influence finds nearly all of them (0.988
  // measured), as training loss does; chance is 0.5
  CHECK(ex["noisy_label_auc"].get<double>() > 0.95);
  CHECK(s["noisy_label_auc_training_loss"].get<double>() > 0.95);
  CHECK(s["estimators"][1]["noisy_label_auc"].is_null());  // cg: one solve per row, said in the note
  CHECK(s["estimators"][1]["note"].get<std::string>().find("one iterative solve per training row") != std::string::npos);
  CHECK(s["estimators"][1]["loo_pearson"].get<double>() == doctest::Approx(ex["loo_pearson"].get<double>()).epsilon(1e-6));
  CHECK(s["loo_retrains"]["jobs"] == 12);
  CHECK(s["retrain_protocol"]["optimizer"] == "newton");
  // convex and trained to 1e-10: another initialisation lands on the same θ̂ to ~1e-10, far
  // below the changes being scored
  CHECK(s["noise_floor"]["per_test_point"].size() == 3);
  CHECK(s["noise_floor"]["median"].get<double>() < 1e-7);
  CHECK(s["noise_floor"]["median_abs_loo_change"].get<double>() > 1e3 * s["noise_floor"]["median"].get<double>());
  // rerun: the ground truth comes back from the journals
  const Result again = run_inflab(t.dir(), args);
  REQUIRE(again.code == 0);
  CHECK(summary(t.file("b/summary.json"))["loo_retrains"]["resumed"] == 12);
  CHECK(run_inflab(t.dir(), "benchmark " + logreg + " --estimators exact,nope --out x").code == 2);
  const Result big = run_inflab(t.dir(), "benchmark " + logreg + " --loo-rows 500 --out y");
  CHECK(big.code == 2);
  CHECK(big.out.find("--loo-rows 500") != std::string::npos);
}

TEST_CASE("inflab benchmark --truth cg: scored against CG's Δ̂ to 1e-10 — exact scores 1 — with no retraining; retraining options refused") {
  const test::TempDir t;
  const std::string mlp = "--dataset iris --model mlp --width 5 --weight-decay 0.01 --quiet";
  const Result r = run_inflab(t.dir(), "benchmark " + mlp + " --truth cg --estimators exact,kfac,graddot --loo-rows 30 --subsets 12 --test-points 3 --out b");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(!std::filesystem::exists(t.file("b/loo.jsonl")));
  const json s = summary(t.file("b/summary.json"));
  CHECK(s["truth"] == "cg");
  CHECK(s["reference"]["tol"] == 1e-10);
  CHECK(s["reference"]["warning"] == "");
  CHECK(!s.contains("loo_retrains"));
  CHECK(s["problem"]["model"] == "MLP 4-5-3 (tanh)");
  const auto& ex = s["estimators"][0];
  CHECK(ex["loo_pearson"].get<double>() > 1 - 1e-8);  // exact H⁻¹ against CG to 1e-10
  CHECK(ex["lds_spearman"].get<double>() == doctest::Approx(1));
  CHECK(s["estimators"][2]["loo_pearson"].get<double>() < 0.99);  // graddot is not H⁻¹
  const Result self = run_inflab(t.dir(), "benchmark " + mlp + " --truth cg --estimators cg --loo-rows 10 --subsets 5 --test-points 2 --out s");
  REQUIRE(self.code == 0);
  CHECK(summary(t.file("s/summary.json"))["estimators"][0]["note"].get<std::string>().find("the reference itself") != std::string::npos);
  const Result bad = run_inflab(t.dir(), "benchmark " + mlp + " --truth cg --retrain newton --out c");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--retrain does not apply to --truth cg") != std::string::npos);
  const Result bad2 = run_inflab(t.dir(), "benchmark " + mlp + " --reference-tol 1e-8 --out d");
  CHECK(bad2.code == 2);
  CHECK(bad2.out.find("--reference-tol applies to --truth cg or both only") != std::string::npos);
}

TEST_CASE("inflab benchmark --truth both: each entry against retraining and against the CG reference, the reference itself a row; "
          "its reference columns equal a --truth cg run's") {
  const test::TempDir t;
  const std::string common = "benchmark " + logreg + " --estimators exact,graddot --loo-rows 12 --subsets 10 --test-points 3 --flip 0";
  const Result r = run_inflab(t.dir(), common + " --truth both --retrain newton --retrain-tol 1e-11 --out b");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(lines(t.file("b/loo.jsonl")) == 1 + 12);
  CHECK(lines(t.file("b/benchmark.csv")) == 1 + 3);
  CHECK(slurp(t.file("b/benchmark.csv")).find("reference_lds_spearman") != std::string::npos);
  CHECK(slurp(t.file("b/benchmark.md")).find("against the reference: LOO Pearson") != std::string::npos);
  const json s = summary(t.file("b/summary.json"));
  CHECK(s["truth"] == "both");
  CHECK(s["loo_retrains"]["jobs"] == 12);
  CHECK(s["reference"]["tol"] == 1e-10);
  REQUIRE(s["estimators"].size() == 3);
  const auto& ref = s["estimators"][0];
  const auto& ex = s["estimators"][1];
  const auto& gd = s["estimators"][2];
  CHECK(ref["estimator"] == "reference: cg, tol 1e-10");
  CHECK(ref["reference_loo_pearson"].get<double>() == doctest::Approx(1).epsilon(1e-12));
  CHECK(ref["reference_lds_spearman"].get<double>() == doctest::Approx(1).epsilon(1e-12));
  // exact H⁻¹ and CG to 1e-10 are the same Δ̂: the same scores against retraining, 1 against each other
  CHECK(ref["loo_pearson"].get<double>() == doctest::Approx(ex["loo_pearson"].get<double>()).epsilon(1e-6));
  CHECK(ref["loo_pearson"].get<double>() > 0.99);  // convex, retrained to 1e-11
  CHECK(ex["reference_loo_pearson"].get<double>() > 1 - 1e-8);
  CHECK(gd["reference_loo_pearson"].get<double>() < 0.99);
  // the columns against the reference are what --truth cg scores on the same rows and subsets
  const Result c = run_inflab(t.dir(), common + " --truth cg --out c");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  const json cs = summary(t.file("c/summary.json"));
  REQUIRE(cs["estimators"].size() == 2);
  CHECK(cs["estimators"][1]["loo_pearson"].get<double>() == doctest::Approx(gd["reference_loo_pearson"].get<double>()).epsilon(1e-12));
  CHECK(cs["estimators"][1]["lds_spearman"].get<double>() == doctest::Approx(gd["reference_lds_spearman"].get<double>()).epsilon(1e-12));
  CHECK(cs["estimators"][1]["reference_loo_pearson"].is_null());  // one truth: no second set of columns
}

TEST_CASE("inflab --hidden and validate --params last: mixed widths in the checkpoint, Δ̂ of the last layer as the library computes it") {
  const test::TempDir t;
  const Result tr = run_inflab(t.dir(), "train --quiet --dataset iris --hidden 6,4 --weight-decay 0.01 --out tr");
  REQUIRE_MESSAGE(tr.code == 0, tr.out);
  CHECK(summary(t.file("tr/summary.json"))["model"] == "MLP 4-6-4-3 (tanh)");
  CHECK(summary(t.file("tr/checkpoint/problem.json"))["spec"]["hidden"] == json::array({6, 4}));
  const Result v = run_inflab(t.dir(), "validate --quiet --checkpoint tr/checkpoint --params last --top 5 --out v");
  REQUIRE_MESSAGE(v.code == 0, v.out);
  const json s = summary(t.file("v/summary.json"));
  CHECK(s["params"] == "last");
  CHECK(s["retrains"]["jobs"] == 5);
  // the same Δ̂ from the library: the last layer (4·3 + 3 parameters) on frozen features, exact H
  const experiments::Problem p = experiments::load_problem(t.file("tr/checkpoint"));
  const experiments::Problem h = experiments::last_layer(p);
  REQUIRE(h.theta.size() == 15);
  experiments::SolverChoice exact;
  exact.method = experiments::Method::Exact;
  const experiments::CurvatureOperator A(*h.obj, h.train, h.theta);
  const std::size_t test_row = s["test_row"].get<std::size_t>();
  const auto inf = experiments::influence_on_test(A, h.test, {test_row}, exact);
  std::ifstream in(t.file("v/validate.csv"));
  std::string line;
  std::getline(in, line);
  REQUIRE(line.rfind("train_row,source_row,label,predicted_loss_change,", 0) == 0);
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    REQUIRE(cells.size() >= 5);
    const std::size_t row = std::stoul(cells[0]);
    CHECK(std::stod(cells[3]) == doctest::Approx(inf.predicted_change(row)).epsilon(1e-9));
    ++rows;
  }
  CHECK(rows == 5);
  // bad input: both forms of the widths, a contradiction of the checkpoint's widths, a study that sweeps them
  const Result both = run_inflab(t.dir(), "train --quiet --hidden 6,4 --depth 2 --out x");
  CHECK(both.code == 2);
  CHECK(both.out.find("--hidden gives every hidden width; leave out --depth and --width") != std::string::npos);
  const Result zero = run_inflab(t.dir(), "train --quiet --hidden 6,0 --out x");
  CHECK(zero.code == 2);
  CHECK(zero.out.find("--hidden: width 0 is not in 1..100000") != std::string::npos);
  const Result contra = run_inflab(t.dir(), "validate --quiet --checkpoint tr/checkpoint --depth 2 --out y");
  CHECK(contra.code == 2);
  CHECK(contra.out.find("--depth 2 contradicts the checkpoint") != std::string::npos);
  CHECK(contra.out.find("made with hidden widths 6,4") != std::string::npos);
  // the run directory says how to repeat it: --hidden alone, not the default depth and width beside it
  const std::string cmd = slurp(t.file("tr/command.txt"));
  CHECK(cmd.find("--hidden 6,4") != std::string::npos);
  CHECK(cmd.find("--depth") == std::string::npos);
  CHECK(cmd.find("--width") == std::string::npos);
  const Result study = run_inflab(t.dir(), "study fragility --quiet --hidden 6,4 --out z");
  CHECK(study.code == 2);
  CHECK(study.out.find("--hidden does not apply to study fragility") != std::string::npos);
  const Result scope = run_inflab(t.dir(), "validate --quiet --checkpoint tr/checkpoint --params first --out w");
  CHECK(scope.code == 2);
  CHECK(scope.out.find("all, last") != std::string::npos);
}

TEST_CASE("numbers users can trust: --flip 0 honoured, one-class subsample refused, warnings reach stderr under --quiet") {
  const test::TempDir t;
  // --flip 0: the benchmark runs without the noisy-label problem and says so in the AUC column
  const Result b = run_inflab(t.dir(), "benchmark " + logreg + " --estimators exact --loo-rows 5 --subsets 5 --test-points 2 --flip 0 --out b");
  REQUIRE_MESSAGE(b.code == 0, b.out);
  const json s = summary(t.file("b/summary.json"));
  CHECK(s["noisy_problem"].is_null());
  CHECK(s["estimators"][0]["noisy_label_auc"].is_null());
  CHECK(s["estimators"][0]["note"].get<std::string>().find("--flip 0") != std::string::npos);
  CHECK(s["estimators"][0]["loo_points"] == 2);
  // three training rows of one class: no classifier to explain, refused naming --n-train
  const Result one = run_inflab(t.dir(), "validate --n-train 3 --top 3 --quiet --out n3");
  CHECK(one.code == 2);
  CHECK(one.out.find("--n-train 3 leaves rows of 1 of the 3 classes") != std::string::npos);
  // a model no machine holds: refused before any allocation, saying what to make smaller (was std::bad_alloc)
  const Result big = run_inflab(t.dir(), "influence --depth 64 --width 100000 --quiet --out big");
  CHECK(big.code == 1);
  CHECK(big.out.find("parameters: training needs about") != std::string::npos);
  CHECK(big.out.find("--width") != std::string::npos);
  // a dense H of 795 010 parameters (18 000 GiB): refused before training, which alone would take
  // hours on 60 000 rows (the test's timeout is the failure on a build that trains first);
  // the same for validate, lds, benchmark's exact row and hessian --max-dim
  for (const std::string cmd : {"influence --method exact", "validate", "lds", "benchmark --estimators cg,exact", "hessian"}) {
    const Result r = run_inflab(t.dir(), cmd + " --dataset fashion-mnist --model mlp --hidden 1000 --quiet --out dense");
    CHECK_MESSAGE(r.code != 0, cmd);
    CHECK_MESSAGE((r.out.find("exact solve: a dense eigendecomposition of the 795010 × 795010") != std::string::npos ||
                   r.out.find("the model has 795010 parameters; a dense H above --max-dim 4000 is refused") != std::string::npos),
                  (cmd + ": " + r.out));
  }
  // a checkpoint with a NaN weight is refused naming the parameter, by every command that loads it
  REQUIRE(run_inflab(t.dir(), "train --quiet --out ck").code == 0);
  {
    const std::string f = t.file("ck/checkpoint/0.bias.npy");
    std::string bytes = slurp(f);
    const double nan = std::nan("");
    std::memcpy(&bytes[bytes.size() - sizeof nan], &nan, sizeof nan);  // the last entry of 0.bias
    std::ofstream(f, std::ios::binary) << bytes;
  }
  for (const std::string cmd : {"hessian", "spectrum", "check", "influence"}) {
    const Result r = run_inflab(t.dir(), cmd + " --checkpoint ck/checkpoint --quiet --out nan-" + cmd);
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("parameter 0.bias holds a NaN") != std::string::npos, r.out);
  }
  // a damaged problem.json: one message naming the file and what is wrong, never json.exception text
  REQUIRE(run_inflab(t.dir(), "train --quiet --out cj").code == 0);
  const std::string pj = t.file("cj/checkpoint/problem.json"), good = slurp(pj);
  json neg = json::parse(good), ver = neg, nul = neg;
  neg["spec"]["width"] = -8, ver["version"] = 7, nul["spec"] = nullptr;
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{{"", "problem.json: empty"},
                                                                                   {good.substr(0, 30), "not valid JSON (damaged at byte"},
                                                                                   {"[1, 2]", "not an inflab problem"},
                                                                                   {nul.dump(), "no \"spec\" object"},
                                                                                   {neg.dump(), "\"width\" is -8, not a whole number"},
                                                                                   {ver.dump(), "version 7; this inflab reads version 1"}}) {
    std::ofstream(pj, std::ios::trunc) << text;
    const Result r = run_inflab(t.dir(), "influence --checkpoint cj/checkpoint --quiet --out dj");
    CHECK(r.code != 0);
    CHECK_MESSAGE(r.out.find(says) != std::string::npos, r.out);
    CHECK(r.out.find("json.exception") == std::string::npos);
  }
  // the screen's "Files:" line is the run directory's listing: on tabular data no examples picture
  // (was listed, never written), and every file there named
  const Result fl = run_inflab(t.dir(), "influence --out fl");
  REQUIRE(fl.code == 0);
  const std::size_t at = fl.out.find("Files: ");
  REQUIRE(at != std::string::npos);
  const std::string files = fl.out.substr(at, fl.out.find('\n', at) - at);
  CHECK(files.find("examples") == std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(t.file("fl")))
    if (e.path().filename().string()[0] != '.') CHECK_MESSAGE(files.find(e.path().filename().string()) != std::string::npos, files);
  // a checkpoint trained on a relative csv:PATH, used from another directory: the error names
  // the checkpoint and why the path moved (was: only the CSV's name)
  std::filesystem::create_directories(t.file("elsewhere"));
  std::filesystem::copy_file(data::bundled_data_dir() + "/iris.csv", t.file("mine.csv"));
  REQUIRE(run_inflab(t.dir(), "train --dataset csv:mine.csv --quiet --out rel").code == 0);
  const Result moved = run_inflab(t.file("elsewhere"), "influence --checkpoint ../rel/checkpoint --quiet --out x");
  CHECK(moved.code != 0);
  CHECK_MESSAGE(moved.out.find("checkpoint '../rel/checkpoint': its problem.json's data (--dataset csv:mine.csv) cannot be loaded — a relative path") !=
                    std::string::npos,
                moved.out);
  // a deep unregularised MLP: the exact solve's residual warning is printed under --quiet too
  const Result q = run_inflab(t.dir(), "validate --depth 3 --weight-decay 0 --top 3 --quiet --out q");
  REQUIRE_MESSAGE(q.code == 0, q.out);
  CHECK(q.out.find("warning: relative residual") != std::string::npos);
  // θ̂ short of stationary: the hint says why L-BFGS stopped, not "use --optimizer lbfgs" (in use)
  const Result st = run_inflab(t.dir(), "influence --max-steps 5 --quiet --out st");
  REQUIRE_MESSAGE(st.code == 0, st.out);
  CHECK_MESSAGE(st.out.find("lbfgs stopped (iteration budget reached): raise --max-steps") != std::string::npos, st.out);
  CHECK(st.out.find("--optimizer lbfgs") == std::string::npos);
  // a Gauss–Newton matrix has no negative eigenvalues: at a saturated unregularised network its
  // rounding below 0 is called that, with the singularity it means (was "17 … are negative")
  const Result g = run_inflab(t.dir(), "influence --curvature ggn --weight-decay 0 --quiet --out ggn");
  REQUIRE_MESSAGE(g.code == 0, g.out);
  CHECK_MESSAGE(g.out.find("are 0 to rounding") != std::string::npos, g.out);
  CHECK_MESSAGE(g.out.find("singular to working precision — add damping") != std::string::npos, g.out);
  CHECK(g.out.find("are negative") == std::string::npos);
  const Result h = run_inflab(t.dir(), "influence --weight-decay 0 --out hz");  // the Hessian's are curvature
  REQUIRE_MESSAGE(h.code == 0, h.out);
  CHECK_MESSAGE(h.out.find("eigenvalues of H + μI are negative") != std::string::npos, h.out);
}

TEST_CASE("inflab check: no false alarm at a saturated trained network, where rounding hides a rate it says so") {
  const test::TempDir t;
  for (const std::string args : {"--weight-decay 0", "--depth 3 --weight-decay 0"}) {
    CAPTURE(args);
    const Result r = run_inflab(t.dir(), "check " + args + " --out c" + std::to_string(args.size()));
    CHECK_MESSAGE(r.code == 0, r.out);  // was exit 3 with four FAILs at a correct derivative
    CHECK(r.out.find("FAIL") == std::string::npos);
    CHECK(r.out.find("INCONCLUSIVE") != std::string::npos);
    CHECK(r.out.find("PASS  gradient vs central differences") != std::string::npos);
  }
  // at the initialisation every check reads a value and passes
  const Result init = run_inflab(t.dir(), "check --at-init --out ci");
  CHECK(init.code == 0);
  CHECK(init.out.find("INCONCLUSIVE") == std::string::npos);
  CHECK(init.out.find("PASS  Taylor order of the HVP remainder") != std::string::npos);
}

namespace {
// The command names `inflab help` lists (its "commands:" block; the name column ends at two spaces).
std::vector<std::string> help_commands(const std::string& dir) {
  std::vector<std::string> names;
  std::istringstream in(run_inflab(dir, "help").out);
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "commands:") { listing = true; continue; }
    if (listing && line.empty()) break;
    if (listing) names.push_back(line.substr(2, line.find("  ", 2) - 2));
  }
  return names;
}
}  // namespace

// command.txt repeats a run: the settings a command records (every option it read, defaults
// too), written back as a command line as command.txt writes them, are accepted again and
// record the same — for every command and the variants that read other options.
TEST_CASE("every command's recorded settings repeat: read back, they are accepted and recorded the same") {
  const test::TempDir t;
  std::vector<std::string> runs = help_commands(t.dir());
  REQUIRE(runs.size() >= 12);
  for (const char* v : {"benchmark --truth cg", "benchmark --truth both", "benchmark --retrain-target pbrf --retrain-damping 0.01", "validate --retrain-target loo-cold",
                        "validate --optimizer sgd --retrain-target unrolled --method unrolled", "lds --retrain-target loo-proximal --retrain-damping 0.1"})
    runs.push_back(v);
  auto settings_of = [&](const std::string& args, std::string* out) {
    const Result r = run_inflab(t.dir(), args + " --dry-run");
    *out = args + ": exit " + std::to_string(r.code) + "\n" + r.out;
    return r.code == 0 ? json::parse(r.out.substr(r.out.find('{'))) : json();
  };
  for (const auto& run : runs) {
    std::string what;
    const json s = settings_of(run, &what);
    REQUIRE_MESSAGE(s.is_object(), what);
    const std::string command = run.substr(0, run.find(" --"));
    std::string line = command;  // as command.txt renders settings
    for (auto it = s.begin(); it != s.end(); ++it) {
      std::string v;
      if (it.value().is_string()) v = it.value().get<std::string>();
      else if (it.value().is_array())
        for (const auto& e : it.value()) v += (v.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
      else v = it.value().dump();
      if (v.empty()) continue;
      if (it.value().is_boolean()) {
        if (it.value().get<bool>()) line += " --" + it.key();
      } else {
        line += " --" + it.key() + " '" + v + "'";
      }
    }
    std::string again_what;
    const json again = settings_of(line, &again_what);
    CHECK_MESSAGE(again == s, (run + " → " + again_what));
  }
}

// Every option of every command (as `inflab help CMD` lists them) given each of 0, −1, NaN, inf
// and 1e300, under --dry-run (options read and checked, nothing run): either refused with exit 2
// by a message naming the option, or accepted and recorded in the settings exactly as given.
TEST_CASE("every option of every command: a degenerate value is refused naming it, or recorded as given") {
  const test::TempDir t;
  const std::vector<std::string> commands = help_commands(t.dir());
  REQUIRE(commands.size() >= 12);
  const std::vector<std::string> values = {"0", "-1", "nan", "inf", "1e300"};
  std::size_t runs = 0, refused = 0;
  for (const auto& cmd : commands) {
    const std::string help = run_inflab(t.dir(), "help " + cmd).out;
    std::set<std::string> options;
    for (std::size_t at = help.find("\n  --"); at != std::string::npos; at = help.find("\n  --", at + 1)) {
      const std::string line = help.substr(at + 1, help.find('\n', at + 1) - at - 1);
      for (std::size_t o = line.find("--"); o != std::string::npos; o = line.find("--", o + 2)) {
        std::size_t e = o + 2;
        while (e < line.size() && (std::isalnum(static_cast<unsigned char>(line[e])) || line[e] == '-')) ++e;
        if (e > o + 2) options.insert(line.substr(o + 2, e - o - 2));
      }
    }
    REQUIRE_MESSAGE(options.count("seed"), cmd);
    for (const auto& o : options) {
      if (o == "dry-run" || o == "quiet" || o == "out") continue;
      for (const auto& v : values) {
        const Result r = run_inflab(t.dir(), cmd + " --" + o + " " + v + " --dry-run");
        ++runs;
        const std::string what = cmd + " --" + o + " " + v + ": exit " + std::to_string(r.code) + "\n" + r.out;
        if (r.code == 2) {
          ++refused;
          CHECK_MESSAGE(r.out.find("--" + o) != std::string::npos, what);  // names the option
          continue;
        }
        REQUIRE_MESSAGE(r.code == 0, what);
        const json s = json::parse(r.out.substr(r.out.find('{')));
        REQUIRE_MESSAGE(s.contains(o), what);
        // recorded as given: the same number, or the same text
        const json& got = s[o];
        if (got.is_number()) CHECK_MESSAGE(got.get<double>() == std::stod(v), what);
        else if (got.is_string()) CHECK_MESSAGE(got.get<std::string>() == v, what);
        else if (got.is_array()) CHECK_MESSAGE((got.size() == 1 && got[0].is_number() && got[0].get<double>() == std::stod(v)), what);
        else CHECK_MESSAGE(false, what);
      }
    }
  }
  MESSAGE(runs << " runs, " << refused << " refused");
  CHECK(runs > 500);
}
