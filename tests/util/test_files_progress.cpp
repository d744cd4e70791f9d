// util/: atomic writes (content, no temporary left, errors naming the path) and the
// progress line's arithmetic (rate and ETA, resumed work not counted in the rate).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/datasets/temp_files.hpp"
#include "tests/test_util.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"

using namespace inflab;
namespace fs = std::filesystem;

TEST_CASE("write_file_atomic replaces the file whole and leaves no temporary") {
  inflab::test::TempDir t;
  const std::string p = t.file("out.jsonl");
  util::write_file_atomic(p, "old\n");
  util::write_file_atomic(p, std::string("new\0bytes\n", 10));
  std::ifstream in(p, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), {});
  CHECK(got == std::string("new\0bytes\n", 10));
  CHECK(util::temp_name_for(p) == p + ".tmp-" + std::to_string(getpid()));
  for (const auto& e : fs::directory_iterator(t.dir())) CHECK(e.path().filename() == "out.jsonl");
}

TEST_CASE("write_file_atomic and rename_into_place: errors name the path") {
  inflab::test::TempDir t;
  const std::string p = t.file("no/such/dir/out.txt");
  std::string msg = inflab::test::error_of([&] { util::write_file_atomic(p, "x"); });
  CHECK(msg.find("cannot write '" + p + "'") == 0);
  // a directory in the way: the rename fails, and the temporary is removed
  fs::create_directories(t.file("taken/sub"));
  msg = inflab::test::error_of([&] { util::write_file_atomic(t.file("taken"), "x"); });
  CHECK(msg.find("cannot write '" + t.file("taken") + "'") == 0);
  CHECK(msg.find("renaming") != std::string::npos);
  CHECK_FALSE(fs::exists(util::temp_name_for(t.file("taken"))));
}

TEST_CASE("Progress: done/total, rate, ETA mm:ss; skipped work does not count in the rate") {
  CHECK(util::Progress::line("retrain", 5, 20, 0, 10.0, "") == "retrain 5/20  0.50/s  ETA 00:30");
  // 10 jobs done before a resume, 5 fresh ones in 10 s: rate 0.5/s, 5 left → 10 s
  CHECK(util::Progress::line("retrain", 15, 20, 10, 10.0, "job 7") == "retrain 15/20  0.50/s  ETA 00:10  job 7");
  CHECK(util::Progress::line("sgd step", 1, 1000, 0, 1.0, "") == "sgd step 1/1000  1.00/s  ETA 16:39");
  // an ETA beyond 99:59 is capped, the line keeps its width
  CHECK(util::Progress::line("x", 1, 1000000, 0, 10.0, "") == "x 1/1000000  0.10/s  ETA 99:59");
  util::Progress p("quiet", 3, false);  // disabled: counts, prints nothing
  p.skip(1);
  p.tick();
  p.done();
  CHECK(p.count() == 2);
  CHECK_FALSE(p.shown());
}
