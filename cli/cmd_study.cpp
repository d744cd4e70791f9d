// The two reproduced studies: loops over settings around influence/ calls (studies.hpp,
// experiments.hpp). Each writes one CSV row per finished setting (an interrupted study
// resumes where it stopped), then tables and plots from the whole CSV.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "autodiff/blas.hpp"
#include "cli/common.hpp"
#include "cli/plot.hpp"
#include "influence/choices.hpp"
#include "influence/metrics.hpp"
#include "experiments/decomposition.hpp"
#include "experiments/retrain_jobs.hpp"
#include "experiments/studies.hpp"
#include "mpi/session.hpp"
#include "nn/choices.hpp"
#include "util/stop.hpp"
#include "util/format.hpp"

namespace inflab::cli {

using json = nlohmann::json;
namespace ex = experiments;

namespace {
using Row = std::map<std::string, std::string>;
// rows of a CsvLog read back as maps (tables and plots cover resumed rows too)
std::vector<Row> read_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<Row> rows;
  if (!std::getline(in, line)) return rows;
  const auto head = CsvLog::split(line);
  while (std::getline(in, line)) {
    const auto v = CsvLog::split(line);
    Row r;
    for (std::size_t i = 0; i < head.size() && i < v.size(); ++i) r[head[i]] = v[i];
    rows.push_back(r);
  }
  return rows;
}
double num(const Row& r, const std::string& k) { return std::stod(r.at(k)); }
// the table's rows in summary.json, numbers as numbers (NaN: null)
json rows_json(const std::vector<Row>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    json o = json::object();
    for (const auto& [k, v] : r) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      o[k] = v.empty() || *end ? json(v) : std::isfinite(x) ? json(x) : json(nullptr);
    }
    out.push_back(o);
  }
  return out;
}
// what a study ran with: the base problem, the solver, the retraining
json study_json(const ex::ProblemSpec& base, const ex::SolverChoice& sc, const ex::RetrainProtocol& rp) {
  json spec;
  ex::to_json(spec, base);
  return {{"base_spec", spec}, {"method", ex::solver_methods().name(sc.method)}, {"damping", sc.damping}, {"curvature", "hessian"},
          {"retrain", nn::optimizers().name(rp.optimizer)}, {"retrain_tol", rp.grad_tol}, {"retrain_protocol", ex::protocol_json(rp)}};
}
std::string cell3(const Row& r, const std::string& k) { return std::isfinite(num(r, k)) ? fmt("%.3f", num(r, k)) : "n/a"; }
std::set<std::string> done_keys(const CsvLog& log) {
  const auto v = log.done_keys();
  return {v.begin(), v.end()};
}

const std::vector<std::string> kFragilityColumns = {
    "key", "sweep", "depth", "width", "weight_decay", "seed", "test", "candidates", "params", "test_row", "test_source_row", "parameters", "train_accuracy", "test_accuracy",
    "grad_norm", "lambda_min", "lambda_max", "negative", "n", "pearson", "spearman", "relative_error", "mean_abs_actual", "noise_floor", "converged",
    "saddles", "unresolved", "retrained", "solve_rel_residual", "solve_warning", "undefined", "caveat"};

std::vector<std::string> fragility_cells(const ex::FragilityRow& r, const ex::FragilityOptions& o) {
  const auto& s = r.setting;
  return {s.key(r.test), ex::sweeps().name(s.sweep), std::to_string(s.depth), std::to_string(s.width), shortest(s.weight_decay), std::to_string(s.seed), r.test,
          ex::candidate_rules().name(o.candidates), ex::param_scopes().name(o.params), std::to_string(r.test_row),
          std::to_string(r.test_source_row), std::to_string(r.parameters), CsvLog::cell(r.train_accuracy), CsvLog::cell(r.test_accuracy),
          CsvLog::cell(r.grad_norm), CsvLog::cell(r.spectrum.smallest), CsvLog::cell(r.spectrum.largest),
          r.spectrum.exact ? std::to_string(r.spectrum.negative) : "n/a", std::to_string(r.scores.n), CsvLog::cell(r.scores.pearson),
          CsvLog::cell(r.scores.spearman), CsvLog::cell(r.scores.relative_error), CsvLog::cell(r.mean_abs_actual), CsvLog::cell(r.noise_floor),
          std::to_string(r.retrain.converged), std::to_string(r.retrain.saddles), std::to_string(r.retrain.unresolved),
          std::to_string(r.retrain.jobs),
          CsvLog::cell(r.rel_residual), CsvLog::text(r.warning), CsvLog::text(r.scores.undefined), CsvLog::text(r.scores.caveat)};
}

std::string fragility_markdown(const std::vector<Row>& rows) {
  std::ostringstream md;
  md << "| sweep | depth | width | λ | seed | test | dim H | test acc | λmin(H) | λmax(H) | negative | n | Pearson | Spearman | rel. error | mean abs Δ | retrains: converged / saddle / unresolved | note |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    md << "| " << r.at("sweep") << " | " << r.at("depth") << " | " << r.at("width") << " | " << r.at("weight_decay") << " | " << r.at("seed") << " | " << r.at("test")
       << " | " << r.at("parameters") << " | " << cell3(r, "test_accuracy") << " | " << fmt("%.3g", num(r, "lambda_min")) << " | "
       << fmt("%.3g", num(r, "lambda_max")) << " | " << r.at("negative") << " | " << r.at("n") << " | " << cell3(r, "pearson") << " | " << cell3(r, "spearman")
       << " | " << cell3(r, "relative_error") << " | " << fmt("%.2g", num(r, "mean_abs_actual")) << " | " << r.at("converged") << " / "
       << r.at("saddles") << " / " << r.at("unresolved") << " of " << r.at("retrained") << " | " << (r.at("undefined").empty() ? "" : "no correlation: " + r.at("undefined")) << (r.at("solve_warning").empty() ? "" : " " + r.at("solve_warning")) << " |\n";
  return md.str();
}

