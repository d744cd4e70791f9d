// inflab under mpirun (2 and 3 ranks on this machine, loopback): the same files as one
// process, byte for byte but for timings; a killed worker ends the run with an error, not a
// hang, and the rerun resumes from the journal with another number of ranks.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/cli/run_inflab.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace inflab;
using inflab::test::lines;
using inflab::test::Result;
using inflab::test::run_inflab;
using inflab::test::slurp;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {
std::string mpirun(int ranks) {
  const char* m = std::getenv("MPIRUN");
  REQUIRE_MESSAGE(m != nullptr, "MPIRUN is not set (meson test sets it)");
  return std::string(m) + " -np " + std::to_string(ranks) + " --oversubscribe";
}

// summary.json without its timings (every "seconds" key), which differ run to run
json untimed(json j) {
  if (j.is_object()) {
    j.erase("seconds");
    for (auto& [k, v] : j.items()) v = untimed(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = untimed(v);
  }
  return j;
}

// Every CSV and summary.json of run directory b equals a's (summary.json: but for timings).
void same_results(const std::string& a, const std::string& b) {
  std::size_t csvs = 0;
  for (const auto& e : fs::directory_iterator(a)) {
    if (e.path().extension() != ".csv") continue;
    const std::string name = e.path().filename().string();
    CAPTURE(name);
    CHECK(slurp(b + "/" + name) == slurp(e.path().string()));
    ++csvs;
  }
  CHECK(csvs > 0);
  CHECK(untimed(json::parse(slurp(b + "/summary.json"))) == untimed(json::parse(slurp(a + "/summary.json"))));
}

// The ranks that computed the retraining records in dir's journals (any depth).
std::set<std::size_t> ranks_used(const std::string& dir) {
  std::set<std::size_t> ranks;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".jsonl") continue;
    std::ifstream in(e.path());
    std::string l;
    std::getline(in, l);  // the header
    while (std::getline(in, l)) ranks.insert(json::parse(l).at("rank").get<std::size_t>());
  }
  return ranks;
}

// The pid of the process whose MPI rank is `rank` and whose working directory is dir, or 0.
pid_t rank_pid(int rank, const std::string& dir) {
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (fs::read_symlink(e.path() / "cwd", ec) != fs::path(dir) || ec) continue;
    const std::string env = slurp((e.path() / "environ").string());
    for (std::size_t at = 0; at < env.size(); at = env.find('\0', at) + 1) {
      if (env.compare(at, want.size() + 1, want + '\0') == 0) return static_cast<pid_t>(std::stol(pid));
      if (env.find('\0', at) == std::string::npos) break;
    }
  }
  return 0;
}

template <class Pred>
bool wait_for(Pred done, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// From a study's screen line "settings over ranks (computed, busy): rank 0 K (S s), rank 1 K
// (S s), …": the settings each rank computed.
std::vector<std::size_t> settings_per_rank(const std::string& out) {
  const std::string head = "settings over ranks (computed, busy): ";
  const auto at = out.find(head);
  REQUIRE_MESSAGE(at != std::string::npos, out);
  std::vector<std::size_t> k;
  const std::string line = out.substr(at + head.size(), out.find('\n', at) - at - head.size());
  for (std::size_t r = 0;; ++r) {
    const std::string tag = "rank " + std::to_string(r) + " ";
    const auto p = line.find(tag);
    if (p == std::string::npos) break;
    k.push_back(std::stoul(line.substr(p + tag.size())));
  }
  return k;
}

// `cmd` in one process (in one) and over 2 ranks (in two): the same files, its `settings`
// computed between the two ranks, rank 1 taking at least one.
void spread_over_two(const std::string& cmd, const test::TempDir& one, const test::TempDir& two, std::size_t settings) {
  const Result r1 = run_inflab(one.dir(), cmd + " --quiet");
  REQUIRE_MESSAGE(r1.code == 0, r1.out);
  const Result r = run_inflab(two.dir(), cmd, mpirun(2));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  same_results(one.file("r"), two.file("r"));
  const auto per_rank = settings_per_rank(r.out);
  REQUIRE(per_rank.size() == 2);
  CHECK(per_rank[0] + per_rank[1] == settings);
  CHECK_MESSAGE(per_rank[1] >= 1, r.out);
}
}  // namespace

TEST_CASE("mpirun: every command that retrains writes one process's files, whatever the number of ranks") {
  const std::string logreg = "--dataset iris --classes 1,2 --model logreg --weight-decay 0.01 --grad-tol 1e-10 --quiet";
  const std::vector<std::string> commands = {
      // the Iris MLP: 3 of its 20 retrains end at saddles, so statuses and reasons travel too
      "validate --quiet --top 20",
      "group " + logreg + " --fraction 0.2 --groups 4 --kinds random,knn --select",
      "lds " + logreg + " --subsets 8 --alpha 0.7 --retrain newton --retrain-tol 1e-12",
      "study fragility --quiet --depths 1,2 --widths 4 --width 6 --weight-decays 0.01 --random-tests 1 --top 6 --seeds 2",
      "study groups --quiet --fractions 0.1 --groups 3",
      "study decomposition --quiet --depths 1,2 --width 6 --weight-decays 0.01 --seeds 2 --top 4 --cold-histories 10,5 --estimators cg,graddot",
      "influence " + logreg + " --test 3",  // retrains nothing: the other ranks wait, then stop
  };
  for (const auto& cmd : commands) {
    CAPTURE(cmd);
    const test::TempDir one, two, three;
    const Result r1 = run_inflab(one.dir(), cmd + " --out r");
    REQUIRE_MESSAGE(r1.code == 0, r1.out);
    for (int ranks : {2, 3}) {
      CAPTURE(ranks);
      const test::TempDir& d = ranks == 2 ? two : three;
      const Result r = run_inflab(d.dir(), cmd + " --out r", mpirun(ranks));
      REQUIRE_MESSAGE(r.code == 0, r.out);
      same_results(one.file("r"), d.file("r"));
      CHECK(slurp(d.file("r/index.html")).find("ran on " + std::to_string(ranks) + " MPI ranks × 1 thread") != std::string::npos);
      // which rank computed each record: one of the N (the queue is shared, so which ones
      // depends on timing — tiny jobs may all go to rank 0's own thread)
      const auto used = ranks_used(d.file("r"));
      CHECK((used.empty() || *used.rbegin() < static_cast<std::size_t>(ranks)));
    }
  }
}

