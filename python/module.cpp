// The Python module `inflab` (pybind11): the library layer — a problem from the same spec as
// the CLI, θ as a flat float64 array (layout: docs/nn.md), its derivatives and their checks,
// every row of the estimator table, and leave-one-out retraining as ground truth. Values are
// numpy float64 in Δ̂'s sign and units (docs/conventions.md); settings are keyword arguments
// named as the CLI's options (damping, tol, max_iterations, …). Bad input is a ValueError
// naming the argument; a solve that cannot be trusted is a Python warning and is on the result.
#include <cmath>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "autodiff/functional.hpp"
#include "experiments/experiments.hpp"
#include "experiments/problem.hpp"
#include "influence/estimator.hpp"
#include "nn/choices.hpp"

namespace py = pybind11;
using namespace inflab;
namespace ex = inflab::experiments;

namespace {
using Array = py::array_t<double, py::array::c_style>;

// A float64 array of the given shape (−1: any length there), finite, as a Tensor (one copy).
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

// The estimator settings from keyword arguments named as the CLI's options (_ for -); an
// argument the chosen row does not read is a ValueError naming the rows that read it.
influence::EstimatorSettings settings_of(influence::Estimator e, const py::kwargs& kw) {
  const auto& row = influence::row_of(e);
  influence::EstimatorSettings s;
  for (const auto& [k, v] : kw) {
    std::string name = py::str(k);
    for (auto& c : name) c = c == '_' ? '-' : c;
    if (name == "save-steps")
      throw py::value_error("save_steps: TracIn's steps are saved when training; this Problem trains to a tolerance (no learning-rate steps), "
                            "so tracin is not available from Python yet");
    if (std::find(row.options.begin(), row.options.end(), name) == row.options.end()) {
      std::string who;
      for (const auto& r : influence::estimator_rows())
        if (std::find(r.options.begin(), r.options.end(), name) != r.options.end()) who += (who.empty() ? "" : ", ") + r.name;
      throw py::value_error(std::string(py::str(k)) + " does not apply to method '" + row.name + "'" + (who.empty() ? " (no estimator reads it)" : " (it sets " + who + ")"));
    }
    influence::set_option(s, name, py::isinstance<py::bool_>(v) ? std::string(v.cast<bool>() ? "1" : "0") : std::string(py::str(v)));
  }
  if (row.method) s.solver.method = *row.method;
  return s;
}

py::dict solve_dict(const influence::SolveResult& r) {
  py::dict d;
  d["method"] = influence::solver_methods().name(r.method);
  d["relative_residual"] = r.rel_residual, d["iterations"] = r.iterations, d["products"] = r.products, d["seconds"] = r.seconds;
  d["negative_eigenvalues"] = r.negative, d["converged"] = r.converged, d["note"] = r.note, d["warning"] = r.warning;
  return d;
}

// Problem and its data keep their addresses (Trained refers to them): held by pointer.
struct PyProblem {
  std::shared_ptr<ex::Problem> p;

