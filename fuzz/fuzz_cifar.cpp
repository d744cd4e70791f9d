// libFuzzer target: the CIFAR-10 binary parser.
#include <cstdint>

#include "datasets/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto d = inflab::data::parse_cifar10(data, size, "fuzz");
    if (d.size() * inflab::data::kCifarRecord != size) __builtin_trap();
  } catch (const inflab::Error&) {
  }
  return 0;
}
