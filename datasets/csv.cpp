#include "datasets/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <set>

#ifndef INFLAB_DATA_DIR
#define INFLAB_DATA_DIR "data"
#endif

namespace inflab::data {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> f;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      f.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  return f;
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v);
}

constexpr std::size_t kMaxClasses = 100000;

bool parse_index(std::string_view s, std::size_t& v) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
}  // namespace

Dataset parse_csv(std::string_view text, const CsvOptions& opt, const std::string& source) {
  Dataset d;
  d.name = source;
  auto where = [&](std::size_t line, std::size_t col) {
    std::string w = source + ", line " + std::to_string(line);
    if (col) w += ", column " + std::to_string(col);
    return w + ": ";
  };
  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_no;
  {
    std::size_t start = 0, no = 1;
    for (std::size_t i = 0; i <= text.size(); ++i)
      if (i == text.size() || text[i] == '\n') {
        std::string_view l = trim(text.substr(start, i - start));
        if (!l.empty()) {
          lines.push_back(l);
          line_no.push_back(no);
        }
        start = i + 1;
        ++no;
      }
  }
  if (lines.empty()) throw Error(source + ": empty CSV (no rows)");
  std::size_t first = 0;
  const std::size_t width = split_fields(lines[0]).size();
  if (width < 2) throw Error(where(line_no[0], 0) + "needs at least one feature and a label column");
  const long lc = opt.label_column < 0 ? static_cast<long>(width) + opt.label_column : opt.label_column;
  if (lc < 0 || lc >= static_cast<long>(width))
    throw Error(source + ": label column " + std::to_string(opt.label_column) + " out of range for " +
                std::to_string(width) + " columns");
  const std::size_t label_col = static_cast<std::size_t>(lc);
  std::string label_name = "column " + std::to_string(label_col + 1);
  if (opt.header) {
    const auto names = split_fields(lines[0]);
    for (std::size_t c = 0; c < width; ++c)
      if (c != label_col) d.feature_names.emplace_back(names[c]);
    label_name = "'" + std::string(names[label_col]) + "'";
    first = 1;
  }
  const std::size_t n = lines.size() - first;
  if (n == 0) throw Error(source + ": no data rows after the header");
  const std::size_t nf = width - 1;
  d.X = Tensor::from_shape({n, nf});
  std::vector<std::string> raw_labels(n);
  std::vector<double> reg(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto fields = split_fields(lines[first + r]);
    const std::size_t ln = line_no[first + r];
    if (fields.size() != width)
      throw Error(where(ln, 0) + std::to_string(fields.size()) + " fields, expected " +
                  std::to_string(width) + " (as in line " + std::to_string(line_no[0]) + ")");
    std::size_t j = 0;
    for (std::size_t c = 0; c < width; ++c) {
      if (c == label_col) {
        raw_labels[r] = std::string(fields[c]);
        if (opt.regression && !parse_double(fields[c], reg[r]))
          throw Error(where(ln, c + 1) + "target '" + std::string(fields[c]) + "' is not a finite number");
        continue;
      }
      double v;
      if (!parse_double(fields[c], v))
        throw Error(where(ln, c + 1) + "'" + std::string(fields[c]) + "' is not a finite number");
      d.X.data()[r * nf + j++] = v;
    }
  }
  // A header line is required, and a file without one would silently lose its first row:
  // refuse a first line whose features are all numbers and whose label is a number or one
  // of the labels below it — data, not column names.
  if (opt.header) {
    const auto head = split_fields(lines[0]);
    bool numeric = true;
    double v;
    for (std::size_t c = 0; c < width; ++c)
      if (c != label_col && !parse_double(head[c], v)) numeric = false;
    const std::string hl(head[label_col]);
    if (numeric && (parse_double(hl, v) || std::find(raw_labels.begin(), raw_labels.end(), hl) != raw_labels.end()))
      throw Error(where(line_no[0], 0) + "looks like data, not a header (every field is a number or a label); inflab's "
                  "CSVs start with a header line naming the columns — add one, or read the file with header = false");
  }
  if (opt.regression) {
    d.targets = tensor({n}, reg);
    return d;
  }
  // labels: known names/integers, else all integers, else names in sorted order
  bool all_int = true;
  std::size_t max_int = 0;
  for (const auto& s : raw_labels) {
    std::size_t v;
    if (!parse_index(s, v)) all_int = false;
    else max_int = std::max(max_int, v);
  }
  std::map<std::string, std::size_t> by_name;
  if (!opt.class_names.empty()) {
    d.class_names = opt.class_names;
  } else if (all_int) {
    if (max_int >= kMaxClasses)
      throw Error(source + ": integer label " + std::to_string(max_int) + " would mean more than " +
                  std::to_string(kMaxClasses) + " classes (is the label column right?)");
    for (std::size_t c = 0; c <= max_int; ++c) d.class_names.push_back(std::to_string(c));
  } else {
    std::set<std::string> names(raw_labels.begin(), raw_labels.end());
    d.class_names.assign(names.begin(), names.end());
  }
  if (d.class_names.size() < 2 || (opt.class_names.empty() && std::set<std::string>(raw_labels.begin(), raw_labels.end()).size() < 2))
    throw Error(source + ": the label column " + label_name + " has only one class ('" +
                (opt.class_names.size() == 1 ? opt.class_names[0] : raw_labels[0]) +
                "'); a classifier needs at least two");
  // Integer labels are class numbers, so a gap (labels {0, 2}) would be an empty class.
  // Refused rather than renumbered: renumbering would give two files of one problem (a
  // train and a test split, a subset) different numbers for the same label, and class
  // numbers that no longer match the file's. Declared class_names may include absent classes.
  if (opt.class_names.empty() && all_int) {
    std::vector<bool> seen(d.class_names.size(), false);
    for (const auto& s : raw_labels) {
      std::size_t v = 0;
      parse_index(s, v);
      seen[v] = true;
    }
    std::string missing;
    std::size_t n_missing = 0;
    for (std::size_t c = 0; c < seen.size(); ++c)
      if (!seen[c]) {
        if (n_missing < 10) missing += (n_missing ? ", " : "") + std::to_string(c);
        ++n_missing;
      }
    if (n_missing)
      throw Error(source + ": the label column " + label_name + " holds class numbers 0.." + std::to_string(max_int) +
                  " but " + (n_missing > 10 ? std::to_string(n_missing) + " of them never occur (" + missing + ", …)"
                                            : (n_missing == 1 ? "class " : "classes ") + missing + " never " +
                                                  (n_missing == 1 ? "occurs" : "occur")) +
                  "; integer labels must number the classes 0, 1, …, k−1 (renumber them, or name the classes "
                  "with class_names to declare absent ones)");
  }
  for (std::size_t c = 0; c < d.class_names.size(); ++c) by_name[d.class_names[c]] = c;
  for (std::size_t r = 0; r < n; ++r) {
    const auto it = by_name.find(raw_labels[r]);
    std::size_t v;
    if (it != by_name.end()) {
      d.y.push_back(it->second);
    } else if (parse_index(raw_labels[r], v)) {
      if (v >= d.class_names.size())
        throw Error(where(line_no[first + r], label_col + 1) + "label " + raw_labels[r] +
                    " out of range for " + std::to_string(d.class_names.size()) + " classes");
      d.y.push_back(v);
    } else {
      throw Error(where(line_no[first + r], label_col + 1) + "unknown class '" + raw_labels[r] + "'");
    }
  }
  validate(d);
  return d;
}

