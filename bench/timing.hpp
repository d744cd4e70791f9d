// Timing for the benchmark programs: the median of repeated runs.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace inflab::bench {

// Runs f at least min_runs times and until budget seconds have passed (at most 200 runs);
// returns the median time in seconds.
template <class F>
double median_seconds(F f, std::size_t min_runs, double budget = 0) {
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  auto since = [](auto a) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count(); };
  do {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(since(a));
  } while (t.size() < min_runs || (since(start) < budget && t.size() < 200));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace inflab::bench
