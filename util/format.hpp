// Numbers as people wrote them: the shortest decimal that reads back as the same double
// (0.05 prints "0.05", not 0.050000000000000003), for keys, file names and tables.
#pragma once
#include <charconv>
#include <string>

namespace inflab {

inline std::string shortest(double v) {
  char b[32];
  const auto r = std::to_chars(b, b + sizeof b, v);
  return std::string(b, r.ptr);
}

}  // namespace inflab