// a row of fragility.csv (resumed rows too) as the sweep reads it
ex::FragilityRecord fragility_record(const Row& r) {
  ex::FragilityRecord f;
  f.sweep = ex::sweeps().parse(r.at("sweep"));
  f.depth = std::stoul(r.at("depth")), f.width = std::stoul(r.at("width"));
  f.weight_decay = num(r, "weight_decay");
  f.test = r.at("test") == "highest" ? ex::TestKind::Highest : ex::TestKind::Random;
  f.saddles = std::stoul(r.at("saddles")), f.unresolved = std::stoul(r.at("unresolved")), f.retrained = std::stoul(r.at("retrained"));
  f.pearson = num(r, "pearson"), f.spearman = num(r, "spearman");
  f.mean_abs_actual = num(r, "mean_abs_actual"), f.noise_floor = num(r, "noise_floor");
  return f;
}
std::string spread_cell(const ex::Spread& s) {
  if (!s.n) return "n/a";
  std::string c = fmt("%.3f", s.median) + " [" + fmt("%.3f", s.q25) + ", " + fmt("%.3f", s.q75) + "]";
  c += std::isfinite(s.ci_low) ? " (" + fmt("%.3f", s.ci_low) + "–" + fmt("%.3f", s.ci_high) + ")" : std::string("");
  return c;
}
// The sweep table: medians, inter-quartile ranges and 95% intervals of the medians.
std::string spread_markdown(const std::vector<ex::SweepPoint>& pts) {
  std::ostringstream md;
  md << "Median [IQR] (95% interval of the median, distribution-free, from 6 values up) over seeds, and for random test points over\n"
     << "the test points too (those share their seed's network, so they are not independent: read their interval as optimistic).\n"
     << "Rows with an unresolved retrain (no step taken: Δ = 0 measures nothing) are left out; rows whose correlation is\n"
     << "undefined are counted, not used; retrains that ended at a saddle stay in and are counted in the last column.\n\n"
     << "Mean |Δ| and the noise floor (|Δ| of the same retraining with nothing removed; only for a fixed sgd/adam budget): medians.\n\n"
     << "| sweep | depth or width | λ | test | rows: used / no correlation / left out | Pearson | Spearman | mean \\|Δ\\| / noise floor | retrains at a saddle / unresolved |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : pts)
    md << "| " << ex::sweeps().name(p.sweep) << " | " << p.x << " | " << shortest(p.weight_decay) << " | " << ex::test_kinds().name(p.test) << " | " << p.pearson.n << " / "
       << p.pearson.undefined << " / " << p.unmeasured << " | " << spread_cell(p.pearson) << " | " << spread_cell(p.spearman) << " | "
       << (p.mean_abs_actual.n ? fmt("%.2g", p.mean_abs_actual.median) : std::string("n/a")) << " / "
       << (p.noise_floor.n ? fmt("%.2g", p.noise_floor.median) : std::string("n/a")) << " | " << p.saddles << " / "
       << p.unresolved << " of " << p.retrained << " |\n";
  return md.str();
}
json spread_json(const ex::Spread& s) {
  auto v = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  return {{"n", s.n}, {"undefined", s.undefined}, {"median", v(s.median)}, {"q25", v(s.q25)}, {"q75", v(s.q75)},
          {"ci95", {v(s.ci_low), v(s.ci_high)}}};
}
json spreads_json(const std::vector<ex::SweepPoint>& pts) {
  json out = json::array();
  for (const auto& p : pts) {
    const std::string sweep = ex::sweeps().name(p.sweep);
    out.push_back({{"sweep", sweep}, {sweep, p.x}, {"weight_decay", p.weight_decay}, {"test", ex::test_kinds().name(p.test)}, {"rows", p.rows},
                   {"left_out_unresolved", p.unmeasured}, {"pearson", spread_json(p.pearson)}, {"spearman", spread_json(p.spearman)},
                   {"mean_abs_actual", spread_json(p.mean_abs_actual)}, {"noise_floor", spread_json(p.noise_floor)}, {"saddles", p.saddles},
                   {"unresolved", p.unresolved}, {"retrained", p.retrained}});
  }
  return out;
}
// "top-10 by |Δ̂|", "10 highest-loss rows", "10 random rows": what a row retrains
std::string candidates_text(ex::Candidates c, std::size_t top) {
  const std::string k = std::to_string(top);
  switch (c) {
    case ex::Candidates::TopInfluence: return "top-" + k + " by |predicted Δ|";
    case ex::Candidates::HighestLoss: return k + " highest-loss rows";
    case ex::Candidates::Random: return k + " random rows";
  }
  return k + " rows";
}
void fragility_plot(const RunDir& rd, const std::vector<ex::SweepPoint>& pts, ex::Sweep sweep_kind, const std::string& metric,
                    const std::vector<double>& decays, const std::string& dataset, const std::string& candidates, std::size_t seeds) {
  const bool pearson = metric == "pearson";
  const std::string sweep = ex::sweeps().name(sweep_kind);
  Plot pl{"Influence vs leave-one-out on " + dataset + ": " + (pearson ? "Pearson" : "Spearman") + " against " + sweep + " (" +
              std::to_string(seeds) + (seeds == 1 ? " seed)" : " seeds)"),
          sweep == "depth" ? "hidden layers" : "hidden units",
          std::string(pearson ? "Pearson" : "Spearman") + " (" + candidates + "): median, bars = IQR", {}, false};
  for (double wd : decays)
    for (const ex::TestKind test : {ex::TestKind::Highest, ex::TestKind::Random}) {
      Series se{.label = "λ = " + shortest(wd) + (test == ex::TestKind::Highest ? ", highest-loss test point" : ", random test points"), .line = true};
      for (const auto& p : pts) {
        if (p.sweep != sweep_kind || p.weight_decay != wd || p.test != test) continue;
        const ex::Spread& s = pearson ? p.pearson : p.spearman;
        se.x.push_back(static_cast<double>(p.x)), se.y.push_back(s.median);  // no defined value: NaN, a gap
        se.lo.push_back(s.q25), se.hi.push_back(s.q75);
      }
      if (std::any_of(se.y.begin(), se.y.end(), [](double v) { return std::isfinite(v); })) pl.series.push_back(se);
    }
  write_svg(rd.path(metric + "-vs-" + sweep + ".svg"), pl);
}

