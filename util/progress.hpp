// A one-line progress display on stderr: "what done/total  rate/s  ETA mm:ss  detail".
// Shown only when enabled and stderr is a terminal; redrawn at most every 0.1 s (and on
// the last item), so a tick per mini-batch costs nothing noticeable.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace inflab::util {

// What a progress line shows, for an observer that is not a terminal (the Python module's
// progress callback): every Progress reports to it, shown or not, at most every 0.1 s per
// line and on its last item.
struct ProgressEvent {
  std::string what;
  std::size_t done = 0, total = 0;
  double seconds = 0;  // since the line started
  std::string detail;
};
// Installs f (empty: none) for every Progress; set it while no work ticks. f runs on the
// ticking thread.
void set_progress_observer(std::function<void(const ProgressEvent&)> f);

class Progress {
 public:
  Progress(std::string what, std::size_t total, bool enabled);
  void tick(const std::string& detail = "");  // one more item done
  // n items were finished before this run (a resumed run): they count towards done/total
  // but not towards the rate, so the ETA reflects the work still to do at today's speed.
  void skip(std::size_t n);
  void done();  // ends the line (if anything was shown)
  bool shown() const { return on_; }
  std::size_t count() const { return done_; }

  // The text of the line (without "\r" and the clear-line code), for tests.
  static std::string line(const std::string& what, std::size_t done, std::size_t total, std::size_t skipped,
                          double seconds, const std::string& detail);

 private:
  void draw(const std::string& detail);
  std::string what_;
  std::size_t total_, done_ = 0, skipped_ = 0, notified_ = 0;
  bool on_, pending_ = false;  // pending_: the last tick was not drawn yet
  std::string last_detail_;
  std::chrono::steady_clock::time_point t0_, last_draw_, last_notify_;
};

}  // namespace inflab::util
