#include "util/stop.hpp"

#include <atomic>
#include <string>

namespace inflab::util {
namespace {
std::atomic<bool> stop_flag{false};
}
void request_stop() { stop_flag = true; }
void clear_stop() { stop_flag = false; }
bool stop_requested() { return stop_flag.load(std::memory_order_relaxed); }
void throw_if_stopped(const char* what) {
  if (stop_requested()) throw Interrupted(std::string(what) + " interrupted");
}
}  // namespace inflab::util
