#include "datasets/split.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace inflab::data {

std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 g(seed);
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(g() % i);  // bias < 2⁻⁴⁰ for our sizes
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

namespace {
void need_classes(const Dataset& d, const char* op) {
  if (!d.is_classification())
    throw Error(std::string(op) + ": '" + d.name + "' has no class labels");
}
std::vector<std::vector<std::size_t>> rows_by_class(const Dataset& d) {
  std::vector<std::vector<std::size_t>> r(d.num_classes());
  for (std::size_t i = 0; i < d.size(); ++i) r[d.y[i]].push_back(i);
  return r;
}
}  // namespace

TrainTest stratified_split(const Dataset& d, double test_fraction, std::uint64_t seed) {
  need_classes(d, "stratified_split");
  if (!(test_fraction > 0 && test_fraction < 1))
    throw Error("stratified_split: test fraction must be in (0, 1), got " + std::to_string(test_fraction));
  TrainTest tt;
  const auto by = rows_by_class(d);
  for (std::size_t c = 0; c < by.size(); ++c) {
    if (by[c].empty()) continue;
    const auto perm = permutation(by[c].size(), seed * 1000003 + c);
    std::size_t k = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(by[c].size())));
    k = std::min(k, by[c].size() - 1);
    for (std::size_t i = 0; i < by[c].size(); ++i)
      (i < k ? tt.test_rows : tt.train_rows).push_back(by[c][perm[i]]);
  }
  std::sort(tt.train_rows.begin(), tt.train_rows.end());
  std::sort(tt.test_rows.begin(), tt.test_rows.end());
  tt.train = subset(d, tt.train_rows);
  tt.test = subset(d, tt.test_rows);
  tt.train.name = d.name + "/train";
  tt.test.name = d.name + "/test";
  return tt;
}

Dataset select_classes(const Dataset& d, const std::vector<std::size_t>& classes, bool relabel) {
  need_classes(d, "select_classes");
  if (classes.empty()) throw Error("select_classes: no classes given");
  std::vector<long> map(d.num_classes(), -1);
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i] >= d.num_classes())
      throw Error("select_classes: class " + std::to_string(classes[i]) + " does not exist in '" + d.name +
                  "' (" + std::to_string(d.num_classes()) + " classes)");
    if (map[classes[i]] >= 0) throw Error("select_classes: class " + std::to_string(classes[i]) + " listed twice");
    map[classes[i]] = static_cast<long>(i);
  }
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (map[d.y[i]] >= 0) rows.push_back(i);
  Dataset out = subset(d, rows);
  if (relabel) {
    for (auto& l : out.y) l = static_cast<std::size_t>(map[l]);
    std::vector<std::string> names;
    for (auto c : classes) names.push_back(d.class_names[c]);
    out.class_names = names;
  }
  return out;
}

Dataset per_class(const Dataset& d, std::size_t n, std::uint64_t seed) {
  need_classes(d, "per_class");
  const auto by = rows_by_class(d);
  std::vector<std::size_t> rows;
  for (std::size_t c = 0; c < by.size(); ++c) {
    if (by[c].size() < n)
      throw Error("per_class: class " + std::to_string(c) + " ('" + d.class_names[c] + "') of '" + d.name +
                  "' has " + std::to_string(by[c].size()) + " rows, fewer than " + std::to_string(n));
    const auto perm = permutation(by[c].size(), seed * 1000003 + c);
    for (std::size_t i = 0; i < n; ++i) rows.push_back(by[c][perm[i]]);
  }
  std::sort(rows.begin(), rows.end());
  return subset(d, rows);
}

Dataset first_n(const Dataset& d, std::size_t n) {
  if (n > d.size())
    throw Error("first_n: asked for " + std::to_string(n) + " rows of '" + d.name + "', which has " +
                std::to_string(d.size()));
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = i;
  return subset(d, rows);
}

void for_row_batches(const Dataset& d, std::size_t size, const std::function<void(std::size_t, const Dataset&)>& f) {
  const std::size_t n = d.size(), bs = size ? std::min(size, n) : n;
  if (bs == n) return f(0, d);
  for (std::size_t start = 0; start < n; start += bs) {
    std::vector<std::size_t> rows;
    for (std::size_t i = start; i < std::min(n, start + bs); ++i) rows.push_back(i);
    f(start, subset(d, rows));
  }
}

Dataset random_n(const Dataset& d, std::size_t n, std::uint64_t seed) {
  if (n > d.size())
    throw Error("random_n: asked for " + std::to_string(n) + " rows of '" + d.name + "', which has " +
                std::to_string(d.size()));
  auto perm = permutation(d.size(), seed);
  perm.resize(n);
  return subset(d, perm);
}

}  // namespace inflab::data
