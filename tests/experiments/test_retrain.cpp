// The retraining oracle: leave-one-out ground truth on Iris, identical results for any
// thread count, interruption and resume, and refusing a foreign results file.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "influence/metrics.hpp"
#include "influence/influence.hpp"
#include "experiments/retrain.hpp"
#include "experiments/retrain_jobs.hpp"
#include "influence/unrolled.hpp"
#include "nn/builders.hpp"
#include "tests/datasets/temp_files.hpp"
#include "tests/influence/fixtures.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;
using inflab::test::error_of;

namespace {
struct IrisSoftmax {
  data::Dataset train, test;
  nn::Objective obj{nn::softmax_regression(4, 3), nn::LossKind::CrossEntropy, 0.01};
  Tensor theta;
  IrisSoftmax() {
    const data::TrainTest tt = data::stratified_split(data::load_iris(), 0.2, 4);
    train = tt.train, test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train), s.apply(test);
    nn::TrainOptions o;
    o.optimizer = nn::Optimizer::Lbfgs;
    o.grad_tol = 1e-11;
    o.progress = false;
    theta = nn::train(obj, train, obj.model().init(1), o).theta;
  }
};
bool same(const std::vector<RetrainRecord>& a, const std::vector<RetrainRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].job != b[i].job || a[i].removed != b[i].removed || a[i].test_loss_change != b[i].test_loss_change ||
        a[i].grad_norm != b[i].grad_norm)
      return false;
  return true;
}
}  // namespace

TEST_CASE("leave-one-out on Iris (softmax regression): Pearson(Δ̂, Δ) ≥ 0.99 over 40 points") {
  const IrisSoftmax m;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < 40; ++i) rows.push_back(i * 3);
  const std::size_t t = test::highest_loss_row(m.obj, m.test, m.theta);
  // Newton to 1e-9: on a few of these 40 problems ‖∇R‖ cannot be pushed below ~2e-10 in
  // double precision (Newton stalls there; L-BFGS's line search stalls up to 4e-9, and
  // which problems depends on the last bits of the GEMMs). Δ moves by < 1e-9 below that.
  RetrainProtocol p;
  p.optimizer = nn::Optimizer::Newton;
  p.grad_tol = 1e-9;
  RetrainRun run;
  run.threads = 2;
  run.progress = false;
  const auto rec = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {t}, p, run);
  REQUIRE(rec.size() == 40);
  const CurvatureOperator A(m.obj, m.train, m.theta);
  SolverChoice c;
  c.method = Method::Exact;
  const Influence inf = influence_on_test(A, m.test, {t}, c);
  Tensor pred = zeros({40}), act = zeros({40});
  for (std::size_t i = 0; i < 40; ++i) {
    INFO("job " << i << " ‖∇R‖ " << rec[i].grad_norm << " steps " << rec[i].steps);
    CHECK(rec[i].converged);
    pred(i) = inf.predicted_change(rows[i]);
    act(i) = rec[i].test_loss_change[0];
  }
  const double r = pearson(pred, act);
  MESSAGE("Iris softmax regression, leave-one-out of 40 points: Pearson " << r << ", Spearman " << spearman(pred, act));
  CHECK(r >= 0.99);
}

