// The Problem class: a dataset, a model and θ̂, from the CLI's spec or from arrays and a
// model description (what inflab.from_torch builds); its derivatives and their checks, and
// training to a tolerance with any optimizer. θ is flat float64, laid out as PyTorch's
// state_dict (docs/nn.md).
#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "autodiff/check.hpp"
#include "autodiff/functional.hpp"
#include "bindings.hpp"
#include "nn/choices.hpp"
#include "util/format.hpp"

namespace inflab::python {
namespace {

const data::Dataset& split(const PyProblem& p, const std::string& which) {
  if (which == "train") return p.p->train;
  if (which == "test") return p.p->test;
  throw py::value_error("split must be 'train' or 'test', got '" + which + "'");
}

// Rows of a split: all (None) or the given ones, each checked.
data::Dataset rows_of(const data::Dataset& d, const py::object& rows, const std::string& which) {
  if (rows.is_none()) return d;
  const auto r = rows.cast<std::vector<std::size_t>>();
  for (std::size_t i : r)
    if (i >= d.size()) throw py::value_error("rows: " + std::to_string(i) + " is not a row of the " + which + " split (" + std::to_string(d.size()) + " rows)");
  return data::subset(d, r);
}

double value(const PyProblem& p, const py::object& theta) {
  Tensor s;
  return ad::Recording(p.p->obj->fn(p.p->train), p.at(theta, s)).scalar_value();
}
Array gradient(const PyProblem& p, const py::object& theta) {
  Tensor s;
  return to_numpy(ad::Recording(p.p->obj->fn(p.p->train), p.at(theta, s)).grad());
}
// V [p] or [k, p]: the direction argument of hvp and jvp
Tensor directions(const PyProblem& p, const py::handle& v) {
  const long P = static_cast<long>(p.p->theta.size());
  const bool many = py::isinstance<py::array>(v) && py::reinterpret_borrow<py::array>(v).ndim() == 2;
  return many ? to_tensor(v, "v", {-1, P}) : to_tensor(v, "v", {P});
}
Array hvp(const PyProblem& p, const py::handle& v, const py::object& theta) {
  Tensor s;
  const Tensor V = directions(p, v);
  return to_numpy(ad::Recording(p.p->obj->fn(p.p->train), p.at(theta, s)).hvp(V));
}
Array hessian(const PyProblem& p, const py::object& theta) {
  Tensor s;
  const Tensor& th = p.at(theta, s);
  return to_numpy(interruptible([&] { return ad::hessian(p.p->obj->fn(p.p->train), th); }));
}
// θ ↦ f(θ, X) of the given rows: the network's outputs [n, …]
ad::Fn outputs_fn(const PyProblem& p, const data::Dataset& d) {
  return [&p, &d](ad::Var th) { return p.p->obj->model().forward(th, th.tape->leaf(d.X, false)); };
}
Array outputs(const PyProblem& p, const std::string& which, const py::object& rows, const py::object& theta) {
  Tensor s;
  const data::Dataset d = rows_of(split(p, which), rows, which);
  return to_numpy(ad::Recording(outputs_fn(p, d), p.at(theta, s)).value());
}
Array jvp(const PyProblem& p, const py::handle& v, const std::string& which, const py::object& rows, const py::object& theta) {
  Tensor s;
  const Tensor V = directions(p, v);
  const data::Dataset d = rows_of(split(p, which), rows, which);
  return to_numpy(ad::Recording(outputs_fn(p, d), p.at(theta, s)).jvp(V));
}
Array losses(const PyProblem& p, const std::string& which, const py::object& rows, const py::object& theta) {
  Tensor s;
  const data::Dataset d = rows_of(split(p, which), rows, which);
  return to_numpy(ad::Recording([&](ad::Var th) { return p.p->obj->losses(th, d); }, p.at(theta, s)).value());
}
// [n, p]: ∇ℓ̃(zᵢ) = ∇ℓ(zᵢ) + λθ for training rows (the terms whose mean is ∇R), ∇ℓ(zᵢ) for
// test rows; forward mode, 64 directions per sweep
Array per_example_gradients(const PyProblem& p, const std::string& which, const py::object& rows, const py::object& theta) {
  Tensor s;
  const Tensor& th = p.at(theta, s);
  const data::Dataset d = rows_of(split(p, which), rows, which);
  const std::size_t P = th.size(), n = d.size();
  const double lambda = which == "train" ? p.p->obj->weight_decay() : 0.0;
  Tensor G = interruptible([&] {
    Tensor out = zeros({n, P});
    ad::Recording rec([&](ad::Var t) { return p.p->obj->losses(t, d); }, th);
    for (std::size_t j0 = 0; j0 < P; j0 += 64) {
      util::throw_if_stopped("per-example gradients");
      const std::size_t k = std::min<std::size_t>(64, P - j0);
      Tensor E = zeros({k, P});
      for (std::size_t j = 0; j < k; ++j) E.data()[j * P + j0 + j] = 1;
      const Tensor D = rec.jvp(E);  // [k, n]: column i holds ∂ℓᵢ/∂θ_{j0+j}
      for (std::size_t j = 0; j < k; ++j)
        for (std::size_t i = 0; i < n; ++i) out.data()[i * P + j0 + j] = D.data()[j * n + i] + lambda * th.data()[j0 + j];
    }
    return out;
  });
  return to_numpy(G);
}

// The checks of `inflab check` (autodiff/check.hpp) with their verdicts and the Taylor remainders.
py::dict check(const PyProblem& p, const py::object& theta, std::uint64_t seed) {
  Tensor st;
  const ad::DerivativeChecks dc = ad::check_derivatives(p.p->obj->fn(p.p->train), p.at(theta, st), seed);
  py::dict d;
  py::list checks;
  for (const auto& c : dc.checks) {
    py::dict x;
    x["name"] = c.name, x["value"] = c.value, x["bound"] = c.bound, x["verdict"] = ad::verdict_name(c.verdict), x["why"] = c.why;
    checks.append(x);
  }
  const auto& t = dc.taylor;
  d["passed"] = dc.pass(), d["checks"] = checks;
  d["eps"] = to_numpy(t.eps), d["remainder1"] = to_numpy(t.r1), d["remainder2"] = to_numpy(t.r2), d["floor1"] = to_numpy(t.floor1),
  d["floor2"] = to_numpy(t.floor2);
  d["taylor_order1"] = t.order1, d["taylor_order2"] = t.order2;
  return d;
}

// θ from a PyTorch module with this model's layers: its state_dict, in order, must name and
// shape exactly this model's parameters (PyTorch's layout is inflab's, docs/nn.md)
Array theta_from_torch(const PyProblem& p, const py::object& module) {
  static const std::vector<std::string> layers = {"Sequential", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Tanh",
                                                  "ReLU",       "Sigmoid", "Softplus", "ELU",     "SELU",     "GELU"};
  if (!py::hasattr(module, "state_dict") || !py::hasattr(module, "modules")) throw py::value_error("module is not a torch.nn.Module");
  for (const py::handle m : module.attr("modules")()) {
    const std::string kind = py::str(m.attr("__class__").attr("__name__"));
    if (std::find(layers.begin(), layers.end(), kind) == layers.end())
      throw py::value_error("module holds a " + kind + " layer, which inflab does not have (it has Linear, Conv2d, pooling, Flatten and activations)");
  }
  const auto& params = p.p->obj->model().params();
  const py::list items = module.attr("state_dict")().attr("items")();
  if (items.size() != params.size())
    throw py::value_error("module has " + std::to_string(items.size()) + " parameter tensors, this model " + std::to_string(params.size()) + " (" +
                          p.p->description + ")");
  Tensor theta = zeros({p.p->theta.size()});
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

// The fit record of θ as measured on this problem's data.
void measure_fit(ex::Problem& q, const std::string& optimizer, std::size_t steps, bool converged, const std::string& reason) {
  const ad::ValueGrad vg = ad::value_and_grad(q.obj->fn(q.train), q.theta);
  q.fit = {"", optimizer, steps, vg.value, norm2(vg.grad), converged, reason};
  q.train_accuracy = q.obj->accuracy(q.theta, q.train);
  q.test_accuracy = q.test.size() ? q.obj->accuracy(q.theta, q.test) : std::nan("");
}

void set_theta(PyProblem& p, const py::handle& theta) {
  p.p->theta = to_tensor(theta, "theta", {static_cast<long>(p.p->theta.size())});
  measure_fit(*p.p, "given", 0, false, "θ given");
  p.p->history.clear(), p.p->trajectory.clear();
}

py::dict fit_dict(const ex::Problem& q) {
  py::dict d;
  d["optimizer"] = q.fit.optimizer, d["steps"] = q.fit.steps, d["loss"] = q.fit.loss, d["grad_norm"] = q.fit.grad_norm;
  d["converged"] = q.fit.converged, d["stop_reason"] = q.fit.stop_reason;
  d["stationary"] = q.fit.grad_norm <= ex::kStationaryTol;
  std::vector<double> loss, gn, acc;
  for (const auto& e : q.history) loss.push_back(e.loss), gn.push_back(e.grad_norm), acc.push_back(e.accuracy);
  d["history_loss"] = to_numpy(loss), d["history_grad_norm"] = to_numpy(gn), d["history_accuracy"] = to_numpy(acc);
  return d;
}

// Trains θ from theta0 (None: the current θ) and makes the result θ̂.
py::dict train(PyProblem& p, const std::string& optimizer, double grad_tol, std::size_t max_steps, std::size_t epochs, double lr,
               double momentum, std::size_t batch_size, std::uint64_t seed, const py::object& theta0, const py::object& progress) {
  nn::TrainingSpec s;
  s.optimizer = nn::optimizers().parse(optimizer);
  if (!(grad_tol >= 0) || (grad_tol == 0 && nn::to_tolerance(s.optimizer)))
    throw py::value_error("grad_tol must be > 0 for " + optimizer + " (0 is never met)");
  s.grad_tol = grad_tol, s.max_steps = max_steps, s.epochs = epochs, s.lr = lr, s.batch_size = batch_size, s.seed = seed;
  const ProgressArg pr = progress_of(progress);
  nn::TrainOptions t = nn::train_options(s, pr.line);
  t.momentum = momentum;
  Tensor st;
  const Tensor start = p.at(theta0, st);
  ex::Problem& q = *p.p;
  std::vector<nn::EpochStats> iterations;
  if (nn::to_tolerance(s.optimizer))
    t.callback = [&](const nn::EpochStats& e) {
      if (iterations.empty() || e.epoch > iterations.back().epoch) iterations.push_back(e);
      return true;
    };
  const nn::TrainResult r = interruptible([&] { return nn::train(*q.obj, q.train, start, t); }, pr.callback);
  q.theta = r.theta;
  q.history = nn::to_tolerance(s.optimizer) ? iterations : r.history;
  q.trajectory.clear();
  measure_fit(q, optimizer, r.steps, r.converged, r.stop_reason);
  if (nn::to_tolerance(s.optimizer) && !r.converged)
    warn(optimizer + " stopped before ‖∇R‖ ≤ " + significant(grad_tol) + ": " + r.stop_reason + " after " + std::to_string(r.steps) +
         " steps (‖∇R‖ = " + significant(q.fit.grad_norm) + "); θ̂ is not a minimum — train(max_steps=…) continues from it");
  return fit_dict(q);
}

PyProblem make_problem(const py::kwargs& kw) {
  const ex::ProblemSpec s = spec_of(kw);
  const ProgressArg pr = progress_of(kw.contains("progress") ? py::object(kw["progress"]) : py::object(py::none()));
  const auto steps = kw.contains("save_steps") ? kw["save_steps"].cast<std::vector<std::size_t>>() : std::vector<std::size_t>{};
  PyProblem p;
  p.p = std::make_shared<ex::Problem>(interruptible([&] { return ex::build_problem(s, pr.line, steps); }, pr.callback));
  return p;
}

// A split from arrays: X [n, …] float64; y integer labels in [0, classes) or, for mse, float targets [n] / [n, k].
data::Dataset dataset_of(const py::object& X, const py::object& y, const char* xname, const char* yname, nn::LossKind loss,
                         std::size_t classes) {
  data::Dataset d;
  d.name = "arrays";
  if (!py::isinstance<py::array>(X)) throw py::value_error(std::string(xname) + " must be a numpy array of float64");
  std::vector<long> shape(static_cast<std::size_t>(py::reinterpret_borrow<py::array>(X).ndim()), -1);
  if (shape.size() < 2) throw py::value_error(std::string(xname) + " must be [n, features] or [n, C, H, W]");
  d.X = to_tensor(X, xname, shape);
  const std::size_t n = d.X.shape()[0];
  if (!py::isinstance<py::array>(y)) throw py::value_error(std::string(yname) + " must be a numpy array");
  const py::array ya = py::reinterpret_borrow<py::array>(y);
  if (ya.ndim() < 1 || static_cast<std::size_t>(ya.shape(0)) != n)
    throw py::value_error(std::string(yname) + " must have one entry per row of " + xname + " (" + std::to_string(n) + ")");
  if (loss == nn::LossKind::MSE) {
    std::vector<long> ys(static_cast<std::size_t>(ya.ndim()), -1);
    d.targets = to_tensor(y, yname, ys);
  } else {
    const char kind = ya.dtype().kind();
    if ((kind != 'i' && kind != 'u') || ya.ndim() != 1) throw py::value_error(std::string(yname) + " must be integer class labels [n] (dtype int)");
    const auto labels = py::array_t<long long, py::array::forcecast>(ya);
    for (py::ssize_t i = 0; i < labels.size(); ++i) {
      const long long c = labels.at(i);
      if (c < 0 || static_cast<std::size_t>(c) >= classes)
        throw py::value_error(std::string(yname) + "[" + std::to_string(i) + "] = " + std::to_string(c) + " is not a class of the model's " +
                              std::to_string(classes) + " outputs");
      d.y.push_back(static_cast<std::size_t>(c));
    }
    for (std::size_t c = 0; c < classes; ++c) d.class_names.push_back(std::to_string(c));
  }
  data::validate(d);
  return d;
}

// A problem from arrays and a model description (module JSON as nn/checkpoint writes it):
// θ starts at the seeded initialisation; theta, or train(), sets it.
PyProblem problem_from_model(const std::string& model_json, const std::string& description, const std::string& loss_name, double weight_decay,
                             const py::object& X, const py::object& y, const py::object& X_test, const py::object& y_test, std::uint64_t seed) {
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) throw py::value_error("weight_decay must be a finite number ≥ 0");
  const nn::LossKind loss = nn::parse_loss(loss_name);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(model_json);
  } catch (const std::exception& e) {
    throw py::value_error(std::string("model: not JSON: ") + e.what());
  }
  if (!py::isinstance<py::array>(X) || py::reinterpret_borrow<py::array>(X).ndim() < 2)
    throw py::value_error("X must be a numpy array [n, features] or [n, C, H, W] of float64");
  const py::array xa = py::reinterpret_borrow<py::array>(X);
  Shape input;
  for (long i = 1; i < xa.ndim(); ++i) input.push_back(static_cast<std::size_t>(xa.shape(i)));
  nn::Model model(nn::module_from_json(j), input);
  const std::size_t outputs = numel(model.output_shape());
  const std::size_t classes = loss == nn::LossKind::BinaryLogistic ? 2 : outputs;
  auto q = std::make_shared<ex::Problem>();
  q->spec.dataset = "arrays";
  q->spec.seed = seed;
  q->spec.weight_decay = weight_decay;
  q->train = dataset_of(X, y, "X", "y", loss, classes);
  q->test = X_test.is_none() ? data::subset(q->train, {}) : dataset_of(X_test, y_test, "X_test", "y_test", loss, classes);
  q->obj = std::make_unique<nn::Objective>(std::move(model), loss, weight_decay);
  q->obj->check_fits(q->train);
  if (q->test.size()) q->obj->check_fits(q->test);
  q->description = description;
  q->theta = q->obj->model().init(seed);
  measure_fit(*q, "init", 0, false, "θ at the seeded initialisation (train() or theta = … sets θ̂)");
  PyProblem p;
  p.p = q, p.from_spec = false;
  return p;
}

}  // namespace

