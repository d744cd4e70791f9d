// Numbers as people wrote them: the shortest decimal that reads back as the same double
// (0.05 prints "0.05", not 0.050000000000000003), for keys, file names and tables; and a
// number to a few significant digits, for messages.
#pragma once
#include <charconv>
#include <cstdio>
#include <string>

namespace inflab {

inline std::string shortest(double v) {
  char b[32];
  const auto r = std::to_chars(b, b + sizeof b, v);
  return std::string(b, r.ptr);
}

// v to `digits` significant digits ("%.3g"): for messages, where the exact value is not the point.
inline std::string significant(double v, int digits = 3) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

}  // namespace inflab