TEST_CASE("threads do not change results; an interrupted job resumes to the same results") {
  const IrisSoftmax m;
  inflab::test::TempDir t;
  std::vector<std::size_t> rows{0, 5, 9, 17, 33, 40, 51, 60, 77, 90};
  RetrainProtocol p;
  p.grad_tol = 1e-10;
  SUBCASE("L-BFGS") { p.optimizer = nn::Optimizer::Lbfgs; }
  SUBCASE("Newton–CG, preconditioned") {}
  RetrainRun serial;
  serial.progress = false;
  const auto ref = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, serial);
  RetrainRun par = serial;
  par.threads = 2;
  CHECK(same(leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, par), ref));
  // interrupted after 4 jobs, with a torn last line as a crash mid-write would leave
  RetrainRun first = par;
  first.results_path = t.file("loo.jsonl");
  first.stop_after = 4;
  const auto part = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, first);
  CHECK(part.size() == 4);
  std::ofstream(first.results_path, std::ios::app) << "{\"job\": 7, \"removed\": [";
  RetrainRun resume = first;
  resume.stop_after = 0;
  const auto resumed = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, resume);
  CHECK(same(resumed, ref));
  // finished points were read back, not recomputed: their recorded timings are the old ones
  for (const auto& r : part) CHECK(resumed[r.job].seconds == r.seconds);
  // the file now holds the header and exactly one line per job
  std::ifstream in(first.results_path);
  std::size_t lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  CHECK(lines == 1 + rows.size());
  // a rerun has nothing left to do and returns the same
  CHECK(same(leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, resume), ref));
  // a different setting refuses the file and names the setting
  RetrainProtocol other = p;
  other.grad_tol = 1e-6;
  const std::string msg = error_of([&] { leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, other, resume); });
  CHECK(msg.find("'grad_tol'") != std::string::npos);
  CHECK(msg.find("different configuration") != std::string::npos);
  // so does the same inputs with other labels (the test losses would differ)
  data::Dataset relabelled = m.test;
  relabelled.y[0] = (relabelled.y[0] + 1) % 3;
  CHECK(error_of([&] { leave_one_out(m.obj, m.train, relabelled, m.theta, rows, {0, 3}, p, resume); }).find("'test'") !=
        std::string::npos);
  // a record is matched to its job by the rows it removed: a line whose job number names
  // other rows is refused, naming the line; a damaged line makes that job run again
  auto journal = [&] {
    std::ifstream f(first.results_path);
    std::vector<std::string> ls;
    for (std::string l; std::getline(f, l);) ls.push_back(l);
    return ls;
  };
  auto rewrite = [&](const std::vector<std::string>& ls) {
    std::ofstream f(first.results_path, std::ios::trunc);
    for (const auto& l : ls) f << l << "\n";
  };
  const std::vector<std::string> good = journal();
  std::vector<std::string> bad = good;
  const nlohmann::json rec = nlohmann::json::parse(bad[3]);
  nlohmann::json wrong = rec;
  wrong["removed"] = {rows[(rec["job"].get<std::size_t>() + 1) % rows.size()]};
  bad[3] = wrong.dump();
  rewrite(bad);
  const std::string named = error_of([&] { leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, resume); });
  CHECK(named.find("line 4") != std::string::npos);
  CHECK(named.find("does not belong to these jobs") != std::string::npos);
  nlohmann::json damaged = rec;  // a change for one test point of two: a damaged line
  damaged["test_loss_change"] = {rec["test_loss_change"][0]};
  bad[3] = damaged.dump();
  rewrite(bad);
  const auto redone = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, resume);
  CHECK(same(redone, ref));
  std::size_t again = 0;
  for (const auto& r : redone) again += !r.resumed;
  CHECK(again == 1);  // only the damaged job ran again
}

TEST_CASE("a retrain that does not converge says so; bad groups are refused") {
  const IrisSoftmax m;
  RetrainProtocol p;
  p.max_steps = 1;
  RetrainRun run;
  run.progress = false;
  const auto r = leave_one_out(m.obj, m.train, m.test, m.theta, {3}, {0}, p, run);
  CHECK_FALSE(r[0].converged);
  CHECK(r[0].grad_norm > p.grad_tol);
  CHECK(error_of([&] { retrain_groups(m.obj, m.train, m.test, m.theta, {{1, 1}}, {0}, p, run); }).find("twice") != std::string::npos);
  CHECK(error_of([&] { leave_one_out(m.obj, m.train, m.test, m.theta, {3}, {999}, p, run); }).find("test index 999") != std::string::npos);
}