Dataset read_csv(const std::string& path, const CsvOptions& opt) {
  const auto bytes = read_file(path);
  Dataset d = parse_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), opt, path);
  return d;
}

std::string bundled_data_dir() {
  if (const char* env = std::getenv("INFLAB_DATA")) return env;
  auto holds = [](const std::string& dir) { return static_cast<bool>(std::ifstream(dir + "/iris.csv")); };
  // the source tree's data/ when built there
  if (holds(INFLAB_DATA_DIR)) return INFLAB_DATA_DIR;
  // beside the program: <prefix>/bin/inflab with <prefix>/share/inflab (meson install to any
  // --destdir) or <env>/inflab (pip's wheel puts the tables in the environment's data directory)
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (const char* rel : {"../share/inflab", "../inflab"})
      if (const std::string dir = (exe.parent_path() / rel).lexically_normal().string(); holds(dir)) return dir;
#ifdef INFLAB_INSTALLED_DATA_DIR
  return INFLAB_INSTALLED_DATA_DIR;
#else
  return INFLAB_DATA_DIR;
#endif
}

namespace {
Dataset bundled(const std::string& file, const std::string& name) {
  Dataset d = read_csv(bundled_data_dir() + "/" + file);
  d.name = name;
  return d;
}
}  // namespace

Dataset load_iris() { return bundled("iris.csv", "iris"); }
Dataset load_wine() { return bundled("wine.csv", "wine"); }
Dataset load_breast_cancer() { return bundled("breast_cancer.csv", "breast_cancer"); }
Dataset load_digits() { return bundled("digits.csv.gz", "digits"); }

}  // namespace inflab::data
