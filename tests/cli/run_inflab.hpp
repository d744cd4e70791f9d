// Running the inflab binary from a test (its path comes from the build: INFLAB_BIN) and
// reading what it wrote.
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace inflab::test {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

inline std::string inflab_bin() {
  const char* bin = std::getenv("INFLAB_BIN");
  REQUIRE_MESSAGE(bin != nullptr, "INFLAB_BIN is not set (meson test sets it)");
  return bin;
}

// Runs `launcher 'inflab' args` in dir; launcher is e.g. "" or "mpirun -np 2".
inline Result run_inflab(const std::string& dir, const std::string& args, const std::string& launcher = "") {
  const std::string cmd = "cd '" + dir + "' && " + launcher + (launcher.empty() ? "'" : " '") + inflab_bin() + "' " + args + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t k; (k = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, k);
  const int st = pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline nlohmann::json summary(const std::string& path) { return nlohmann::json::parse(slurp(path)); }
inline std::size_t lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string l; std::getline(in, l);) n += !l.empty();
  return n;
}

}  // namespace inflab::test