namespace {
// A tanh MLP 4-4-3 on standardised Iris (λ = 0.01) at θ = 0: with W₁ = 0, b₁ = 0, W₂ = 0
// the hidden units are 0 and get no gradient, so retraining moves only the output bias and
// stops, ‖∇R₋U‖ ≤ tol, on the symmetric saddle {W₁ = b₁ = W₂ = 0}: the Hessian's W₁–W₂
// cross block is indefinite and larger than λ.
struct SaddleMlp {
  data::Dataset train, test;
  nn::Objective obj{nn::mlp(4, 1, 4, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.01};
  Tensor theta;
  SaddleMlp() {
    const data::TrainTest tt = data::stratified_split(data::load_iris(), 0.2, 4);
    train = tt.train, test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train), s.apply(test);
    theta = zeros({obj.model().param_count()});
  }
  // Retrain without `row` directly (L-BFGS from θ = 0 to 1e-9) and bound λmin of the dense
  // Hessian there from above by the smallest Rayleigh quotient over (eᵢ ± eⱼ)/√2, i.e.
  // ½(Hᵢᵢ + Hⱼⱼ) − |Hᵢⱼ|: a negative value proves λmin < 0 without any eigensolver.
  double lambda_min_bound_without(std::size_t row) const {
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < train.size(); ++i)
      if (i != row) keep.push_back(i);
    const data::Dataset rest = data::subset(train, keep);
    nn::TrainOptions o;
    o.optimizer = nn::Optimizer::Lbfgs;
    o.grad_tol = 1e-9;
    o.max_steps = 5000;
    o.progress = false;
    const nn::TrainResult tr = nn::train(obj, rest, theta, o);
    REQUIRE(tr.converged);
    const Tensor H = ad::hessian(obj.fn(rest), tr.theta);
    double lo = 1e300;
    for (std::size_t i = 0; i < H.shape(0); ++i)
      for (std::size_t j = 0; j < H.shape(0); ++j)
        if (i != j) lo = std::min(lo, 0.5 * (H(i, i) + H(j, j)) - std::fabs(H(i, j)));
    return lo;
  }
};
RetrainProtocol tight(nn::Optimizer o) {
  RetrainProtocol p;
  p.optimizer = o;
  p.grad_tol = 1e-9;
  p.max_steps = 5000;
  return p;
}
}  // namespace

TEST_CASE("a retrain that stops at a saddle is flagged, by dense eigenvalues and by Lanczos") {
  const SaddleMlp m;
  nn::Optimizer o = nn::Optimizer::Lbfgs;
  SUBCASE("L-BFGS") {}
  SUBCASE("Newton–CG: its Krylov space never leaves the output bias here") { o = nn::Optimizer::NewtonCg; }
  auto tight = [&] { return ::tight(o); };
  RetrainRun run;
  run.progress = false;
  const auto r = leave_one_out(m.obj, m.train, m.test, m.theta, {5}, {0}, tight(), run);
  REQUIRE(r.size() == 1);
  INFO(r[0].status_reason);
  CHECK(r[0].grad_norm <= 1e-9);
  CHECK(r[0].steps > 0);
  CHECK(r[0].saddle);
  CHECK(r[0].status == RetrainStatus::Saddle);
  CHECK_FALSE(r[0].converged);
  CHECK(r[0].lambda_min < -1e-3);
  CHECK(r[0].status_reason.find("saddle") != std::string::npos);
  // independently of the saddle check: the dense Hessian at that θ has a negative Rayleigh quotient
  const double bound = m.lambda_min_bound_without(5);
  MESSAGE("saddle: λmin " << r[0].lambda_min << " (check), Rayleigh-quotient bound " << bound);
  CHECK(bound < 0);
  CHECK(r[0].lambda_min <= bound + 1e-12);
  // the Lanczos path (p above exact_eigen_up_to) finds it too
  RetrainProtocol lz = tight();
  lz.exact_eigen_up_to = 0;
  const auto rl = leave_one_out(m.obj, m.train, m.test, m.theta, {5}, {0}, lz, run);
  CHECK(rl[0].saddle);
  CHECK(rl[0].lambda_min == doctest::Approx(r[0].lambda_min).epsilon(1e-6));
  // skipping the check leaves λmin NaN and the job converged
  RetrainProtocol skip = tight();
  skip.check_saddles = false;
  const auto rs = leave_one_out(m.obj, m.train, m.test, m.theta, {5}, {0}, skip, run);
  CHECK(std::isnan(rs[0].lambda_min));
  CHECK(rs[0].converged);
  CHECK(rs[0].status == RetrainStatus::Converged);
}