// --depths, --widths, --weight-decays, --seeds: the settings swept, each value checked
struct Sweep {
  std::vector<std::size_t> depths, widths;
  std::vector<double> decays;
  std::size_t seeds = 3;
};
Sweep read_sweep(Args& a, const ProblemArgs& pa) {
  Sweep s{a.counts("depths", {1, 2, 3, 4, 6, 8}), a.counts("widths", {5, 10, 25, 50}), a.reals("weight-decays", {0.0, 0.001}),
          a.count("seeds", 3, 1, 1000)};
  if (pa.spec.model != ex::ModelKind::Mlp) throw UsageError("study fragility varies an MLP's depth and width; --model must be mlp");
  if (a.given("hidden")) throw UsageError("--hidden does not apply to study fragility: it sweeps --depths and --widths");
  for (double wd : s.decays)
    if (wd < 0) throw UsageError("--weight-decays: " + shortest(wd) + " is negative");
  for (auto d : s.depths)
    if (d < 1 || d > 64) throw UsageError("--depths: " + std::to_string(d) + " is not in 1..64");
  for (auto w : s.widths)
    if (w < 1 || w > 100000) throw UsageError("--widths: " + std::to_string(w) + " is not in 1..100000");
  return s;
}
}  // namespace

namespace {
// What study fragility reads: the same on rank 0 and, from its settings, on every other rank.
struct FragilityRun {
  Common c;
  ProblemArgs pa;
  ex::FragilityOptions o;
  Sweep sw;
  std::vector<ex::FragilitySetting> settings;
};
FragilityRun read_fragility(Args& a) {
  FragilityRun f;
  f.c = read_common(a, "fragility");
  ex::ProblemSpec def;
  def.max_steps = 3000;
  f.pa = read_problem(a, def, "study fragility trains one model per setting");
  f.o.solver = read_solver(a);
  f.o.retrain = ex::for_problem(read_retrain(a), f.pa.spec);  // each setting's own training again (its seed) in the study
  f.sw = read_sweep(a, f.pa);
  f.o.random_tests = a.count("random-tests", 2);
  f.o.top = a.count("top", 10, 3);
  f.o.candidates = a.choice("candidates", ex::candidate_rules(), ex::Candidates::TopInfluence);
  f.o.params = a.choice("params", ex::param_scopes(), ex::ParamScope::All);
  a.finish("inflab study fragility");
  f.settings = ex::fragility_settings(f.pa.spec, f.sw.depths, f.sw.widths, f.sw.decays, f.sw.seeds);
  return f;
}

// One setting's rows not in `done`, as [{key, cells}] (the CSV line each becomes): what a
// rank computes for one task, and rank 0 for its own. Retraining stays on the calling rank.
json setting_rows(const FragilityRun& f, std::size_t i, const std::set<std::string>& done, const std::function<std::string(const std::string&)>& journal) {
  ex::RetrainRun run;
  run.threads = f.c.threads, run.progress = false;
  const auto rows = ex::fragility_setting(f.pa.spec, f.settings.at(i), f.o, [&](const std::string& k) { return done.count(k) > 0; }, journal, run);
  json out = json::array();
  for (const auto& r : rows) out.push_back({{"key", f.settings[i].key(r.test)}, {"cells", fragility_cells(r, f.o)}});
  return out;
}

// Under mpirun: a study's settings not yet done spread over the ranks, one at a time each
// (rank 0 computes too, in a thread of its own: `local(i)`; the other ranks run
// run_study_task on `payload`). A setting's result is its CSV lines, [{key, cells}];
// `write` gets them in the settings' order, so the CSV is one process's. Returns the number
// of settings each rank computed and its busy seconds.
using RankLoad = std::vector<std::pair<std::size_t, double>>;
RankLoad settings_over_ranks(const std::vector<std::size_t>& pending, const std::string& payload, const std::function<json(std::size_t)>& local,
                             const std::function<void(const json&)>& write, const std::string& csv_path, ex::RemoteWorkers& remote) {
  std::mutex mu;
  std::size_t next = 0, written = 0;
  std::map<std::size_t, json> finished;  // by position in pending, until the ones before it are written
  std::string failure;
  RankLoad busy(remote.ranks(), {0, 0.0});
  const auto take = [&]() -> std::optional<std::size_t> {
    std::lock_guard<std::mutex> lock(mu);
    if (!failure.empty() || next == pending.size() || util::stop_requested()) return std::nullopt;
    return next++;
  };
  const auto store = [&](std::size_t at, json rows, std::size_t rank, double seconds) {
    std::lock_guard<std::mutex> lock(mu);
    finished[at] = std::move(rows);
    busy.at(rank).first += 1, busy.at(rank).second += seconds;
    for (; finished.count(written); ++written) {
      write(finished[written]);
      finished.erase(written);
    }
  };
  const auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    if (failure.empty()) failure = why;
  };
  std::thread own([&] {  // rank 0's own share, journaled in the run directory as a single process would
    while (const auto at = take()) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        json rows = local(pending[*at]);  // before the clock is read (argument order is unspecified)
        store(*at, std::move(rows), 0, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      } catch (const std::exception& e) {
        fail(e.what());
      }
    }
  });
  std::map<std::size_t, std::chrono::steady_clock::time_point> started;  // by task, for the other ranks' busy time
  try {
    remote.serve_tasks(
        payload,
        [&]() -> std::optional<std::size_t> {  // a task is a setting's index; `at` its place in pending
          const auto at = take();
          if (!at) return std::nullopt;
          started[*at] = std::chrono::steady_clock::now();
          return pending[*at];
        },
        [&](std::size_t setting, std::string text) {
          const auto at = static_cast<std::size_t>(std::find(pending.begin(), pending.end(), setting) - pending.begin());
          if (at == pending.size()) throw Error("a rank answered for setting " + std::to_string(setting) + ", which was not asked");
          const json r = json::parse(text);
          store(at, r.at("rows"), r.at("rank").get<std::size_t>(), std::chrono::duration<double>(std::chrono::steady_clock::now() - started.at(at)).count());
        },
        fail);
  } catch (const std::exception& e) {
    fail(std::string("MPI: ") + e.what());
  }
  own.join();
  if (!failure.empty()) throw Error(failure + " (finished settings are in " + csv_path + "; the same command resumes)");
  if (util::stop_requested()) throw Interrupted("study interrupted (finished settings are in " + csv_path + "; the same command resumes)");
  return busy;
}

