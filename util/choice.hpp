// One table per choice (solver methods, curvature, optimizers, models, activations, group
// kinds): each row a name, its value and one line of help. Parsing, the error for a bad
// name and the help text all come from the table, so a new choice is one new row.
#pragma once
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace inflab {

template <class E>
struct Choice {
  std::string name;
  E value;
  std::string help;
};

template <class E>
struct Choices {
  std::string what;  // e.g. "solver method", used in messages
  std::vector<Choice<E>> rows;

  bool has(const std::string& s) const {
    for (const auto& r : rows)
      if (r.name == s) return true;
    return false;
  }
  // The value named s; std::invalid_argument listing every name otherwise.
  E parse(const std::string& s) const {
    for (const auto& r : rows)
      if (r.name == s) return r.value;
    throw std::invalid_argument("unknown " + what + " '" + s + "' (choose " + names() + ")");
  }
  const std::string& name(E v) const {
    for (const auto& r : rows)
      if (r.value == v) return r.name;
    throw std::logic_error(what + ": a value without a row in its table");
  }
  std::string names(const std::string& sep = ", ") const {
    std::string s;
    for (const auto& r : rows) s += (s.empty() ? "" : sep) + r.name;
    return s;
  }
  // "  name    help" lines, names padded to one column.
  std::string help(const std::string& indent = "    ") const {
    std::size_t w = 0;
    for (const auto& r : rows) w = std::max(w, r.name.size());
    std::string s;
    for (const auto& r : rows) s += indent + r.name + std::string(w + 2 - r.name.size(), ' ') + r.help + "\n";
    return s;
  }
};

}  // namespace inflab