ex::ProblemSpec spec_of(const py::kwargs& kw) {
  ex::ProblemSpec s;
  for (const auto& [key, v] : kw) {
    const std::string k = py::str(key);
    auto count = [&] {
      const long long c = v.cast<long long>();
      if (c < 0) throw py::value_error(k + " must be ≥ 0, got " + std::to_string(c));
      return static_cast<std::size_t>(c);
    };
    auto real = [&] {
      const double x = v.cast<double>();
      if (!std::isfinite(x) || x < 0) throw py::value_error(k + " must be a finite number ≥ 0, got " + std::string(py::str(v)));
      return x;
    };
    if (k == "dataset") s.dataset = v.cast<std::string>();
    else if (k == "model") s.model = ex::model_kinds().parse(v.cast<std::string>());
    else if (k == "hidden") {
      s.hidden = v.cast<std::vector<std::size_t>>();
      if (s.hidden.empty() || std::find(s.hidden.begin(), s.hidden.end(), 0u) != s.hidden.end())
        throw py::value_error("hidden must list widths ≥ 1 (softmax regression: model='softmax')");
      s.depth = s.hidden.size(), s.width = s.hidden[0];
      if (std::all_of(s.hidden.begin(), s.hidden.end(), [&](std::size_t w) { return w == s.width; })) s.hidden.clear();
    } else if (k == "depth") s.depth = count(), s.hidden.clear();
    else if (k == "width") s.width = count(), s.hidden.clear();
    else if (k == "activation") s.activation = nn::activations().parse(v.cast<std::string>());
    else if (k == "weight_decay") s.weight_decay = real();
    else if (k == "optimizer") s.optimizer = nn::optimizers().parse(v.cast<std::string>());
    else if (k == "grad_tol") s.grad_tol = real();
    else if (k == "max_steps") s.max_steps = count();
    else if (k == "epochs") s.epochs = count();
    else if (k == "lr") s.lr = real();
    else if (k == "batch_size") s.batch_size = count();
    else if (k == "n_train") s.n_train = count();
    else if (k == "n_test") s.n_test = count();
    else if (k == "test_fraction") s.test_fraction = real();
    else if (k == "classes") s.classes = v.cast<std::vector<std::size_t>>();
    else if (k == "seed") s.seed = count();
    else if (k != "progress" && k != "save_steps")
      throw py::value_error("unknown problem setting '" + k + "' (dataset, model, hidden, depth, width, activation, weight_decay, optimizer, grad_tol, max_steps, "
                            "epochs, lr, batch_size, n_train, n_test, test_fraction, classes, seed, progress, save_steps)");
  }
  if (!(s.grad_tol > 0) && nn::to_tolerance(s.optimizer)) throw py::value_error("grad_tol must be > 0 for " + nn::optimizers().name(s.optimizer));
  return s;
}

