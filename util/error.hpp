// The one exception type of inflab (the bottom of the layer table: every folder may use it).
#pragma once
#include <stdexcept>

namespace inflab {

// Every error inflab raises on bad input: the message names the operation and shapes,
// or the file and what is wrong with it.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A setting that cannot hold for this data (a size beyond it, a class it lacks): the caller's
// input, found by the library where only the data can tell. The message begins with the
// setting (--n-train, --classes, …); the CLI exits 2 on it, as for any other bad value.
struct SettingError : Error {
  using Error::Error;
};

// Long work stopped on request (util/stop.hpp) before it finished; results already written stay.
struct Interrupted : Error {
  using Error::Error;
};

}  // namespace inflab