  const Tensor& at(const py::object& theta, Tensor& storage) const {
    if (theta.is_none()) return p->theta;
    storage = to_tensor(theta, "theta", {static_cast<long>(p->theta.size())});
    return storage;
  }
  double value(const py::object& theta) const {
    Tensor s;
    return ad::Recording(p->obj->fn(p->train), at(theta, s)).scalar_value();
  }
  Array gradient(const py::object& theta) const {
    Tensor s;
    return to_numpy(ad::Recording(p->obj->fn(p->train), at(theta, s)).grad());
  }
  Array hvp(const py::handle& v, const py::object& theta) const {
    Tensor s;
    const long P = static_cast<long>(p->theta.size());
    const bool many = py::isinstance<py::array>(v) && py::reinterpret_borrow<py::array>(v).ndim() == 2;
    const Tensor V = many ? to_tensor(v, "v", {-1, P}) : to_tensor(v, "v", {P});
    return to_numpy(ad::Recording(p->obj->fn(p->train), at(theta, s)).hvp(V));
  }
  Array hessian(const py::object& theta) const {
    Tensor s;
    return to_numpy(ad::hessian(p->obj->fn(p->train), at(theta, s)));
  }
  py::dict check(const py::object& theta, std::uint64_t seed) const {
    Tensor st;
    const Tensor& th = at(theta, st);
    const ad::Fn f = p->obj->fn(p->train);
    const std::size_t P = th.size();
    const Tensor u = ad::random_normal({P}, seed + 11), v = ad::random_normal({P}, seed + 12);
    const auto g = ad::check_gradient(f, th, seed + 1);
    const auto h = ad::check_hvp(f, th, v);
    const auto sy = ad::check_symmetry(f, th, u, v);
    const double f0 = ad::Recording(f, th).scalar_value();
    const auto t = ad::taylor_test(f, th, v, 1e-2, 10, 2 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(f0)), 3);
    py::dict d;
    d["gradient_error"] = norm2(g.ad - g.fd) / std::max(norm2(g.fd), 1.0);
    d["hvp_error"] = h.rel_err, d["hvp_fd_uncertainty"] = h.fd_uncertainty;
    d["symmetry"] = sy.rel_diff;
    d["taylor_order1"] = t.order1, d["taylor_order2"] = t.order2;
    d["taylor_order1_inconclusive"] = t.r1_at_noise, d["taylor_order2_inconclusive"] = t.r2_at_noise;
    d["eps"] = t.eps, d["remainder1"] = t.r1, d["remainder2"] = t.r2, d["floor1"] = t.floor1, d["floor2"] = t.floor2;
    return d;
  }
  // θ from a PyTorch module with this model's layers: its state_dict, in order, must name
  // and shape exactly this model's parameters (PyTorch's layout is inflab's, docs/nn.md)
  Array theta_from_torch(const py::object& module) const {
    static const std::vector<std::string> layers = {"Sequential", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Tanh",
                                                    "ReLU",       "Sigmoid", "Softplus", "ELU",     "SELU",     "GELU"};
    if (!py::hasattr(module, "state_dict") || !py::hasattr(module, "modules")) throw py::value_error("module is not a torch.nn.Module");
    for (const py::handle m : module.attr("modules")()) {
      const std::string kind = py::str(m.attr("__class__").attr("__name__"));
      if (std::find(layers.begin(), layers.end(), kind) == layers.end())
        throw py::value_error("module holds a " + kind + " layer, which inflab does not have (it has Linear, Conv2d, pooling, Flatten and activations)");
    }
    const auto& params = p->obj->model().params();
    const py::list items = module.attr("state_dict")().attr("items")();
    if (items.size() != params.size())
      throw py::value_error("module has " + std::to_string(items.size()) + " parameter tensors, this model " + std::to_string(params.size()) + " (" +
                            p->description + ")");
    Tensor theta = zeros({p->theta.size()});
    for (std::size_t k = 0; k < params.size(); ++k) {
      const py::tuple kv = items[k];
      const std::string name = py::str(kv[0]);
      const py::object t = kv[1].attr("detach")().attr("cpu")().attr("double")().attr("contiguous")().attr("numpy")();
      const py::array a = t;
      Shape sh;
      for (long i = 0; i < a.ndim(); ++i) sh.push_back(static_cast<std::size_t>(a.shape(i)));
      if (name != params[k].name || sh != params[k].shape)
        throw py::value_error("module's parameter " + std::to_string(k) + " is " + name + " " + shape_str(sh) + ", this model's is " + params[k].name +
                              " " + shape_str(params[k].shape));
      const Tensor v = to_tensor(t, ("module's " + name).c_str(), std::vector<long>(a.shape(), a.shape() + a.ndim()));
      std::copy(v.data(), v.data() + v.size(), theta.data() + params[k].offset);
    }
    return to_numpy(theta);
  }
  // the training (or test) rows as the model sees them: X [n, …] (standardised or scaled), labels [n]
  py::tuple data(bool train) const {
    const data::Dataset& d = train ? p->train : p->test;
    std::vector<long> y(d.y.begin(), d.y.end());
    return py::make_tuple(to_numpy(d.X), py::array_t<long>(static_cast<py::ssize_t>(y.size()), y.data()));
  }
  py::dict influence(const std::vector<std::size_t>& test_rows, const std::string& method, const py::kwargs& kw) const {
    const auto e = influence::estimators().parse(method);
    const auto s = settings_of(e, kw);
    const influence::Estimate est = influence::estimate(e, ex::trained(*p, false), test_rows, s);
    py::dict d;
    const auto& row = influence::row_of(e);
    d["values"] = to_numpy(est.predicted);
    d["quantity"] = row.quantity, d["units"] = row.units, d["description"] = est.description, d["seconds"] = est.seconds;
    py::list solves, warnings;
    for (std::size_t j = 0; j < est.solves.size(); ++j) {
      solves.append(solve_dict(est.solves[j]));
      if (!est.solves[j].warning.empty()) {
        const std::string w = "test row " + std::to_string(test_rows.at(j)) + ": " + est.solves[j].warning;
        warnings.append(w);
        if (PyErr_WarnEx(PyExc_RuntimeWarning, w.c_str(), 1) != 0) throw py::error_already_set();
      }
    }
    d["solves"] = solves, d["warnings"] = warnings;
    return d;
  }
  Array self_influence(const std::string& method, const py::kwargs& kw) const {
    const auto e = influence::estimators().parse(method);
    return to_numpy(influence::self_influence(e, ex::trained(*p, false), settings_of(e, kw)));
  }
  py::dict leave_one_out(std::size_t test_row, std::size_t top, const std::string& method, const std::string& retrain, double retrain_tol,
                         std::size_t threads, const py::kwargs& kw) const {
    ex::LooOptions o;
    o.top = top;
    o.estimator = influence::estimators().parse(method);
    o.settings = settings_of(o.estimator, kw);
    o.retrain.optimizer = nn::optimizers().parse(retrain);
    o.retrain.grad_tol = retrain_tol;
    ex::RetrainRun run;
    run.progress = false, run.threads = threads;
    const ex::LooEvaluation e = [&] {
      py::gil_scoped_release free;  // retraining runs threads of its own
      return ex::evaluate_leave_one_out(*p, test_row, o, run);
    }();
    py::dict d;
    d["rows"] = e.rows;
    std::vector<std::size_t> sources;
    py::list status;
    for (std::size_t j = 0; j < e.rows.size(); ++j) sources.push_back(p->train.source_row(e.rows[j])), status.append(ex::status_name(e.retrains[j].status));
    d["source_rows"] = sources, d["predicted"] = to_numpy(e.predicted), d["actual"] = to_numpy(e.actual), d["status"] = status;
    d["predicted_all"] = to_numpy(e.predicted_all);
    py::dict sc;
    sc["n"] = e.scores.n, sc["pearson"] = e.scores.pearson, sc["spearman"] = e.scores.spearman, sc["kendall_tau"] = e.scores.kendall_tau;
    sc["relative_error"] = e.scores.relative_error, sc["signs_agree"] = e.scores.signs_agree;
    sc["undefined"] = e.scores.undefined, sc["caveat"] = e.scores.caveat;
    d["scores"] = sc;
    py::dict rs;
    rs["jobs"] = e.retrain.jobs, rs["converged"] = e.retrain.converged, rs["saddles"] = e.retrain.saddles, rs["budget"] = e.retrain.budget;
    rs["unresolved"] = e.retrain.unresolved;
    d["retrains"] = rs;
    if (!e.scores.caveat.empty() && PyErr_WarnEx(PyExc_RuntimeWarning, e.scores.caveat.c_str(), 1) != 0) throw py::error_already_set();
    return d;
  }
};