TEST_CASE("mpirun: threads inside ranks give what the same --threads gives in one process") {
  // --threads also sets the BLAS threads of θ̂'s training and of the solve, whose sums then
  // round differently: compare with one process at the same --threads
  const test::TempDir one, two;
  const std::string cmd = "validate --quiet --top 20 --threads 2 --out r";
  REQUIRE(run_inflab(one.dir(), cmd).code == 0);
  const Result r = run_inflab(two.dir(), cmd, mpirun(2));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  same_results(one.file("r"), two.file("r"));
  CHECK(slurp(two.file("r/index.html")).find("ran on 2 MPI ranks × 2 threads") != std::string::npos);
  // jobs of 10–50 ms: rank 1's threads join within milliseconds and take some
  CHECK(ranks_used(two.file("r")) == std::set<std::size_t>{0, 1});
}

TEST_CASE("mpirun: a study's settings spread over the ranks — each rank trains and retrains whole settings — with one process's files; "
          "a cut CSV resumes with another number of ranks") {
  const std::string cmd = "study fragility --depths 1,2,3 --widths 4 --width 6 --weight-decays 0.01 --random-tests 1 --top 6 --seeds 3 --out r";
  const test::TempDir one, two;
  spread_over_two(cmd, one, two, 12);  // 12 settings of ~50 ms: rank 1 asks for its first within milliseconds
  // keep the header and the first 5 rows: the rest is computed again over 3 ranks
  std::istringstream in(slurp(two.file("r/fragility.csv")));
  std::string cut, l;
  for (int k = 0; k < 6 && std::getline(in, l); ++k) cut += l + "\n";
  { std::ofstream(two.file("r/fragility.csv")) << cut; }
  const Result again = run_inflab(two.dir(), cmd, mpirun(3));
  REQUIRE_MESSAGE(again.code == 0, again.out);
  CHECK(again.out.find("resumed 5 of 24 rows") != std::string::npos);
  same_results(one.file("r"), two.file("r"));
}

TEST_CASE("mpirun: the decomposition study's settings spread over the ranks too, with one process's files") {
  // 6 settings of ~0.3 s: each trains θ̂, solves and climbs the ladder on the rank that took it
  const std::string cmd = "study decomposition --depths 1,2,3 --width 6 --weight-decays 0.01 --seeds 2 --top 4 --cold-histories 10,5 --estimators cg,graddot --out r";
  const test::TempDir one, two;
  spread_over_two(cmd, one, two, 6);
}

TEST_CASE("mpirun: a killed worker stops the run with an error, not a hang; the rerun resumes with another number of ranks") {
  // digits, a 64-8-10 MLP: 80 leave-one-out retrains of ~0.1 s each
  const std::string cmd = "validate --dataset digits --n-train 200 --width 8 --top 80 --out r";
  const test::TempDir ref, t;
  REQUIRE(run_inflab(ref.dir(), cmd + " --quiet").code == 0);
  const std::string journal = t.file("r/loo.jsonl");
  const std::string launch = "cd '" + t.dir() + "' && (" + mpirun(3) + " '" + test::inflab_bin() + "' " + cmd +
                             " > log 2>&1; echo $? > rc) &";
  REQUIRE(std::system(launch.c_str()) == 0);
  REQUIRE_MESSAGE(wait_for([&] { return fs::exists(journal) && lines(journal) >= 1 + 4; }, 120), slurp(t.file("log")));
  const pid_t worker = rank_pid(2, t.dir());
  REQUIRE(worker > 0);
  REQUIRE(kill(worker, SIGKILL) == 0);
  // mpirun ends every rank and exits non-zero; rank 0 says where the finished jobs are
  REQUIRE_MESSAGE(wait_for([&] { return !slurp(t.file("rc")).empty(); }, 60), "no exit 60 s after a worker was killed");
  CHECK(std::stoi(slurp(t.file("rc"))) != 0);
  const std::string log = slurp(t.file("log"));
  CAPTURE(log);
  CHECK(log.find("rerun the same command") != std::string::npos);
  std::size_t kept = 0;  // complete records (a line torn by the kill is retrained)
  {
    std::ifstream in(journal);
    std::string l;
    std::getline(in, l);
    while (std::getline(in, l)) kept += json::accept(l);
  }
  CHECK(kept >= 4);
  CHECK(kept < 80);
  // the rerun, on 2 ranks, retrains only what is missing and gives the serial files
  const Result again = run_inflab(t.dir(), cmd, mpirun(2));
  REQUIRE_MESSAGE(again.code == 0, again.out);
  CHECK(again.out.find("resumed " + std::to_string(kept) + " of 80 from the journal") != std::string::npos);
  CHECK(slurp(t.file("r/validate.csv")) == slurp(ref.file("r/validate.csv")));
  CHECK(lines(journal) == 1 + 80);
  CHECK(ranks_used(t.file("r")).count(1) == 1);  // the other ranks computed jobs
}
