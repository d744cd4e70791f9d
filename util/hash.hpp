// FNV-1a over bytes: fingerprints of data, θ and row lists, so a resumed or reloaded run can
// tell that what it rebuilt is what it saved.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace inflab::util {

inline std::uint64_t fnv1a(const void* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

inline std::string hex(std::uint64_t h) {
  char s[20];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

}  // namespace inflab::util
