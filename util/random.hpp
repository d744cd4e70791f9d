// Portable draws from std::mt19937_64: the standard library's distributions differ between
// implementations, these do not.
#pragma once
#include <cmath>
#include <random>

namespace inflab::util {

inline double uniform(std::mt19937_64& g) { return (static_cast<double>(g() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
inline double normal(std::mt19937_64& g) {  // Box–Muller
  const double u = uniform(g), v = uniform(g);
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
}

}  // namespace inflab::util
