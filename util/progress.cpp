#include "util/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace inflab::util {

using Clock = std::chrono::steady_clock;

namespace {
std::function<void(const ProgressEvent&)> g_observer;
}
void set_progress_observer(std::function<void(const ProgressEvent&)> f) { g_observer = std::move(f); }

Progress::Progress(std::string what, std::size_t total, bool enabled)
    : what_(std::move(what)), total_(total), on_(enabled && isatty(STDERR_FILENO)), t0_(Clock::now()) {}

std::string Progress::line(const std::string& what, std::size_t done, std::size_t total, std::size_t skipped,
                           double seconds, const std::string& detail) {
  const std::size_t fresh = done > skipped ? done - skipped : 0;
  const double rate = static_cast<double>(fresh) / std::max(seconds, 1e-9);
  const double left = total > done ? static_cast<double>(total - done) : 0.0;
  const double eta = std::min(left / std::max(rate, 1e-9), 99.0 * 60 + 59);  // mm:ss stays two digits
  char b[128];
  std::snprintf(b, sizeof b, "%s %zu/%zu  %.2f/s  ETA %02d:%02d", what.c_str(), done, total, rate,
                static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  return detail.empty() ? std::string(b) : std::string(b) + "  " + detail;
}

void Progress::draw(const std::string& detail) {
  const auto now = Clock::now();
  const double el = std::chrono::duration<double>(now - t0_).count();
  std::fprintf(stderr, "\r\033[K%s", line(what_, done_, total_, skipped_, el, detail).c_str());
  std::fflush(stderr);
  last_draw_ = now;
  pending_ = false;
}

void Progress::tick(const std::string& detail) {
  ++done_;
  last_detail_ = detail;
  if (g_observer) {
    const auto now = Clock::now();
    if (done_ >= total_ || now - last_notify_ >= std::chrono::milliseconds(100)) {
      last_notify_ = now, notified_ = done_;
      g_observer(ProgressEvent{what_, done_, total_, std::chrono::duration<double>(now - t0_).count(), detail});
    }
  }
  if (!on_) return;
  pending_ = true;
  if (done_ >= total_ || Clock::now() - last_draw_ >= std::chrono::milliseconds(100)) draw(detail);
}

void Progress::skip(std::size_t n) {
  done_ += n;
  skipped_ += n;
}

void Progress::done() {
  if (g_observer && done_ != notified_) {  // the last count, if the throttle held it back
    notified_ = done_;
    g_observer(ProgressEvent{what_, done_, total_, std::chrono::duration<double>(Clock::now() - t0_).count(), last_detail_});
  }
  if (!on_ || done_ == skipped_) return;
  if (pending_) draw(last_detail_);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  on_ = false;  // a second done() prints nothing
}

}  // namespace inflab::util