PyProblem make_problem(const std::string& dataset, const std::string& model, const std::vector<std::size_t>& hidden, const std::string& activation,
                       double weight_decay, const std::string& optimizer, double grad_tol, std::size_t max_steps, std::size_t epochs, double lr,
                       std::size_t batch_size, std::size_t n_train, std::size_t n_test, const std::vector<std::size_t>& classes, std::uint64_t seed,
                       bool progress) {
  ex::ProblemSpec s;
  s.dataset = dataset;
  s.model = ex::model_kinds().parse(model);
  if (!hidden.empty()) {
    s.hidden = hidden, s.depth = hidden.size(), s.width = hidden[0];
    if (std::all_of(hidden.begin(), hidden.end(), [&](std::size_t w) { return w == hidden[0]; })) s.hidden.clear();
  }
  s.activation = nn::activations().parse(activation);
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) throw py::value_error("weight_decay must be a finite number ≥ 0");
  s.weight_decay = weight_decay;
  s.optimizer = nn::optimizers().parse(optimizer);
  if (!(grad_tol > 0) && nn::to_tolerance(s.optimizer)) throw py::value_error("grad_tol must be > 0 for " + optimizer);
  s.grad_tol = grad_tol, s.max_steps = max_steps, s.epochs = epochs, s.lr = lr, s.batch_size = batch_size;
  s.n_train = n_train, s.n_test = n_test, s.classes = classes, s.seed = seed;
  PyProblem p;
  py::gil_scoped_release free;
  p.p = std::make_shared<ex::Problem>(ex::build_problem(s, progress));
  return p;
}
}  // namespace

