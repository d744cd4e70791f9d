// libFuzzer target: the CSV parser, with and without a header and with known classes.
#include <cstdint>
#include <string_view>

#include "datasets/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  inflab::data::CsvOptions opt;
  opt.header = size % 2 == 0;
  if (size % 3 == 0) opt.class_names = {"a", "b", "c"};
  if (size % 5 == 0) opt.label_column = 0;
  try {
    const auto d = inflab::data::parse_csv(text, opt, "fuzz");
    for (auto y : d.y)
      if (y >= d.num_classes()) __builtin_trap();
  } catch (const inflab::Error&) {
  }
  return 0;
}
