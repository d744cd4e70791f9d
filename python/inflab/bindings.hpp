// What the module's files share: numpy ↔ Tensor with one ValueError naming a bad argument,
// keyword settings read through the estimator table, the problem handle, and running long
// library calls so that Ctrl-C stops them (KeyboardInterrupt; their journals stay).
#pragma once
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
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
ex::RetrainProtocol retrain_protocol(const std::string& optimizer, double tol, std::size_t max_steps);

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

// Runs f on a thread of its own while this one waits with the GIL released and polls for
// signals: on Ctrl-C it asks the library to stop (util/stop.hpp), waits for f to return
// and raises KeyboardInterrupt.
template <class F>
auto interruptible(F&& f) -> decltype(f()) {
  using R = decltype(f());
  util::clear_stop();
  std::packaged_task<R()> task(std::forward<F>(f));
  std::future<R> done = task.get_future();
  std::thread worker(std::move(task));
  bool interrupted = false;
  for (;;) {
    bool ready;
    {
      py::gil_scoped_release free;
      ready = done.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready;
    }
    if (ready) break;
    if (!interrupted && PyErr_CheckSignals() != 0) interrupted = true, util::request_stop();  // the exception stays set
  }
  worker.join();
  util::clear_stop();
  if (interrupted) {  // KeyboardInterrupt, with the library's words on what was kept
    PyErr_Clear();
    std::string what = "interrupted";
    try {
      (void)done.get();
    } catch (const std::exception& e) {
      what = e.what();
    }
    PyErr_SetString(PyExc_KeyboardInterrupt, what.c_str());
    throw py::error_already_set();
  }
  return done.get();
}

py::class_<PyProblem> bind_problem(py::module_& m);
void bind_evaluations(py::module_& m, py::class_<PyProblem>& problem);

}  // namespace inflab::python
