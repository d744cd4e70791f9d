// What the module's files share: numpy ↔ Tensor with one ValueError naming a bad argument,
// keyword settings read through the estimator table, the problem handle, and running long
// library calls so that Ctrl-C stops them (KeyboardInterrupt; their journals stay).
#pragma once
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "experiments/experiments.hpp"
#include "experiments/problem.hpp"
#include "influence/estimator.hpp"
#include "util/stop.hpp"

namespace inflab::python {
namespace py = pybind11;
namespace ex = inflab::experiments;
using Array = py::array_t<double, py::array::c_style>;

// A float64, C-contiguous, finite array of the given shape (−1: any length there) as a Tensor.
Tensor to_tensor(const py::handle& obj, const char* name, const std::vector<long>& shape);
Array to_numpy(const Tensor& t);
Array to_numpy(const std::vector<double>& v);
py::array_t<long> to_numpy(const std::vector<std::size_t>& v);

// Estimator settings from keyword arguments named as the CLI's options (_ for -); one the
// row does not read is a ValueError naming the rows that read it.
influence::EstimatorSettings settings_of(influence::Estimator e, const py::kwargs& kw);
py::dict solve_dict(const influence::SolveResult& r);
py::dict scores_dict(const ex::Scores& s);
py::dict retrains_dict(const ex::RetrainSummary& r);
// Issues a RuntimeWarning (raising if the warning filter turns it into an error).
void warn(const std::string& message);
// The retraining protocol from keyword-style arguments (as the CLI's --retrain* options).
// target and damping: RetrainProtocol::target and its μ (leave_one_out and lds take them)
ex::RetrainProtocol retrain_protocol(const std::string& optimizer, double tol, std::size_t max_steps, const std::string& target = "loo",
                                     double damping = 0);

// A problem spec from keyword arguments named as problem.json's keys (dataset, model, hidden, …);
// an unknown one is a ValueError listing them.
ex::ProblemSpec spec_of(const py::kwargs& kw);

// The problem a Python Problem holds. Problem and its data keep their addresses (a Trained
// refers to them): held by pointer.
struct PyProblem {
  std::shared_ptr<ex::Problem> p;
  bool from_spec = true;  // built from a dataset spec (not from arrays): calls that rebuild from the spec work
  const Tensor& at(const py::object& theta, Tensor& storage) const;
};

// While alive on Python's main thread, SIGINT (Ctrl-C) asks the library to stop
// (util/stop.hpp) instead of reaching Python's handler, which cannot run before the call
// returns; the previous handler is restored after. Elsewhere, or where SIGINT is ignored, it
// does nothing. (A thread per call instead cost its creation and exit: 0.2 ms, docs/performance.md.)
class SigintStops {
 public:
  SigintStops();
  ~SigintStops();
  SigintStops(const SigintStops&) = delete;
  SigintStops& operator=(const SigintStops&) = delete;
  static bool tripped();  // a SIGINT arrived while the last installed one was alive
  bool installed() const { return installed_; }
 private:
  bool installed_ = false;
};
void remember_main_thread();  // at import: the thread whose calls take Ctrl-C

// progress= of the long calls: True shows the CLI's progress line (on a terminal); a callable
// receives callback(what, done, total, seconds, detail) as the work advances.
struct ProgressArg {
  bool line = false;
  py::object callback = py::none();  // or the callable
};
ProgressArg progress_of(const py::object& progress);

// While alive, every progress line of the library also calls the callback (with the GIL); an
// exception from it asks the library to stop and is raised when the call returns (raise_if_failed).
class ProgressCallback {
 public:
  static bool inside();  // on a thread that is running a callback now (inflab may not be called there)
  explicit ProgressCallback(const py::object& callback);
  ~ProgressCallback();
  ProgressCallback(const ProgressCallback&) = delete;
  ProgressCallback& operator=(const ProgressCallback&) = delete;
  void raise_if_failed();  // with the GIL held
 private:
  bool installed_ = false;
};

// One long call at a time: the stop request, the SIGINT handler and the progress observer are
// the process's (Python threads calling at once wait for each other).
std::mutex& long_call_lock();

// Runs f with the GIL released; on Ctrl-C the library stops at its next check, what it wrote
// (a journal) stays, and KeyboardInterrupt is raised with the library's words on what was kept.
// callback: progress_of's, called as the work advances.
template <class F>
auto interruptible(F&& f, const py::object& callback = py::none()) -> decltype(f()) {
  using R = decltype(f());
  if (ProgressCallback::inside()) throw std::runtime_error("inflab cannot be called from its own progress callback");
  std::unique_lock<std::mutex> one(long_call_lock(), std::try_to_lock);
  if (!one.owns_lock()) {
    py::gil_scoped_release free;  // waiting for another thread's call without holding the GIL
    one.lock();
  }
  util::clear_stop();
  std::optional<R> result;
  std::exception_ptr error;
  ProgressCallback progress(callback);
  bool handled;  // this call took SIGINT (Python's main thread)
  {
    SigintStops ctrl_c;  // restored after the GIL is back (destruction order): no SIGINT falls between
    handled = ctrl_c.installed();
    py::gil_scoped_release free;
    try {
      result.emplace(f());
    } catch (...) {
      error = std::current_exception();
    }
  }
  const bool interrupted = handled && SigintStops::tripped();
  util::clear_stop();
  progress.raise_if_failed();  // the callback's own exception, over the stop it caused
  if (interrupted) {
    std::string what = "interrupted";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    }
    PyErr_SetString(PyExc_KeyboardInterrupt, what.c_str());
    throw py::error_already_set();
  }
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

py::class_<PyProblem> bind_problem(py::module_& m);
void bind_evaluations(py::module_& m, py::class_<PyProblem>& problem);

}  // namespace inflab::python
