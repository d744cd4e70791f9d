// libFuzzer target: the IDX parser must accept or reject any bytes with an inflab::Error,
// never crash, overrun or hang.
#include <cstdint>

#include "datasets/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto a = inflab::data::parse_idx(data, size, "fuzz");
    if (a.values.size() != inflab::numel(a.dims)) __builtin_trap();
  } catch (const inflab::Error&) {
  }
  return 0;
}