// What a worker rank needs to compute settings: the command's own settings (as command.txt
// repeats them), its --threads, and the CSV keys already written.
std::string task_payload(const std::string& command, const Args& a, std::size_t threads, const std::set<std::string>& done) {
  std::vector<std::string> tokens = setting_tokens(a.settings());
  tokens.insert(tokens.end(), {"--threads", std::to_string(threads), "--quiet"});
  return json{{"command", command}, {"tokens", tokens}, {"done", done}}.dump();
}

std::string ranks_line(const RankLoad& busy) {
  std::string t;
  for (std::size_t r = 0; r < busy.size(); ++r)
    t += (r ? ", " : "settings over ranks (computed, busy): ") + std::string("rank ") + std::to_string(r) + " " + std::to_string(busy[r].first) + " (" +
         fmt("%.1f", busy[r].second) + " s)";
  return t + "\n";
}
}  // namespace

int run_study_fragility(Args& a) {
  const FragilityRun f = read_fragility(a);
  const auto& [c, pa, o, sw, settings] = f;
  const auto& [depths, widths, decays, seeds] = sw;
  const RunDir rd(c.out, "study fragility", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  std::filesystem::create_directories(rd.path("loo"));
  CsvLog log(rd.path("fragility.csv"), kFragilityColumns, true);
  const auto done = done_keys(log);
  const std::size_t total = settings.size() * (1 + o.random_tests);
  util::Progress prog("fragility", total, !c.quiet);
  prog.skip(done.size());
  if (!done.empty()) say(c, "resumed " + std::to_string(done.size()) + " of " + std::to_string(total) + " rows from " + rd.path("fragility.csv") + "\n");
  ex::RemoteWorkers* remote = mpi::session() ? mpi::session()->remote() : nullptr;
  const auto local = [&](std::size_t i) { return setting_rows(f, i, done, [&](const std::string& k) { return rd.path("loo/" + k + ".jsonl"); }); };
  const auto write = [&](const json& rows) {
    for (const auto& r : rows) log.row(r.at("cells").get<std::vector<std::string>>()), prog.tick(r.at("key").get<std::string>());
  };
  std::string ranks_text;
  if (remote) {
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < settings.size(); ++i) {
      const auto keys = ex::fragility_keys(settings[i], o);
      if (!std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return done.count(k) > 0; })) pending.push_back(i);
    }
    ranks_text = ranks_line(settings_over_ranks(pending, task_payload("study fragility", a, c.threads, done), local, write, rd.path("fragility.csv"), *remote));
  } else {
    for (std::size_t i = 0; i < settings.size(); ++i) write(local(i));
  }
  prog.done();
  const auto rows = read_rows(rd.path("fragility.csv"));
  const std::string md = fragility_markdown(rows);
  write_file(rd.path("fragility.md"), md);
  std::vector<ex::FragilityRecord> records;
  for (const auto& r : rows) records.push_back(fragility_record(r));
  const auto pts = ex::sweep_points(records, decays);
  const std::string smd = spread_markdown(pts);
  write_file(rd.path("fragility-seeds.md"), smd);
  for (const ex::Sweep sweep : {ex::Sweep::Depth, ex::Sweep::Width})
    for (const std::string metric : {"pearson", "spearman"})
      fragility_plot(rd, pts, sweep, metric, decays, pa.spec.dataset, candidates_text(o.candidates, o.top) + (o.params == ex::ParamScope::LastLayer ? ", last layer" : ""), seeds);
  json summary = study_json(pa.spec, o.solver, o.retrain);
  summary.update({{"settings", settings.size()}, {"seeds", seeds}, {"candidates", ex::candidate_rules().name(o.candidates)}, {"params", ex::param_scopes().name(o.params)},
                  {"rows", rows_json(rows)}, {"spread", spreads_json(pts)}});
  rd.write_json("summary.json", summary);
  finish(c, rd, "study fragility: " + std::to_string(rows.size()) + " rows over " + std::to_string(seeds) + (seeds == 1 ? " seed\n" : " seeds\n") +
             ranks_text + smd + "\nEvery row: fragility.md.\n");
  return 0;
}