// The data of a spec as the model would see them, without a model: X, y and the source rows of
// each split, and the class names.
py::dict dataset(const py::kwargs& kw) {
  const ex::ProblemSpec s = spec_of(kw);
  const data::TrainTest tt = interruptible([&] { return ex::load_data(s); });
  py::dict d;
  for (const auto& [key, split] : {std::pair<const char*, const data::Dataset*>{"train", &tt.train}, {"test", &tt.test}}) {
    const std::string k = key;
    std::vector<std::size_t> src(split->size());
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = split->source_row(i);
    d[("X_" + k).c_str()] = to_numpy(split->X);
    if (split->y.empty()) d[("y_" + k).c_str()] = to_numpy(split->targets);
    else d[("y_" + k).c_str()] = to_numpy(split->y);
    d[("source_rows_" + k).c_str()] = to_numpy(src);
  }
  d["class_names"] = tt.train.class_names, d["name"] = tt.train.name;
  return d;
}

py::class_<PyProblem> bind_problem(py::module_& m) {
  m.def("dataset", &dataset, "the data of a problem spec (dataset, classes, n_train, n_test, test_fraction, seed) as numpy arrays");
  return py::class_<PyProblem>(m, "Problem", "a dataset, a model and θ̂: from the CLI's spec (trained to a tolerance) or from arrays and a model")
      .def(py::init(&make_problem))
      .def_static("from_model", &problem_from_model, py::arg("model_json"), py::arg("description"), py::arg("loss"), py::arg("weight_decay"),
                  py::arg("X"), py::arg("y"), py::arg("X_test") = py::none(), py::arg("y_test") = py::none(), py::arg("seed") = 0)
      .def_property("theta", [](const PyProblem& p) { return to_numpy(p.p->theta); }, &set_theta, "θ̂, a copy [p]; setting it makes that θ̂")
      .def_property_readonly("parameters", [](const PyProblem& p) { return p.p->theta.size(); })
      .def_property_readonly("n_train", [](const PyProblem& p) { return p.p->train.size(); })
      .def_property_readonly("n_test", [](const PyProblem& p) { return p.p->test.size(); })
      .def_property_readonly("description", [](const PyProblem& p) { return p.p->description; })
      .def_property_readonly("weight_decay", [](const PyProblem& p) { return p.p->obj->weight_decay(); })
      .def_property_readonly("loss", [](const PyProblem& p) { return std::string(nn::loss_name(p.p->obj->loss())); })
      .def_property_readonly("train_accuracy", [](const PyProblem& p) { return p.p->train_accuracy; })
      .def_property_readonly("test_accuracy", [](const PyProblem& p) { return p.p->test_accuracy; })
      .def_property_readonly("from_spec", [](const PyProblem& p) { return p.from_spec; })
      .def_property_readonly("parameter_table", [](const PyProblem& p) {
        py::list out;
        for (const auto& s : p.p->obj->model().params()) out.append(py::make_tuple(s.name, s.shape, s.offset));
        return out;
      }, "(name, shape, offset in θ) of every parameter tensor, in PyTorch's state_dict order")
      .def_property_readonly("fit", [](const PyProblem& p) { return fit_dict(*p.p); })
      .def_property_readonly("trajectory", [](const PyProblem& p) {
        py::list out;
        for (const auto& s : p.p->trajectory) out.append(py::make_tuple(s.step, s.lr, to_numpy(s.theta)));
        return out;
      }, "(step, learning rate, θ) saved while training (save_steps=…), TracIn's checkpoints")
      .def("source_row", [](const PyProblem& p, std::size_t i, bool train) {
        const data::Dataset& d = train ? p.p->train : p.p->test;
        if (i >= d.size()) throw py::value_error("row " + std::to_string(i) + " is not a row of the " + (train ? "training" : "test") + " split");
        return d.source_row(i);
      }, py::arg("row"), py::arg("train") = true)
      .def("source_rows", [](const PyProblem& p, const std::string& which) {
        const data::Dataset& d = split(p, which);
        std::vector<std::size_t> r(d.size());
        for (std::size_t i = 0; i < r.size(); ++i) r[i] = d.source_row(i);
        return to_numpy(r);
      }, py::arg("split") = "train")
      .def("theta_from_torch", &theta_from_torch, py::arg("module"))
      .def("data", [](const PyProblem& p, const std::string& which) {
        const data::Dataset& d = split(p, which);
        if (d.y.empty()) return py::make_tuple(to_numpy(d.X), to_numpy(d.targets));
        return py::make_tuple(to_numpy(d.X), to_numpy(d.y));
      }, py::arg("split") = "train")
      .def("test_rows", [](const PyProblem& p, const std::string& spec) { return ex::pick_test_rows(spec, *p.p, p.p->spec.seed); },
           py::arg("spec") = "highest")
      .def("value", &value, py::arg("theta") = py::none())
      .def("gradient", &gradient, py::arg("theta") = py::none())
      .def("hvp", &hvp, py::arg("v"), py::arg("theta") = py::none())
      .def("hessian", &hessian, py::arg("theta") = py::none())
      .def("outputs", &outputs, py::arg("split") = "train", py::arg("rows") = py::none(), py::arg("theta") = py::none())
      .def("jvp", &jvp, py::arg("v"), py::arg("split") = "train", py::arg("rows") = py::none(), py::arg("theta") = py::none())
      .def("losses", &losses, py::arg("split") = "train", py::arg("rows") = py::none(), py::arg("theta") = py::none())
      .def("per_example_gradients", &per_example_gradients, py::arg("split") = "train", py::arg("rows") = py::none(), py::arg("theta") = py::none())
      .def("check", &check, py::arg("theta") = py::none(), py::arg("seed") = 0)
      .def("train", &train, py::arg("optimizer") = "lbfgs", py::arg("grad_tol") = 1e-8, py::arg("max_steps") = 0, py::arg("epochs") = 20,
           py::arg("lr") = 1e-3, py::arg("momentum") = 0.0, py::arg("batch_size") = 0, py::arg("seed") = 0, py::arg("theta0") = py::none(),
           py::arg("progress") = false);
}

}  // namespace inflab::python