TEST_CASE("escape_saddles steps off the saddle and retrains to a point with λmin ≥ −tol") {
  const SaddleMlp m;
  nn::Optimizer o = nn::Optimizer::Lbfgs;
  SUBCASE("L-BFGS") {}
  SUBCASE("Newton–CG") { o = nn::Optimizer::NewtonCg; }
  auto tight = [&] { return ::tight(o); };
  RetrainProtocol p = tight();
  p.escape_saddles = true;
  RetrainRun run;
  run.progress = false;
  const auto r = leave_one_out(m.obj, m.train, m.test, m.theta, {5}, {0}, p, run);
  INFO(r[0].status_reason);
  MESSAGE("escape: " << r[0].escapes << " escapes, λmin " << r[0].lambda_min << ", λmax " << r[0].lambda_max << ", steps " << r[0].steps);
  CHECK(r[0].escapes >= 1);
  CHECK(r[0].escapes <= p.max_escapes);
  CHECK_FALSE(r[0].saddle);
  CHECK(r[0].lambda_min >= -p.saddle_tol * std::max(1.0, std::fabs(r[0].lambda_max)));
  CHECK(r[0].status == RetrainStatus::Converged);
  CHECK(r[0].converged);
  CHECK(r[0].grad_norm <= 1e-9);
  // a lower point than the saddle: the test loss moved (the saddle's Δ is only the bias's)
  const auto at_saddle = leave_one_out(m.obj, m.train, m.test, m.theta, {5}, {0}, tight(), run);
  CHECK(r[0].test_loss_change[0] != at_saddle[0].test_loss_change[0]);
}

TEST_CASE("a retrain that takes 0 steps is unresolved, not converged; statuses survive the journal") {
  const IrisSoftmax m;
  RetrainProtocol p;
  SUBCASE("L-BFGS") { p.optimizer = nn::Optimizer::Lbfgs; }
  SUBCASE("Newton–CG") {}
  p.grad_tol = 0.1;  // θ̂ meets it without any one row
  inflab::test::TempDir t;
  RetrainRun run;
  run.progress = false;
  run.results_path = t.file("loo.jsonl");
  const auto r = leave_one_out(m.obj, m.train, m.test, m.theta, {3, 7}, {0}, p, run);
  for (const auto& x : r) {
    CHECK(x.steps == 0);
    CHECK_FALSE(x.converged);
    CHECK(x.status == RetrainStatus::Unresolved);
    CHECK(x.status_reason.find("lower the retraining tolerance") != std::string::npos);
    CHECK(x.test_loss_change[0] == 0);
  }
  // resume reads status, reason, λmin and the saddle flag back
  const auto again = leave_one_out(m.obj, m.train, m.test, m.theta, {3, 7}, {0}, p, run);
  REQUIRE(again.size() == 2);
  CHECK(again[0].status == RetrainStatus::Unresolved);
  CHECK(again[0].status_reason == r[0].status_reason);
  RetrainProtocol q;
  q.optimizer = p.optimizer;
  q.grad_tol = 1e-9;
  run.results_path = t.file("loo2.jsonl");
  const auto c = leave_one_out(m.obj, m.train, m.test, m.theta, {3}, {0}, q, run);
  CHECK(c[0].status == RetrainStatus::Converged);
  CHECK(c[0].lambda_min > 0);  // softmax regression with λ = 0.01: convex
  const auto c2 = leave_one_out(m.obj, m.train, m.test, m.theta, {3}, {0}, q, run);
  CHECK(c2[0].lambda_min == c[0].lambda_min);
  CHECK(c2[0].lambda_max == c[0].lambda_max);
  CHECK(c2[0].saddle == c[0].saddle);
  CHECK(status_name(RetrainStatus::Budget) == std::string("budget"));
  CHECK(status_from_name("saddle") == RetrainStatus::Saddle);
}