namespace {
const std::vector<std::string> kGroupsColumns = {"key", "fraction", "size", "kind", "groups", "pearson_first", "pearson_second", "pearson_newton",
                                                 "error_first", "error_second", "error_newton", "converged", "saddles", "solve_warning", "undefined_first",
                                                 "undefined_second"};
const std::vector<std::string> kSelectionColumns = {"key", "fraction", "size", "greedy_first", "greedy_second", "greedy_actual",
                                                    "greedy_status", "selected_first", "selected_second", "selected_actual",
                                                    "selected_status", "common", "greedy_source_rows", "selected_source_rows"};

std::string groups_markdown(const std::vector<Row>& rows, const std::vector<Row>& srows) {
  std::ostringstream md;
  md << "| p | size | groups | kind | Pearson first | second | Newton | rel. error first | second | Newton | saddles | note |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    md << "| " << r.at("fraction") << " | " << r.at("size") << " | " << r.at("groups") << " | " << r.at("kind") << " | " << cell3(r, "pearson_first")
       << " | " << cell3(r, "pearson_second") << " | " << cell3(r, "pearson_newton") << " | " << cell3(r, "error_first") << " | "
       << cell3(r, "error_second") << " | " << cell3(r, "error_newton") << " | " << r.at("saddles") << "/" << r.at("groups") << " | "
       << (r.at("undefined_first").empty() ? "" : "no correlation: " + r.at("undefined_first")) << r.at("solve_warning") << " |\n";
  if (srows.empty()) return md.str();
  md << "\nMost influential group (raise the loss): actual change after retraining\n\n"
     << "| p | size | greedy: first-order Δ | second-order Δ | actual | retrain | second-order selection: first-order Δ | second-order Δ | actual | retrain | rows in common |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : srows)
    md << "| " << r.at("fraction") << " | " << r.at("size") << " | " << fmt("%.4g", num(r, "greedy_first")) << " | "
       << fmt("%.4g", num(r, "greedy_second")) << " | " << fmt("%.4g", num(r, "greedy_actual")) << " | " << r.at("greedy_status") << " | "
       << fmt("%.4g", num(r, "selected_first")) << " | " << fmt("%.4g", num(r, "selected_second")) << " | " << fmt("%.4g", num(r, "selected_actual"))
       << " | " << r.at("selected_status") << " | " << r.at("common") << " |\n";
  return md.str();
}

void groups_plots(const RunDir& rd, const std::vector<Row>& rows, const std::vector<ex::GroupKind>& kinds, const std::string& dataset) {
  for (const std::string metric : {"pearson", "error"}) {
    Plot pl{(metric == "pearson" ? "Pearson of group influence vs retraining (" : "Relative error of group influence (") + dataset + ")",
            "group size as a fraction p of the training set", metric == "pearson" ? "Pearson" : "Σ|predicted − actual| / Σ|actual|", {}, false};
    static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
    for (std::size_t k = 0; k < kinds.size(); ++k)  // a colour per kind; first order solid, second dashed, Newton dotted
      for (const std::string order : {"first", "second", "newton"}) {
        const auto kind = kinds[k];
        Series se{.label = ex::group_kinds().name(kind) + (order == "newton" ? ", Newton step" : ", " + order + " order"), .line = true,
                  .colour = kColours[k % 5], .dashed = order == "second", .dotted = order == "newton"};
        for (const auto& r : rows)
          if (r.at("kind") == ex::group_kinds().name(kind) && std::isfinite(num(r, metric + "_" + order)))
            se.x.push_back(num(r, "fraction")), se.y.push_back(num(r, metric + "_" + order));
        if (!se.x.empty()) pl.series.push_back(se);
      }
    write_svg(rd.path(metric + "-vs-p.svg"), pl);
  }
}
// One group size of the groups study: a row per kind and the selection row, those not done
// before, each appended as it finishes.
struct GroupsStudy {
  const ex::Problem& p;
  const ex::InverseHvp& inv;
  std::size_t t, count;
  std::vector<ex::GroupKind> kinds;
  bool select;
  ex::RetrainProtocol rp;
};
void study_fraction(const GroupsStudy& g, double f, const Common& c, const RunDir& rd, const std::set<std::string>& done, CsvLog& log,
                    CsvLog& sel_log, util::Progress& prog) {
  const auto& [p, inv, t, count, kinds, select, rp] = g;
  const std::size_t n = p.train.size();
  const std::size_t k = ex::group_size(n, f);
  for (const auto kind : kinds) {
    const std::string key = "p" + shortest(f) + "-" + ex::group_kinds().name(kind);
    if (done.count(key)) continue;
    if (const std::string why = ex::groups_unavailable(kind, n, k); !why.empty()) {
      prog.tick("(" + why + ")");
      continue;
    }
    const ex::GroupsRow r = ex::evaluate_group_kind(p, inv, t, f, kind, count, rp, retrain_run(c, rd, "retrain/" + key + ".jsonl", false));
    log.row({key, shortest(f), std::to_string(k), ex::group_kinds().name(kind), std::to_string(r.evaluation.groups.size()),
             CsvLog::cell(r.first.pearson), CsvLog::cell(r.second.pearson), CsvLog::cell(r.newton.pearson), CsvLog::cell(r.first.relative_error),
             CsvLog::cell(r.second.relative_error), CsvLog::cell(r.newton.relative_error), std::to_string(r.retrain.converged),
             std::to_string(r.retrain.saddles), CsvLog::text(r.warning), CsvLog::text(r.first.undefined), CsvLog::text(r.second.undefined)});
    prog.tick(key);
  }
  const std::string key = "p" + shortest(f) + "-select";
  if (!select || done.count(key)) return;
  const auto s = ex::compare_selection(p, inv, t, k, rp, retrain_run(c, rd, "retrain/" + key + ".jsonl", false));
  sel_log.row({key, shortest(f), std::to_string(k), CsvLog::cell(s.selection.greedy_estimate.first_order),
               CsvLog::cell(s.selection.greedy_estimate.second_order), CsvLog::cell(s.greedy.test_loss_change.at(0)), retrain_status(s.greedy),
               CsvLog::cell(s.selection.second_order_estimate.first_order), CsvLog::cell(s.selection.second_order_estimate.second_order),
               CsvLog::cell(s.second_order.test_loss_change.at(0)), retrain_status(s.second_order), std::to_string(s.common),
               source_rows(p.train, s.selection.greedy), source_rows(p.train, s.selection.second_order)});
  prog.tick(key);
}
}  // namespace

int run_study_groups(Args& a) {
  const Common c = read_common(a, "groups");
  ex::ProblemSpec def;
  def.classes = {1, 2};
  def.model = ex::ModelKind::LogReg;
  def.weight_decay = 0.01;
  def.grad_tol = 1e-10;
  const ProblemArgs pa = read_problem(a, def);
  const ex::SolverChoice sc = read_solver(a);
  ex::RetrainProtocol rp = read_retrain(a, 1e-10);
  const std::string spec = a.text("test", "highest");
  const auto fractions = a.reals("fractions", {0.01, 0.05, 0.1, 0.2, 0.3});
  const std::size_t count = a.count("groups", 10, 3);
  const auto kinds = a.choices("kinds", ex::group_kinds(), "random,knn,gradient");
  const bool select = !a.flag("no-select");
  for (double f : fractions)
    if (!(f > 0 && f < 1)) throw UsageError("--fractions: " + shortest(f) + " is not in (0, 1)");
  a.finish("inflab study groups");
  const RunDir rd(c.out, "study groups", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  std::filesystem::create_directories(rd.path("retrain"));
  const ex::Problem p = obtain_problem(pa, !c.quiet);
  rp = ex::for_problem(rp, p.spec);  // loo-cold, unrolled: θ̂'s training, as recorded
  const auto trows = test_rows(spec, p);
  if (trows.size() != 1) throw UsageError("study groups uses one test point; --test " + spec + " gives " + std::to_string(trows.size()));
  const std::size_t t = trows[0], n = p.train.size();
  for (double f : fractions) group_size(n, f, "fractions");  // every size checked before any work
  const ex::CurvatureOperator A(*p.obj, p.train, p.theta);
  const ex::InverseHvp inv(A, sc);
  CsvLog log(rd.path("groups.csv"), kGroupsColumns, true), sel_log(rd.path("selection.csv"), kSelectionColumns, true);
  auto done = done_keys(log);
  for (const auto& k : done_keys(sel_log)) done.insert(k);
  const std::size_t total = fractions.size() * (kinds.size() + (select ? 1 : 0));
  util::Progress prog("groups", total, !c.quiet);
  prog.skip(done.size());
  if (!done.empty()) say(c, "resumed " + std::to_string(done.size()) + " of " + std::to_string(total) + " rows\n");
  const GroupsStudy g{p, inv, t, count, kinds, select, rp};
  for (double f : fractions) study_fraction(g, f, c, rd, done, log, sel_log, prog);
  prog.done();
  const auto rows = read_rows(rd.path("groups.csv")), srows = read_rows(rd.path("selection.csv"));
  const std::string md = groups_markdown(rows, srows);
  write_file(rd.path("groups.md"), md);
  groups_plots(rd, rows, kinds, p.train.name);
  json summary = study_json(pa.spec, sc, rp);
  summary.update({{"problem", problem_json(p)}, {"test_row", t}, {"test_source_row", p.test.source_row(t)}, {"train_rows", n},
                  {"rows", rows_json(rows)}, {"selections", rows_json(srows)}});
  rd.write_json("summary.json", summary);
  finish(c, rd, "study groups on " + p.train.name + " (n = " + std::to_string(n) + ", test row " + std::to_string(t) + ")\n" + md);
  return 0;
}

}  // namespace inflab::cli

