// Helpers shared by the test suites.
#pragma once
#include <cmath>
#include <string>

#include "autodiff/tensor.hpp"

namespace inflab::test {

// The message of the inflab::Error that fn throws, or "" if it throws none.
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ‖a − b‖ / ‖b‖ over all elements.
inline double rel_err(const Tensor& a, const Tensor& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    n += b.data()[i] * b.data()[i];
  }
  return std::sqrt(d) / std::max(std::sqrt(n), 1e-300);
}

}  // namespace inflab::test