namespace {
// Another process, in this one: each job travels as the wire form MPI sends (encode_jobs →
// DecodedJobs, the record as its journal line), and runs in the fake's own thread.
struct LoopbackWorkers final : RemoteWorkers {
  std::size_t jobs_run = 0;
  bool fail = false;  // the first job it gets "throws on the other rank"
  std::size_t ranks() const override { return 2; }
  void serve(const RetrainJobs& jobs, std::size_t, const std::function<std::optional<std::size_t>()>& next,
             const std::function<void(RetrainRecord)>& finished, const std::function<void(const std::string&)>& failed) override {
    // its first job is taken before the batch is decoded (which rebuilds the preconditioner): a
    // local job takes far longer than that, so the "remote" rank is never left without work
    std::optional<std::size_t> j = next();
    const DecodedJobs remote(encode_jobs(jobs));
    for (; j; j = next()) {
      if (fail) {
        failed("retraining job " + std::to_string(*j) + " failed: injected (on rank 1)");
        continue;
      }
      finished(decode_record(encode_record(run_retrain_job(remote.jobs(), *j))));
      ++jobs_run;
    }
  }
  void serve_tasks(const std::string&, const std::function<std::optional<std::size_t>()>&, const std::function<void(std::size_t, std::string)>&,
                   const std::function<void(const std::string&)>& failed) override {
    failed("tasks are not used by retraining");
  }
};
}  // namespace

TEST_CASE("retraining on remote workers (the MPI path, over its wire form in one process): the same records; a remote failure is an error") {
  const IrisSoftmax m;
  const std::vector<std::size_t> rows = {0, 5, 9, 17, 33, 60};
  const std::size_t t = test::highest_loss_row(m.obj, m.test, m.theta);
  RetrainProtocol p;  // to 1e-8 with the saddle check: λmin/λmax and reasons travel too
  SUBCASE("L-BFGS") { p.optimizer = nn::Optimizer::Lbfgs; }
  SUBCASE("Newton–CG, its preconditioner built again on the other side") {}
  RetrainRun run;
  run.progress = false;
  const auto local = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {t}, p, run);
  // the local thread and the "remote" one race for the queue: a local thread started first can
  // drain it (jobs here take well under a millisecond), so the run is repeated until the remote took one
  LoopbackWorkers remote;
  run.remote = &remote;
  auto spread = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {t}, p, run);
  for (int again = 0; again < 10 && remote.jobs_run == 0; ++again) spread = leave_one_out(m.obj, m.train, m.test, m.theta, rows, {t}, p, run);
  CHECK(remote.jobs_run > 0);
  REQUIRE(spread.size() == local.size());
  CHECK(same(local, spread));
  for (std::size_t i = 0; i < local.size(); ++i) {
    CHECK(spread[i].status == local[i].status);
    CHECK(spread[i].steps == local[i].steps);
    CHECK(spread[i].lambda_min == local[i].lambda_min);
    CHECK(spread[i].status_reason == local[i].status_reason);
  }
  // a job that fails remotely: an error naming it; the finished jobs are in the journal
  const test::TempDir dir;
  remote.fail = true;
  std::string err;
  for (int attempt = 0; attempt < 10 && err.empty(); ++attempt) {  // the same race: until the remote got a job
    run.results_path = dir.file("loo" + std::to_string(attempt) + ".jsonl");
    err = error_of([&] { leave_one_out(m.obj, m.train, m.test, m.theta, rows, {t}, p, run); });
  }
  CHECK(err.find("failed: injected (on rank 1)") != std::string::npos);
  CHECK(err.find(run.results_path) != std::string::npos);
}

TEST_CASE("a retraining batch's wire form: decoded data equal to what was sent; a damaged one is refused") {
  const IrisSoftmax m;
  const std::vector<std::vector<std::size_t>> groups = {{1, 2}, {7}};
  const std::vector<std::size_t> test_rows = {0, 4};
  const std::vector<double> base = {0.25, 1.5};
  const RetrainProtocol p;
  const RetrainJobs jobs{m.obj, m.train, m.test, m.theta, groups, test_rows, p, base};
  const std::string bytes = encode_jobs(jobs);
  const DecodedJobs d(bytes);
  CHECK(data::fingerprint(d.jobs().train) == data::fingerprint(m.train));
  CHECK(d.jobs().train.source_rows == m.train.source_rows);
  CHECK(d.jobs().groups == groups);
  CHECK(d.jobs().base == base);
  CHECK(d.jobs().obj.model().summary() == m.obj.model().summary());
  CHECK(d.jobs().obj.weight_decay() == 0.01);
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 1;  // a bit of the data (the tail is θ̂ and the inputs)
  CHECK(error_of([&] { DecodedJobs x(damaged); }).find("arrived different from what was sent") != std::string::npos);
  CHECK(error_of([&] { DecodedJobs x(bytes.substr(0, bytes.size() - 8)); }).find("truncated") != std::string::npos);
}