PYBIND11_MODULE(inflab, m) {
  m.doc() = "inflab: influence functions on small neural networks (docs/python.md)";
  py::register_exception_translator([](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const std::invalid_argument& x) {  // a name not in a choice table
      PyErr_SetString(PyExc_ValueError, x.what());
    } catch (const Error& x) {
      PyErr_SetString(PyExc_ValueError, x.what());
    }
  });
  m.def("estimators", [] {
    py::list out;
    for (const auto& r : influence::estimator_rows()) {
      py::dict d;
      d["name"] = r.name, d["help"] = r.help, d["inverse_hvp"] = r.method.has_value(), d["options"] = r.options;
      d["quantity"] = r.quantity, d["units"] = r.units, d["self_influence"] = r.self != nullptr;
      out.append(d);
    }
    return out;
  }, "the estimator table: every row's name, help, the options it reads (as keyword arguments, _ for -), its units");
  py::class_<PyProblem>(m, "Problem", "a dataset, a model and θ̂ trained to a tolerance, from the same spec as the CLI")
      .def(py::init(&make_problem), py::arg("dataset") = "iris", py::arg("model") = "mlp", py::arg("hidden") = std::vector<std::size_t>{16},
           py::arg("activation") = "tanh", py::arg("weight_decay") = 0.001, py::arg("optimizer") = "lbfgs", py::arg("grad_tol") = 1e-8,
           py::arg("max_steps") = 0, py::arg("epochs") = 20, py::arg("lr") = 1e-3, py::arg("batch_size") = 0, py::arg("n_train") = 0,
           py::arg("n_test") = 0, py::arg("classes") = std::vector<std::size_t>{}, py::arg("seed") = 0, py::arg("progress") = false)
      .def_property_readonly("theta", [](const PyProblem& p) { return to_numpy(p.p->theta); }, "θ̂, a copy [p]")
      .def_property_readonly("parameters", [](const PyProblem& p) { return p.p->theta.size(); })
      .def_property_readonly("n_train", [](const PyProblem& p) { return p.p->train.size(); })
      .def_property_readonly("n_test", [](const PyProblem& p) { return p.p->test.size(); })
      .def_property_readonly("description", [](const PyProblem& p) { return p.p->description; })
      .def_property_readonly("weight_decay", [](const PyProblem& p) { return p.p->obj->weight_decay(); })
      .def_property_readonly("train_accuracy", [](const PyProblem& p) { return p.p->train_accuracy; })
      .def_property_readonly("test_accuracy", [](const PyProblem& p) { return p.p->test_accuracy; })
      .def_property_readonly("fit", [](const PyProblem& p) {
        py::dict d;
        d["optimizer"] = p.p->fit.optimizer, d["steps"] = p.p->fit.steps, d["loss"] = p.p->fit.loss, d["grad_norm"] = p.p->fit.grad_norm;
        d["converged"] = p.p->fit.converged, d["stop_reason"] = p.p->fit.stop_reason;
        return d;
      })
      .def("source_row", [](const PyProblem& p, std::size_t i, bool train) {
        const data::Dataset& d = train ? p.p->train : p.p->test;
        if (i >= d.size()) throw py::value_error("row " + std::to_string(i) + " is not a row of the " + (train ? "training" : "test") + " split");
        return d.source_row(i);
      }, py::arg("row"), py::arg("train") = true, "the dataset file's row of a split row")
      .def("theta_from_torch", &PyProblem::theta_from_torch, py::arg("module"),
           "θ [p] from a torch.nn.Sequential of this model's layers (same names, shapes, order): check PyTorch's numbers against inflab's")
      .def("train_data", [](const PyProblem& p) { return p.data(true); }, "(X, labels) of the training split, as the model sees them")
      .def("test_data", [](const PyProblem& p) { return p.data(false); }, "(X, labels) of the test split")
      .def("test_rows", [](const PyProblem& p, const std::string& spec) { return ex::pick_test_rows(spec, *p.p, p.p->spec.seed); },
           py::arg("spec") = "highest", "test rows: 'highest', 'random:K' or '3,8'")
      .def("value", &PyProblem::value, py::arg("theta") = py::none(), "R(θ) = mean ℓ + λ/2 ‖θ‖² (θ̂ when theta is None)")
      .def("gradient", &PyProblem::gradient, py::arg("theta") = py::none())
      .def("hvp", &PyProblem::hvp, py::arg("v"), py::arg("theta") = py::none(), "H v for v [p], or the rows of V [k, p] in one sweep")
      .def("hessian", &PyProblem::hessian, py::arg("theta") = py::none(), "dense H [p, p]")
      .def("check", &PyProblem::check, py::arg("theta") = py::none(), py::arg("seed") = 0,
           "gradient and HVP against finite differences, symmetry, Taylor orders (inconclusive where rounding hides them)")
      .def("influence", &PyProblem::influence, py::arg("test_rows"), py::arg("method") = "exact",
           "values [m, n] of any estimator (Δ̂'s sign and units), with the solves and their warnings")
      .def("self_influence", &PyProblem::self_influence, py::arg("method") = "exact", "∇ℓ̃(zᵢ)ᵀ(H + μI)⁻¹∇ℓ̃(zᵢ) (not ÷n) or the row's form")
      .def("leave_one_out", &PyProblem::leave_one_out, py::arg("test_row"), py::arg("top") = 20, py::arg("method") = "exact",
           py::arg("retrain") = "lbfgs", py::arg("retrain_tol") = 1e-8, py::arg("threads") = 1,
           "Δ̂ against leave-one-out retraining of the `top` rows by |Δ̂|: scores, statuses, the caveat as a warning");
}
