#include "cli/args.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/format.hpp"

namespace inflab::cli {

Args::Args(const std::vector<std::string>& tokens) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t.rfind("--", 0) != 0 || t.size() == 2) throw UsageError("unexpected argument '" + t + "' (options look like --name value)");
    std::string name = t.substr(2), value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq);
    else if (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) value = tokens[++i];
    else value = "\x01";  // a bare flag
    if (name == "dry-run") {
      if (value != "\x01") throw UsageError("--dry-run takes no value");
      dry_run_ = true;
      continue;
    }
    if (values_.count(name)) throw UsageError("option --" + name + " given twice");
    values_[name] = value;
  }
}

std::string Args::raw(const std::string& name) {
  used_[name] = true;
  const std::string v = values_.at(name);
  if (v == "\x01") throw UsageError("option --" + name + " needs a value");
  return v;
}

std::string Args::text(const std::string& name, const std::string& fallback, const std::vector<std::string>& choices) {
  const std::string v = given(name) ? raw(name) : fallback;
  if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    throw UsageError("--" + name + " '" + v + "' is not one of: " + list);
  }
  settings_[name] = v;
  return v;
}

double Args::real(const std::string& name, double fallback, double min, double max) {
  double v = fallback;
  if (given(name)) {
    const std::string s = raw(name);
    std::size_t end = 0;
    try {
      v = std::stod(s, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    if (end != s.size() || s.empty()) throw UsageError("--" + name + " '" + s + "' is not a number");
  }
  if (!std::isfinite(v) || v < min || v > max)
    throw UsageError("--" + name + " " + shortest(v) + " is out of range [" + shortest(min) + ", " + shortest(max) + "]");
  settings_[name] = v;
  return v;
}

namespace {
std::size_t parse_count(const std::string& name, const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18)
    throw UsageError("--" + name + " '" + s + "' is not a whole number");
  return std::stoull(s);
}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}
}  // namespace

std::size_t Args::count(const std::string& name, std::size_t fallback, std::size_t min, std::size_t max) {
  const std::size_t v = given(name) ? parse_count(name, raw(name)) : fallback;
  if (v < min || v > max)
    throw UsageError("--" + name + " " + std::to_string(v) + " must be in " + std::to_string(min) + ".." +
                     (max == SIZE_MAX ? std::string("") : std::to_string(max)));
  settings_[name] = v;
  return v;
}

std::vector<std::size_t> Args::counts(const std::string& name, const std::vector<std::size_t>& fallback) {
  std::vector<std::size_t> v = fallback;
  if (given(name)) {
    v.clear();
    for (const auto& s : split(raw(name))) v.push_back(parse_count(name, s));
    if (v.empty()) throw UsageError("--" + name + " needs a comma-separated list");
  }
  settings_[name] = v;
  return v;
}

std::vector<double> Args::reals(const std::string& name, const std::vector<double>& fallback) {
  std::vector<double> v = fallback;
  if (given(name)) {
    v.clear();
    for (const auto& s : split(raw(name))) {
      std::size_t end = 0;
      double x = 0;
      try {
        x = std::stod(s, &end);
      } catch (const std::exception&) {
        end = 0;
      }
      if (end != s.size() || s.empty() || !std::isfinite(x)) throw UsageError("--" + name + ": '" + s + "' is not a number");
      v.push_back(x);
    }
    if (v.empty()) throw UsageError("--" + name + " needs a comma-separated list");
  }
  settings_[name] = v;
  return v;
}

bool Args::flag(const std::string& name) {
  settings_[name] = given(name);
  if (!given(name)) return false;
  used_[name] = true;
  if (values_.at(name) != "\x01") throw UsageError("--" + name + " is a flag and takes no value (got '" + values_.at(name) + "')");
  return true;
}

void Args::finish(const std::string& command) const {
  for (const auto& [name, v] : values_)
    if (!used_.count(name)) throw UsageError("unknown option --" + name + " for '" + command + "'");
  if (dry_run_) throw DryRun{settings_};
}

}  // namespace inflab::cli