TEST_CASE("Newton–CG's preconditioners change the work, not the answer; they travel in the protocol") {
  const IrisSoftmax m;
  const std::vector<std::size_t> rows = {0, 5, 9, 17, 33, 60};
  RetrainProtocol p;
  p.grad_tol = 1e-11;  // strongly convex: one minimiser, reached to 1e-11 by every variant
  RetrainRun run;
  run.progress = false;
  std::vector<std::vector<RetrainRecord>> out;
  for (auto pc : {RetrainPreconditioning::Spectral, RetrainPreconditioning::Ekfac, RetrainPreconditioning::None}) {
    p.preconditioning = pc;
    out.push_back(leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0, 3}, p, run));
    for (const auto& r : out.back()) CHECK(r.converged);
  }
  for (std::size_t v = 1; v < out.size(); ++v)
    for (std::size_t j = 0; j < rows.size(); ++j)
      for (std::size_t t = 0; t < 2; ++t)  // |θ − θ*| ≤ 1e-11/λ = 1e-9: Δ to ~1e-10
        CHECK(out[v][j].test_loss_change[t] == doctest::Approx(out[0][j].test_loss_change[t]).epsilon(1e-6).scale(1e-4));
  // the preconditioner is part of the configuration: a journal written with one refuses another
  const test::TempDir dir;
  run.results_path = dir.file("loo.jsonl");
  p.preconditioning = RetrainPreconditioning::Ekfac;
  leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0}, p, run);
  p.preconditioning = RetrainPreconditioning::Spectral;
  CHECK(error_of([&] { leave_one_out(m.obj, m.train, m.test, m.theta, rows, {0}, p, run); }).find("'preconditioner'") !=
        std::string::npos);
  // and it crosses to other ranks in the wire form
  const std::vector<std::vector<std::size_t>> groups = {{1}};
  const std::vector<std::size_t> test_rows = {0};
  const std::vector<double> base = {0.0};
  p.preconditioning = RetrainPreconditioning::Ekfac;
  p.preconditioner_rank = 7;
  const RetrainJobs jobs{m.obj, m.train, m.test, m.theta, groups, test_rows, p, base};
  const DecodedJobs back(encode_jobs(jobs));
  CHECK(back.jobs().protocol.preconditioning == RetrainPreconditioning::Ekfac);
  CHECK(back.jobs().protocol.preconditioner_rank == 7);
  CHECK(back.jobs().preconditioner != nullptr);
}

TEST_CASE("from scratch: loo-cold on a strongly convex model is warm leave-one-out, and an empty group changes nothing, exactly") {
  const IrisSoftmax m;
  nn::TrainingSpec spec;  // θ̂'s own training: IrisSoftmax trains from init(1)
  spec.optimizer = nn::Optimizer::Newton;
  spec.grad_tol = 1e-10;
  spec.seed = 1;
  RetrainProtocol warm;
  warm.optimizer = nn::Optimizer::Newton;
  warm.grad_tol = 1e-10;
  RetrainProtocol cold = warm;
  cold.target = RetrainTarget::LooCold;
  cold.optimizer = nn::Optimizer::Sgd;  // replaced by θ̂'s training
  cold = for_problem(cold, spec);
  CHECK(cold.optimizer == nn::Optimizer::Newton);
  CHECK(cold.seed == 1);
  CHECK(for_problem(warm, spec).seed == warm.seed);  // from θ̂: the retraining's own protocol
  const std::vector<std::vector<std::size_t>> groups = {{}, {0}, {5}, {10, 11, 12}};
  const std::vector<std::size_t> tests = {0, 4};
  const auto a = retrain_groups(m.obj, m.train, m.test, m.theta, groups, tests, warm);
  const auto b = retrain_groups(m.obj, m.train, m.test, m.theta, groups, tests, cold);
  for (std::size_t t = 0; t < tests.size(); ++t) CHECK(b[0].test_loss_change[t] == 0.0);  // the reference itself, bit for bit
  CHECK(b[0].distance == 0.0);
  for (std::size_t j = 1; j < groups.size(); ++j) {
    CHECK(b[j].status == RetrainStatus::Converged);
    CHECK(b[j].steps > 5);  // from the initialisation, not from θ̂
    for (std::size_t t = 0; t < tests.size(); ++t) {
      CHECK(std::fabs(a[j].test_loss_change[t]) > 1e-5);
      CHECK(std::fabs(b[j].test_loss_change[t] - a[j].test_loss_change[t]) < 1e-7 * std::fabs(a[j].test_loss_change[t]));
    }
  }
  // a reference that does not reach the tolerance is refused: every Δ would be measured from it
  RetrainProtocol short_of = cold;
  short_of.max_steps = 2;
  CHECK(error_of([&] { retrain_groups(m.obj, m.train, m.test, m.theta, groups, tests, short_of); }).find("loo-cold: the full training set") !=
        std::string::npos);
}

