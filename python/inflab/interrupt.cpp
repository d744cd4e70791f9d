// Ctrl-C during a long call (bindings.hpp, interruptible): a SIGINT handler of our own for
// the call's duration, which only sets flags (async-signal-safe: lock-free atomics).
#include <atomic>
#include <csignal>

#include "bindings.hpp"

namespace inflab::python {
namespace {
std::atomic<bool> g_tripped{false};
unsigned long g_main = 0;
struct sigaction g_previous;

extern "C" void on_sigint(int) {
  g_tripped = true;
  util::request_stop();
}
}  // namespace

void remember_main_thread() { g_main = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>(); }

std::mutex& long_call_lock() {
  static std::mutex m;
  return m;
}

SigintStops::SigintStops() {
  if (PyThread_get_thread_ident() != g_main) return;  // another thread: the main thread's Ctrl-C is Python's
  g_tripped = false;
  struct sigaction mine {};
  mine.sa_handler = on_sigint;
  sigemptyset(&mine.sa_mask);
  if (sigaction(SIGINT, &mine, &g_previous) != 0) return;
  installed_ = true;
  if (g_previous.sa_handler == SIG_IGN) {  // ignored before: stays ignored (rare, so a second call here)
    sigaction(SIGINT, &g_previous, nullptr);
    installed_ = false;
  }
}

SigintStops::~SigintStops() {
  if (installed_) sigaction(SIGINT, &g_previous, nullptr);
}

bool SigintStops::tripped() { return g_tripped; }

}  // namespace inflab::python
