// progress= as a callable: the library's progress lines (util/progress.hpp) forwarded to it.
// It runs on whichever thread ticks (the library's work runs with the GIL released), so it
// takes the GIL; if it raises, the library is asked to stop and the exception is raised when
// the call returns.
#include <mutex>
#include <optional>

#include "bindings.hpp"
#include "util/progress.hpp"

namespace inflab::python {
namespace {
std::mutex g_lock;  // one tick at a time into Python (retraining ticks from its workers)
std::optional<py::error_already_set> g_failed;
thread_local bool g_inside = false;
}  // namespace

bool ProgressCallback::inside() { return g_inside; }

ProgressArg progress_of(const py::object& progress) {
  ProgressArg a;
  if (progress.is_none()) return a;
  if (py::isinstance<py::bool_>(progress)) {
    a.line = progress.cast<bool>();
    return a;
  }
  if (!PyCallable_Check(progress.ptr()))
    throw py::value_error("progress must be True, False or a callable (what, done, total, seconds, detail)");
  a.callback = progress;
  return a;
}

ProgressCallback::ProgressCallback(const py::object& callback) {
  if (!callback || callback.is_none()) return;
  g_failed.reset();
  util::set_progress_observer([callback](const util::ProgressEvent& e) {
    const std::lock_guard<std::mutex> one(g_lock);
    if (g_failed) return;
    py::gil_scoped_acquire gil;
    g_inside = true;
    try {
      callback(e.what, e.done, e.total, e.seconds, e.detail);
      g_inside = false;
    } catch (py::error_already_set& err) {
      g_inside = false;
      g_failed.emplace(std::move(err));
      util::request_stop();
    } catch (const std::exception& err) {  // e.g. a conversion: raised as a RuntimeError
      g_inside = false;
      PyErr_SetString(PyExc_RuntimeError, (std::string("progress callback: ") + err.what()).c_str());
      g_failed.emplace();
      util::request_stop();
    }
  });
  installed_ = true;
}

ProgressCallback::~ProgressCallback() {
  if (installed_) util::set_progress_observer({});
}

void ProgressCallback::raise_if_failed() {
  if (!installed_ || !g_failed) return;
  util::set_progress_observer({});
  installed_ = false;
  py::error_already_set err = std::move(*g_failed);
  g_failed.reset();
  throw err;
}

}  // namespace inflab::python
