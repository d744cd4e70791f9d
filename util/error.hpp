// The one exception type of inflab (the bottom of the layer table: every folder may use it).
#pragma once
#include <stdexcept>

namespace inflab {

// Every error inflab raises on bad input: the message names the operation and shapes,
// or the file and what is wrong with it.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace inflab