namespace inflab::cli {

namespace {
std::vector<std::string> decomposition_columns(const std::vector<ex::BenchEntry>& estimators) {
  std::vector<std::string> c = {"key", "depth", "weight_decay", "seed", "test_row", "test_source_row", "row", "source_row"};
  for (const auto& r : ex::rungs().rows) c.push_back(r.name);
  for (const auto& t : ex::gap_term_names()) c.push_back(t);
  for (const std::string k : {"cold_spread", "cold_converged", "loo_status", "loo_proximal_status", "pbrf_status", "loo_distance", "pbrf_distance",
                              "linear_step", "theta_grad_norm", "theta_converged", "loo_continued", "loo_proximal_continued", "pbrf_continued",
                              "branch_jumps"})
    c.push_back(k);
  for (const auto& e : estimators) c.push_back("estimator:" + e.label);
  c.push_back("warnings");
  return c;
}

ex::DecompositionRecord decomposition_record(const Row& r, const std::vector<ex::BenchEntry>& estimators) {
  ex::DecompositionRecord d;
  d.depth = std::stoul(r.at("depth")), d.seed = std::stoul(r.at("seed"));
  d.weight_decay = num(r, "weight_decay");
  for (std::size_t k = 0; k < ex::kRungs; ++k) d.value[k] = num(r, ex::rungs().rows[k].name);
  for (const auto& e : estimators) d.estimates.push_back(num(r, "estimator:" + e.label));
  d.cold_converged = r.at("cold_converged") == "1";
  for (const char* k : {"loo_status", "loo_proximal_status", "pbrf_status"}) d.not_minima += r.at(k) != "converged";
  const std::string& j = r.at("branch_jumps");  // "unchecked", "none", or the rungs that jumped, ';'-separated
  if (j != "unchecked" && j != "none") d.jumps = 1 + static_cast<std::size_t>(std::count(j.begin(), j.end(), ';'));
  return d;
}

std::string decomposition_markdown(const std::vector<ex::DecompositionPoint>& pts, const std::vector<ex::BenchEntry>& estimators, double mu,
                                   bool continued) {
  std::ostringstream md;
  md << "Each term is a difference of adjacent references for removing one row (docs/influence.md, \"The ladder\"): mean |term| over\n"
     << "the rows (all seeds), and in brackets relative to the mean |loo-cold Δ|. The five add up to loo-cold − estimate (" << estimators.at(0).label
     << "); μ = " << shortest(mu) << ". Terms have signs, so their sizes can add up to more than the gap. Last column: rows whose cold\n"
     << "runs stopped short of the tolerance, and retrains from θ̂ (of 3 per row) that did not end converged at a minimum"
     << (continued ? " / that ended off the branch followed from θ̂ by continuation" : "") << ".\n\n"
     << "| depth | λ | rows (seeds) | mean \\|loo-cold Δ\\| |";
  for (const auto& t : ex::gap_term_names()) md << " " << t << " |";
  md << " \\|loo-cold − estimate\\| | cold short / retrains not at a minimum" << (continued ? " / off the branch" : "") << " |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  auto rel = [](double x, double scale) { return fmt("%.2g", x) + " (" + fmt("%.2f", x / scale) + ")"; };
  for (const auto& p : pts) {
    md << "| " << p.depth << " | " << shortest(p.weight_decay) << " | " << p.rows << " (" << p.seeds << ") | " << fmt("%.2g", p.mean_abs_cold) << " |";
    for (double t : p.mean_abs_term) md << " " << rel(t, p.mean_abs_cold) << " |";
    md << " " << rel(p.mean_abs_gap, p.mean_abs_cold) << " | " << p.cold_unconverged << " / " << p.not_minima
       << (continued ? " / " + std::to_string(p.jumps) : std::string()) << " of " << 3 * p.rows << " |\n";
  }
  md << "\nPearson of each estimator's predicted Δ with each reference over a seed's rows: median over seeds [quartiles]\n"
     << "(a seed whose correlation is undefined is counted in brackets).\n\n| depth | λ | estimator |";
  for (std::size_t k = 0; k + 1 < ex::kRungs; ++k) md << " " << ex::rungs().rows[k].name << " |";
  md << "\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : pts)
    for (std::size_t e = 0; e < estimators.size(); ++e) {
      md << "| " << p.depth << " | " << shortest(p.weight_decay) << " | " << estimators[e].label << " |";
      for (const auto& s : p.pearson[e]) {
        md << " " << (s.n ? fmt("%.3f", s.median) + (s.n > 1 ? " [" + fmt("%.2f", s.q25) + " … " + fmt("%.2f", s.q75) + "]" : "") : "n/a");
        if (s.undefined) md << " (" << s.undefined << " undefined)";
        md << " |";
      }
      md << "\n";
    }
  return md.str();
}

void decomposition_plots(const RunDir& rd, const std::vector<ex::DecompositionPoint>& pts, const std::vector<double>& decays,
                         const std::vector<ex::BenchEntry>& estimators, const std::string& dataset) {
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
  for (double wd : decays) {
    Plot terms{"Where influence's error against cold leave-one-out comes from (" + dataset + ", λ = " + shortest(wd) + ")", "hidden layers",
               "mean |term| / mean |loo-cold Δ|", {}, false};
    for (std::size_t k = 0; k < ex::kGapTerms; ++k) {
      Series se{.label = ex::gap_term_names()[k], .line = true, .colour = kColours[k]};
      for (const auto& p : pts)
        if (p.weight_decay == wd) se.x.push_back(static_cast<double>(p.depth)), se.y.push_back(p.mean_abs_term[k] / p.mean_abs_cold);
      terms.series.push_back(se);
    }
    Series total{.label = "all: |loo-cold − " + estimators.at(0).label + "|", .line = true, .colour = "#444444", .dashed = true};
    for (const auto& p : pts)
      if (p.weight_decay == wd) total.x.push_back(static_cast<double>(p.depth)), total.y.push_back(p.mean_abs_gap / p.mean_abs_cold);
    terms.series.push_back(total);
    write_svg(rd.path("terms-vs-depth-wd" + shortest(wd) + ".svg"), terms);
    Plot corr{"Pearson of " + estimators.at(0).label + " with each reference (" + dataset + ", λ = " + shortest(wd) + ")", "hidden layers",
              "Pearson over the removed rows: median over seeds, bars = IQR", {}, false};
    for (std::size_t k = 0; k + 1 < ex::kRungs; ++k) {
      Series se{.label = ex::rungs().rows[k].name, .line = true, .colour = kColours[k]};
      for (const auto& p : pts) {
        if (p.weight_decay != wd) continue;
        const ex::Spread& s = p.pearson[0][k];
        se.x.push_back(static_cast<double>(p.depth)), se.y.push_back(s.median), se.lo.push_back(s.q25), se.hi.push_back(s.q75);
      }
      corr.series.push_back(se);
    }
    write_svg(rd.path("pearson-vs-depth-wd" + shortest(wd) + ".svg"), corr);
  }
}

struct DecompositionStudy {
  Common c;
  ProblemArgs pa;
  ex::LadderOptions o;
  std::vector<double> decays;
  std::size_t seeds = 3, top = 8;
  std::vector<ex::DecompositionSetting> settings;
};
DecompositionStudy read_decomposition(Args& a) {
  DecompositionStudy d;
  d.c = read_common(a, "decomposition");
  ex::ProblemSpec def;
  def.max_steps = 5000;
  d.pa = read_problem(a, def, "study decomposition trains one model per setting");
  if (d.pa.spec.model != ex::ModelKind::Mlp) throw UsageError("study decomposition varies an MLP's depth; --model must be mlp");
  if (a.given("hidden")) throw UsageError("--hidden does not apply to study decomposition: it sweeps --depths at --width");
  ex::LadderOptions& o = d.o;
  o.estimators = read_bench_entries(a, "ekfac,cg,graddot");
  std::vector<ex::Estimator> chosen;
  for (const auto& e : o.estimators) chosen.push_back(e.estimator);
  ex::EstimatorSettings defaults = ex::benchmark_settings();
  defaults.solver.damping = 1e-3;
  o.settings = read_estimator_settings(a, chosen, EstimatorScope{true, false, true}, defaults);
  o.damping = o.settings.solver.damping;
  o.retrain = read_retrain(a, 1e-10);
  // each rung sets its own target and μ; the defaults are accepted (command.txt repeats every setting)
  if (o.retrain.target != ex::RetrainTarget::Loo || o.retrain.damping != 0)
    throw UsageError(std::string(o.retrain.target != ex::RetrainTarget::Loo ? "--retrain-target" : "--retrain-damping") +
                     " does not apply to study decomposition: each rung sets its own target, and μ is --damping");
  o.cold_histories = a.counts("cold-histories", o.cold_histories);
  o.continuation_steps = a.count("continuation", 4, 0, 1000);
  for (auto h : o.cold_histories)
    if (h == 0 || h > 1000) throw UsageError("--cold-histories: " + std::to_string(h) + " is not in 1..1000");
  const auto depths = a.counts("depths", {1, 2, 3, 4, 6, 8});
  d.decays = a.reals("weight-decays", {0.0, 0.001});
  d.seeds = a.count("seeds", 3, 1, 1000), d.top = a.count("top", 8, 3);
  for (auto dp : depths)
    if (dp < 1 || dp > 64) throw UsageError("--depths: " + std::to_string(dp) + " is not in 1..64");
  for (double wd : d.decays)
    if (wd < 0) throw UsageError("--weight-decays: " + shortest(wd) + " is negative");
  for (double wd : d.decays)
    if (wd + o.damping == 0) throw UsageError("--weight-decays 0 with --damping 0: the PBRF has no minimiser; give --damping μ > 0");
  a.finish("inflab study decomposition");
  for (std::size_t s = 0; s < d.seeds; ++s)
    for (double wd : d.decays)
      for (auto dp : depths) d.settings.push_back({dp, wd, s});
  return d;
}

// Setting i's CSV lines as [{key, cells}]: trains its θ̂, climbs the ladder for its top rows
// (retraining on the calling rank, journaled under `journal` when given).
json decomposition_rows(const DecompositionStudy& d, std::size_t i, const std::string& journal) {
  const ex::DecompositionSetting& s = d.settings.at(i);
  ex::RetrainRun run;
  run.threads = d.c.threads, run.progress = false, run.results_path = journal;
  const ex::DecompositionRun r = ex::decomposition_setting(d.pa.spec, s, d.top, d.o, run);
  const ex::Problem& p = r.problem;
  std::string warnings = r.ladder.linear_warning;
  for (const auto& w : r.ladder.estimator_warnings)
    if (!w.empty()) warnings += (warnings.empty() ? "" : "; ") + w;
  json out = json::array();
  for (const auto& lr : r.ladder.rows) {
    const std::string key = s.key() + "-r" + std::to_string(lr.row);
    std::vector<std::string> cells = {key, std::to_string(s.depth), shortest(s.weight_decay), std::to_string(s.seed),
                                      std::to_string(r.ladder.test_row), std::to_string(p.test.source_row(r.ladder.test_row)), std::to_string(lr.row),
                                      std::to_string(p.train.source_row(lr.row))};
    for (double v : lr.value) cells.push_back(CsvLog::cell(v));
    for (std::size_t k = 0; k < ex::kGapTerms; ++k) cells.push_back(CsvLog::cell(lr.term(k)));
    for (const std::string& v : {CsvLog::cell(lr.cold_spread), std::string(lr.cold_converged ? "1" : "0"), retrain_status(lr.warm),
                                 retrain_status(lr.proximal), retrain_status(lr.pbrf), CsvLog::cell(lr.warm.distance), CsvLog::cell(lr.pbrf.distance),
                                 CsvLog::cell(lr.linear_step), CsvLog::cell(p.fit.grad_norm), std::string(p.fit.converged ? "1" : "0"),
                                 CsvLog::cell(lr.continued[0]), CsvLog::cell(lr.continued[1]), CsvLog::cell(lr.continued[2])})
      cells.push_back(v);
    std::string jumps;
    for (std::size_t k = 0; k < 3; ++k)
      if (lr.jumped[k]) jumps += (jumps.empty() ? "" : ";") + ex::rungs().rows[k + 1].name;
    cells.push_back(d.o.continuation_steps == 0 ? "unchecked" : jumps.empty() ? "none" : jumps);
    for (double v : lr.estimates) cells.push_back(CsvLog::cell(v));
    cells.push_back(CsvLog::text(warnings));
    out.push_back({{"key", key}, {"cells", cells}});
  }
  return out;
}
}  // namespace

int run_study_decomposition(Args& a) {
  const DecompositionStudy d = read_decomposition(a);
  const auto& [c, pa, o, decays, seeds, top, settings] = d;
  const RunDir rd(c.out, "study decomposition", a.settings());
  const blas::ThreadsGuard blas_threads(static_cast<int>(c.threads));
  std::filesystem::create_directories(rd.path("retrain"));
  const auto columns = decomposition_columns(o.estimators);
  CsvLog log(rd.path("decomposition.csv"), columns, true);
  std::set<std::string> done;  // settings with their rows written
  for (const auto& k : log.done_keys()) done.insert(k.substr(0, k.rfind("-r")));
  util::Progress prog("decomposition", settings.size(), !c.quiet);
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < settings.size(); ++i)
    if (!done.count(settings[i].key())) pending.push_back(i);
  const std::size_t resumed = settings.size() - pending.size();
  prog.skip(resumed);
  if (resumed) say(c, "resumed " + std::to_string(resumed) + " of " + std::to_string(settings.size()) + " settings from " + rd.path("decomposition.csv") + "\n");
  const auto local = [&](std::size_t i) { return decomposition_rows(d, i, rd.path("retrain/" + settings[i].key() + "-")); };
  const auto write = [&](const json& rows) {
    for (const auto& r : rows) log.row(r.at("cells").get<std::vector<std::string>>());
    const std::string key = rows.empty() ? "" : rows[0].at("key").get<std::string>();  // "<setting>-r<row>"
    prog.tick(key.substr(0, key.rfind("-r")));  // one tick per setting, as settings are counted
  };
  std::string ranks_text;
  if (ex::RemoteWorkers* remote = mpi::session() ? mpi::session()->remote() : nullptr)
    ranks_text = ranks_line(settings_over_ranks(pending, task_payload("study decomposition", a, c.threads, {}), local, write, rd.path("decomposition.csv"), *remote));
  else
    for (std::size_t i : pending) write(local(i));
  prog.done();
  const auto rows = read_rows(rd.path("decomposition.csv"));
  std::vector<ex::DecompositionRecord> records;
  for (const auto& r : rows) records.push_back(decomposition_record(r, o.estimators));
  const auto pts = ex::decomposition_points(records, o.estimators.size());
  const std::string md = decomposition_markdown(pts, o.estimators, o.damping, o.continuation_steps > 0);
  write_file(rd.path("decomposition.md"), md);
  decomposition_plots(rd, pts, decays, o.estimators, pa.spec.dataset);
  json spec;
  ex::to_json(spec, pa.spec);
  json est = json::array();
  for (const auto& e : o.estimators) est.push_back(e.label);
  rd.write_json("summary.json", {{"base_spec", spec}, {"damping", o.damping}, {"estimators", est}, {"cold_histories", o.cold_histories}, {"continuation_steps", o.continuation_steps},
                                 {"retrain_protocol", ex::protocol_json(o.retrain)}, {"seeds", seeds}, {"top", top}, {"rows", rows_json(rows)}});
  finish(c, rd, "study decomposition: " + std::to_string(rows.size()) + " removed rows over " + std::to_string(settings.size()) + " settings\n" + ranks_text + md +
                    "\nEvery row: decomposition.csv.\n");
  return 0;
}

// A worker rank's share of a study under mpirun: one setting's CSV lines, computed as rank 0
// would (same settings, same --threads), without a journal.
std::string run_study_task(const std::string& payload, std::size_t task) {
  const json p = json::parse(payload);
  const std::string command = p.at("command").get<std::string>();
  Args a(p.at("tokens").get<std::vector<std::string>>());
  json rows;
  if (command == "study fragility") {
    const FragilityRun f = read_fragility(a);
    const blas::ThreadsGuard blas_threads(static_cast<int>(f.c.threads));  // as rank 0 trains and solves: the same bits
    const auto d = p.at("done").get<std::vector<std::string>>();
    rows = setting_rows(f, task, {d.begin(), d.end()}, {});
  } else if (command == "study decomposition") {
    const DecompositionStudy d = read_decomposition(a);
    const blas::ThreadsGuard blas_threads(static_cast<int>(d.c.threads));
    rows = decomposition_rows(d, task, "");
  } else {
    throw Error("no task form for '" + command + "'");
  }
  return json{{"rows", rows}, {"rank", mpi::session() ? mpi::session()->rank() : 0}}.dump();
}

}  // namespace inflab::cli
