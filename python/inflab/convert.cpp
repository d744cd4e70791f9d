#include <algorithm>
#include <cmath>

#include "bindings.hpp"
#include "nn/choices.hpp"

namespace inflab::python {

Tensor to_tensor(const py::handle& obj, const char* name, const std::vector<long>& shape) {
  if (!py::isinstance<py::array>(obj)) throw py::value_error(std::string(name) + " must be a numpy array of float64");
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<double>()))
    throw py::value_error(std::string(name) + " has dtype " + std::string(py::str(a.dtype())) + "; inflab computes in float64 (use .astype(float))");
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " is not C-contiguous (use numpy.ascontiguousarray)");
  bool ok = a.ndim() == static_cast<long>(shape.size());
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || a.shape(static_cast<long>(i)) == shape[i];
  if (!ok) {
    std::string want = "[", got = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + (shape[i] < 0 ? std::string("k") : std::to_string(shape[i]));
    for (long i = 0; i < a.ndim(); ++i) got += (i ? ", " : "") + std::to_string(a.shape(i));
    throw py::value_error(std::string(name) + " has shape " + got + "], expected " + want + "]");
  }
  Shape sh;
  for (long i = 0; i < a.ndim(); ++i) sh.push_back(static_cast<std::size_t>(a.shape(i)));
  Tensor t = Tensor::from_shape(sh);
  const double* src = static_cast<const double*>(a.data());
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(src[i])) throw py::value_error(std::string(name) + " holds a non-finite value at flat index " + std::to_string(i));
    t.data()[i] = src[i];
  }
  return t;
}

Array to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  Array a(shape);
  std::copy(t.data(), t.data() + t.size(), a.mutable_data());
  return a;
}
Array to_numpy(const std::vector<double>& v) {
  Array a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}
py::array_t<long> to_numpy(const std::vector<std::size_t>& v) {
  py::array_t<long> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

influence::EstimatorSettings settings_of(influence::Estimator e, const py::kwargs& kw) {
  const auto& row = influence::row_of(e);
  influence::EstimatorSettings s;
  for (const auto& [k, v] : kw) {
    std::string name = py::str(k);
    for (auto& c : name) c = c == '_' ? '-' : c;
    if (name == "save-steps")
      throw py::value_error("save_steps: TracIn's steps are saved while θ̂ is trained — pass them to the Problem: "
                            "inflab.Problem(optimizer='sgd', epochs=…, save_steps=[…])");
    if (std::find(row.options.begin(), row.options.end(), name) == row.options.end()) {
      std::string who;
      for (const auto& r : influence::estimator_rows())
        if (std::find(r.options.begin(), r.options.end(), name) != r.options.end()) who += (who.empty() ? "" : ", ") + r.name;
      throw py::value_error(std::string(py::str(k)) + " does not apply to method '" + row.name + "'" + (who.empty() ? " (no estimator reads it)" : " (it sets " + who + ")"));
    }
    influence::set_option(s, name, py::isinstance<py::bool_>(v) ? std::string(v.cast<bool>() ? "1" : "0") : std::string(py::str(v)));
  }
  if (row.method) s.solver.method = *row.method;
  std::vector<std::string> given;
  for (const auto& [k, v] : kw) {
    std::string name = py::str(k);
    for (auto& c : name) c = c == '_' ? '-' : c;
    given.push_back(name);
  }
  auto spell = [](std::string o) {
    for (auto& c : o) c = c == '-' ? '_' : c;
    return o;
  };
  if (const std::string why = influence::option_conflict(s, given, spell); !why.empty()) throw py::value_error(why);
  return s;
}

py::dict solve_dict(const influence::SolveResult& r) {
  py::dict d;
  d["method"] = influence::solver_methods().name(r.method);
  d["relative_residual"] = r.rel_residual, d["iterations"] = r.iterations, d["products"] = r.products, d["seconds"] = r.seconds;
  d["negative_eigenvalues"] = r.negative, d["converged"] = r.converged, d["note"] = r.note, d["warning"] = r.warning;
  return d;
}

py::dict scores_dict(const ex::Scores& s) {
  py::dict d;
  d["n"] = s.n, d["pearson"] = s.pearson, d["spearman"] = s.spearman, d["kendall_tau"] = s.kendall_tau;
  d["relative_error"] = s.relative_error, d["signs_agree"] = s.signs_agree, d["undefined"] = s.undefined, d["caveat"] = s.caveat;
  return d;
}

py::dict retrains_dict(const ex::RetrainSummary& r) {
  py::dict d;
  d["jobs"] = r.jobs, d["converged"] = r.converged, d["saddles"] = r.saddles, d["budget"] = r.budget, d["unresolved"] = r.unresolved, d["replayed"] = r.replayed;
  d["resumed"] = r.resumed;
  return d;
}

void warn(const std::string& message) {
  if (PyErr_WarnEx(PyExc_RuntimeWarning, message.c_str(), 2) != 0) throw py::error_already_set();
}

ex::RetrainProtocol retrain_protocol(const std::string& optimizer, double tol, std::size_t max_steps, const std::string& target, double damping) {
  ex::RetrainProtocol r;
  r.optimizer = nn::optimizers().parse(optimizer);
  if (!(tol > 0) && nn::to_tolerance(r.optimizer)) throw py::value_error("retrain_tol must be > 0 for " + optimizer + " (0 is never met)");
  r.grad_tol = tol, r.max_steps = max_steps;
  r.target = ex::retrain_targets().parse(target);
  if (!(damping >= 0) || !std::isfinite(damping)) throw py::value_error("retrain_damping must be a finite number ≥ 0");
  if (damping != 0 && !ex::damped(r.target))
    throw py::value_error("retrain_damping is the proximity damping μ of retrain_target 'loo-proximal' and 'pbrf'; this call retrains '" + target + "'");
  // loo-cold, unrolled train as θ̂ was (experiments::for_problem): a retraining setting would be ignored
  const ex::RetrainProtocol defaults;
  if (ex::from_scratch(r.target) && (r.optimizer != defaults.optimizer || tol != 1e-8 || max_steps != 0))
    throw py::value_error("retrain_target '" + target + "' trains as θ̂ was trained (the problem's optimizer, tolerance, steps); retrain, retrain_tol and retrain_steps do not apply");
  r.damping = damping;
  return r;
}

const Tensor& PyProblem::at(const py::object& theta, Tensor& storage) const {
  if (theta.is_none()) return p->theta;
  storage = to_tensor(theta, "theta", {static_cast<long>(p->theta.size())});
  return storage;
}

}  // namespace inflab::python