TEST_CASE("from scratch: target unrolled replays the sgd run with the rows' weights 0 — what unrolled attribution differentiates") {
  data::Dataset train, test;
  {
    const data::TrainTest tt = data::stratified_split(data::load_iris(), 0.2, 4);
    train = tt.train, test = tt.test;
    const data::Standardizer s = data::Standardizer::fit(train);
    s.apply(train), s.apply(test);
  }
  const nn::Objective obj{nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-3};
  nn::TrainingSpec spec;
  spec.optimizer = nn::Optimizer::Sgd;
  spec.lr = 0.2, spec.batch_size = 30, spec.epochs = 8, spec.seed = 9;
  const TrainingRun run{obj.model().init(spec.seed), nn::train_options(spec, false)};
  const Tensor theta = nn::train(obj, train, run.theta0, run.options).theta;
  RetrainProtocol p;
  p.target = RetrainTarget::Unrolled;
  p = for_problem(p, spec);
  const std::vector<std::size_t> rows = {0, 13, 27, 40, 55, 61, 77, 90, 101, 118};
  const std::size_t t = 3;
  inflab::test::TempDir dir;
  RetrainRun rr;
  rr.progress = false;
  rr.results_path = dir.file("unrolled.jsonl");
  const auto rec = leave_one_out(obj, train, test, theta, rows, {t}, p, rr);
  const Unrolled u = unrolled_attribution(obj, train, test, {t}, run);
  const std::vector<double> ones(train.size(), 1.0);
  const std::size_t steps = nn::planned_steps(run.options, train.size());
  auto loss = [&](const Tensor& th) {
    double l = 0;
    test_loss_gradient(obj, test, {t}, th, &l);
    return l;
  };
  const double base = loss(train_weighted(obj, train, run, ones, steps));
  Tensor predicted = zeros({rows.size()}), actual = zeros({rows.size()});
  for (std::size_t j = 0; j < rows.size(); ++j) {
    CHECK(rec[j].status == RetrainStatus::Replayed);
    CHECK(std::isnan(rec[j].lambda_min));  // a budget run: no minimum to check
    std::vector<double> w = ones;
    w[rows[j]] = 0;
    CHECK(rec[j].test_loss_change[0] == doctest::Approx(loss(train_weighted(obj, train, run, w, steps)) - base).epsilon(1e-12));
    predicted(j) = u.predicted(0, rows[j]), actual(j) = rec[j].test_loss_change[0];
  }
  const double r = pearson(predicted, actual);
  MESSAGE("Pearson(unrolled attribution, replayed run without the row) over 10 rows: " << r);
  CHECK(r > 0.999);
  // the journal keeps the status; a rerun resumes every job
  const auto again = leave_one_out(obj, train, test, theta, rows, {t}, p, rr);
  for (std::size_t j = 0; j < rows.size(); ++j) {
    CHECK(again[j].resumed);
    CHECK(again[j].status == RetrainStatus::Replayed);
    CHECK(again[j].test_loss_change == rec[j].test_loss_change);
  }
  // a model trained to a tolerance has no run to replay
  RetrainProtocol lb;
  lb.target = RetrainTarget::Unrolled;
  CHECK(error_of([&] { leave_one_out(obj, train, test, theta, rows, {t}, lb); }).find("unrolled replays θ̂'s training run") != std::string::npos);
}
