// Command-line options: `--name value` pairs and bare `--flag`s. Each command asks for the
// options it knows (with defaults and checks); whatever it did not ask for is an unknown
// option. Every resolved value, defaults included, goes into settings() — the exact
// settings a run directory records to repeat the run.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/tensor.hpp"
#include "util/choice.hpp"

namespace inflab::cli {

// Bad usage: unknown command or option, a bad value, conflicting options (exit code 2).
struct UsageError : Error {
  using Error::Error;
};

// --dry-run: the options were read and checked; what the run would record, instead of the run
// (thrown by Args::finish, caught by main: exit 0).
struct DryRun {
  nlohmann::json settings;
};

class Args {
 public:
  // tokens after the command words
  explicit Args(const std::vector<std::string>& tokens);
  std::string text(const std::string& name, const std::string& fallback, const std::vector<std::string>& choices = {});
  double real(const std::string& name, double fallback, double min = -1e300, double max = 1e300);
  std::size_t count(const std::string& name, std::size_t fallback, std::size_t min = 0, std::size_t max = SIZE_MAX);
  std::vector<std::size_t> counts(const std::string& name, const std::vector<std::size_t>& fallback);
  std::vector<double> reals(const std::string& name, const std::vector<double>& fallback);
  bool flag(const std::string& name);  // present or not; never takes a value
  // A value from a choice table; a name not in it is a UsageError listing the table.
  template <class E>
  E choice(const std::string& name, const Choices<E>& table, E fallback) {
    const std::string v = text(name, table.name(fallback));
    if (!table.has(v)) throw UsageError("--" + name + " '" + v + "' is not one of: " + table.names());
    return table.parse(v);
  }
  // A list of names from a choice table, comma-separated.
  template <class E>
  std::vector<E> choices(const std::string& name, const Choices<E>& table, const std::string& fallback) {
    std::vector<E> out;
    const std::string v = text(name, fallback);
    std::size_t start = 0;
    while (start <= v.size()) {
      const std::size_t end = std::min(v.find(',', start), v.size());
      const std::string item = v.substr(start, end - start);
      if (!table.has(item)) throw UsageError("--" + name + ": '" + item + "' is not one of: " + table.names());
      out.push_back(table.parse(item));
      start = end + 1;
    }
    return out;
  }
  bool given(const std::string& name) const { return values_.count(name) > 0; }
  // UsageError naming any option no one asked for; with --dry-run, then throws DryRun.
  void finish(const std::string& command) const;
  const nlohmann::json& settings() const { return settings_; }
  // Leaves an option out of settings() (where it does not change results: --out, --threads).
  void unrecord(const std::string& name) { settings_.erase(name); }

 private:
  std::string raw(const std::string& name);
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
  bool dry_run_ = false;
  nlohmann::json settings_ = nlohmann::json::object();
};

}  // namespace inflab::cli
