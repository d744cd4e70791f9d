#include "experiments/problem.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "datasets/split.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"
#include "util/format.hpp"
#include "influence/influence.hpp"
#include "nn/builders.hpp"
#include "nn/checkpoint.hpp"
#include "nn/choices.hpp"
#include "util/files.hpp"

namespace inflab::experiments {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::optional<DatasetKind> named_dataset(const ProblemSpec& s) {
  if (!datasets().has(s.dataset)) return std::nullopt;
  return datasets().parse(s.dataset);
}

const Choices<DatasetKind>& datasets() {
  static const Choices<DatasetKind> t{
      "dataset",
      {{"iris", DatasetKind::Iris, "Fisher's Iris: 150 rows, 4 features, 3 classes (bundled)"},
       {"wine", DatasetKind::Wine, "UCI wine: 178 rows, 13 features, 3 classes (bundled)"},
       {"breast-cancer", DatasetKind::BreastCancer, "Wisconsin diagnostic: 569 rows, 30 features, 2 classes (bundled)"},
       {"digits", DatasetKind::Digits, "8×8 digits: 1797 rows, 64 features, 10 classes (bundled)"},
       {"fashion-mnist", DatasetKind::FashionMnist, "28×28 images, 10 classes (Debian dataset-fashion-mnist); 1000/500 rows by default"},
       {"blobs", DatasetKind::Blobs, "2 Gaussian blobs in R¹⁰, 250 rows each (synthetic)"},
       {"moons", DatasetKind::Moons, "two moons, 400 rows, noise 0.2 (synthetic)"}}};
  return t;
}

namespace {
data::Dataset load_named(const std::string& name, bool train_split) {
  if (name.rfind("csv:", 0) == 0) return data::read_csv(name.substr(4));
  if (!datasets().has(name)) throw Error("unknown dataset '" + name + "' (choose " + datasets().names() + " or csv:PATH)");
  switch (datasets().parse(name)) {
    case DatasetKind::Iris: return data::load_iris();
    case DatasetKind::Wine: return data::load_wine();
    case DatasetKind::BreastCancer: return data::load_breast_cancer();
    case DatasetKind::Digits: return data::load_digits();
    case DatasetKind::FashionMnist: return data::load_fashion_mnist(train_split ? data::Split::Train : data::Split::Test);
    case DatasetKind::Blobs: return data::blobs(250, 2, 10, 2.0, 1.0, 5);
    case DatasetKind::Moons: return data::two_moons(400, 0.2, 5);
  }
  throw Error("load_named: a dataset without a loader");
}

data::Dataset keep_classes(const data::Dataset& d, const std::vector<std::size_t>& classes) {
  if (classes.empty()) return d;
  for (auto c : classes)
    if (c >= d.num_classes())
      throw SettingError("--classes: '" + d.name + "' has classes 0.." + std::to_string(d.num_classes() - 1) + ", not " + std::to_string(c));
  return data::select_classes(d, classes);
}

// n rows of d (all when n is 0); more than d has is an Error naming the option.
data::Dataset take(const data::Dataset& d, std::size_t n, std::uint64_t seed, const char* option) {
  if (n == 0 || n == d.size()) return d;
  if (n > d.size())
    throw SettingError(std::string(option) + " " + std::to_string(n) + ": '" + d.name + "' has only " + std::to_string(d.size()) + " rows there");
  return data::random_n(d, n, seed);
}
}  // namespace

data::Dataset load_source(const ProblemSpec& s, bool train_split) {
  data::Dataset d = load_named(s.dataset, train_split);
  if (named_dataset(s) == DatasetKind::Digits) data::to_images(d, {1, 8, 8});
  return d;
}

data::TrainTest load_data(const ProblemSpec& s) {
  data::TrainTest tt;
  const bool images = s.model == ModelKind::Cnn;
  if (named_dataset(s) == DatasetKind::FashionMnist) {  // its own test file
    tt.train = keep_classes(load_named(s.dataset, true), s.classes);
    tt.test = keep_classes(load_named(s.dataset, false), s.classes);
    tt.train = take(tt.train, s.n_train ? s.n_train : std::min<std::size_t>(1000, tt.train.size()), s.seed, "--n-train");
    tt.test = take(tt.test, s.n_test ? s.n_test : std::min<std::size_t>(500, tt.test.size()), s.seed + 1, "--n-test");
    data::scale_pixels(tt.train);
    data::scale_pixels(tt.test);
    if (!images) data::flatten(tt.train), data::flatten(tt.test);
  } else {
    const data::Dataset d = keep_classes(load_named(s.dataset, true), s.classes);
    tt = data::stratified_split(d, s.test_fraction, s.seed);
    tt.train = take(tt.train, s.n_train, s.seed, "--n-train");
    tt.test = take(tt.test, s.n_test, s.seed + 1, "--n-test");
    const data::Standardizer st = data::Standardizer::fit(tt.train);
    st.apply(tt.train);
    st.apply(tt.test);
  }
  if (!tt.train.is_classification()) throw Error("dataset '" + s.dataset + "' has no classes; inflab's problems are classifiers");
  if (tt.train.num_classes() < 2)
    throw SettingError("--classes " + json(s.classes).dump() + " leaves one class of '" + s.dataset + "'; a classifier needs two");
  const auto counts = tt.train.class_counts();
  const auto present = static_cast<std::size_t>(std::count_if(counts.begin(), counts.end(), [](std::size_t c) { return c > 0; }));
  if (present < 2)
    throw SettingError("--n-train " + std::to_string(tt.train.size()) + " leaves rows of " + std::to_string(present) + " of the " +
                std::to_string(counts.size()) + " classes of '" + s.dataset + "' in the training set; a classifier needs rows of two (raise --n-train)");
  if (tt.test.size() == 0)
    throw Error("the split leaves no test rows of '" + s.dataset + "' (raise --test-fraction or --n-test)");
  return tt;
}

std::unique_ptr<nn::Objective> make_objective(const ProblemSpec& s, const data::Dataset& train, std::string* description) {
  const std::size_t C = train.num_classes(), in = numel(train.sample_shape());
  std::string desc;
  std::unique_ptr<nn::Objective> obj;
  switch (s.model) {
    case ModelKind::LogReg:
      if (C != 2)
        throw SettingError("--model logreg needs 2 classes; '" + s.dataset + "' has " + std::to_string(C) +
                    " (pick two with --classes A,B, or use --model softmax)");
      obj = std::make_unique<nn::Objective>(nn::logistic_regression(in), nn::LossKind::BinaryLogistic, s.weight_decay);
      desc = "logistic regression " + std::to_string(in) + "-1";
      break;
    case ModelKind::Softmax:
      obj = std::make_unique<nn::Objective>(nn::softmax_regression(in, C), nn::LossKind::CrossEntropy, s.weight_decay);
      desc = "softmax regression " + std::to_string(in) + "-" + std::to_string(C);
      break;
    case ModelKind::Mlp: {
      const auto widths = hidden_widths(s);
      obj = std::make_unique<nn::Objective>(nn::mlp(in, widths, s.activation, C), nn::LossKind::CrossEntropy, s.weight_decay);
      desc = "MLP " + std::to_string(in);
      for (auto w : widths) desc += "-" + std::to_string(w);
      desc += "-" + std::to_string(C) + " (" + nn::activations().name(s.activation) + ")";
      break;
    }
    case ModelKind::Cnn:
      if (train.sample_shape().size() != 3)
        throw SettingError("--model cnn needs images; '" + s.dataset + "' has samples of shape " + shape_str(train.sample_shape()));
      obj = std::make_unique<nn::Objective>(nn::small_cnn(train.sample_shape(), C, s.activation), nn::LossKind::CrossEntropy, s.weight_decay);
      desc = "small CNN (" + nn::activations().name(s.activation) + ")";
      break;
  }
  if (description) *description = desc;
  return obj;
}

Problem build_problem(const ProblemSpec& s, bool progress, const std::vector<std::size_t>& save_steps, const ParamsCheck& before_training) {
  return build_problem(s, load_data(s), progress, save_steps, before_training);
}

namespace {
// Before anything of size p is allocated: training keeps ~30 vectors of p doubles (θ, the
// gradient, L-BFGS's 10 pairs, the line search's points); refused when that exceeds this
// machine's memory, naming what sets p.
void check_memory(std::size_t params, const std::string& description) {
  const double need = 30.0 * 8.0 * static_cast<double>(params);
  const double have = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (have > 0 && need > have)
    throw Error(description + " has " + std::to_string(params) + " parameters: training needs about " + significant(need / 1073741824.0) +
                " GiB, this machine has " + significant(have / 1073741824.0) + " GiB; make the model smaller (--width, --depth, --hidden)");
}
}  // namespace

Problem build_problem(const ProblemSpec& s, data::TrainTest data, bool progress, const std::vector<std::size_t>& save_steps,
                      const ParamsCheck& before_training) {
  Problem p;
  p.spec = s;
  p.train = std::move(data.train);
  p.test = std::move(data.test);
  p.obj = make_objective(s, p.train, &p.description);
  p.obj->check_fits(p.train);
  check_memory(p.obj->model().param_count(), p.description);
  if (before_training) before_training(p.obj->model().param_count());
  nn::TrainOptions t = train_options(s, progress);
  if (!save_steps.empty()) {
    if (nn::to_tolerance(s.optimizer))
      throw Error("saving steps (TracIn) needs an sgd or adam run, whose steps have a learning rate; this problem trains with " +
                  nn::optimizers().name(s.optimizer));
    const std::size_t planned = nn::planned_steps(t, p.train.size());
    for (std::size_t step : save_steps)  // before training, not after
      if (step == 0 || step > planned)
        throw Error("save step " + std::to_string(step) + " is not a step of this run (it takes at most " + std::to_string(planned) +
                    " steps, counted from 1: epochs × batches per epoch)");
    t.on_step = [&](std::size_t step, const Tensor& th, double lr) {
      if (std::find(save_steps.begin(), save_steps.end(), step) != save_steps.end()) p.trajectory.push_back({step, lr, th});
    };
  }
  std::vector<nn::EpochStats> iterations;  // L-BFGS / Newton: one row per iteration, not one in all
  if (nn::to_tolerance(s.optimizer))  // the trainer's closing summary (epoch 0 again) is not an iteration
    t.callback = [&](const nn::EpochStats& e) {
      if (iterations.empty() || e.epoch > iterations.back().epoch) iterations.push_back(e);
      return true;
    };
  const nn::TrainResult r = nn::train(*p.obj, p.train, p.obj->model().init(s.seed), t);
  for (std::size_t step : save_steps)
    if (step == 0 || step > r.steps)
      throw Error("save step " + std::to_string(step) + " is not a step of this run (it took " + std::to_string(r.steps) + " steps, counted from 1)");
  p.theta = r.theta;
  p.history = nn::to_tolerance(s.optimizer) ? iterations : r.history;
  p.fit = {"", nn::optimizers().name(s.optimizer), r.steps, r.loss, r.grad_norm, r.converged, r.stop_reason};
  p.train_accuracy = p.obj->accuracy(p.theta, p.train);
  p.test_accuracy = p.obj->accuracy(p.theta, p.test);
  return p;
}

std::vector<std::size_t> hidden_widths(const ProblemSpec& s) {
  return s.hidden.empty() ? std::vector<std::size_t>(s.depth, s.width) : s.hidden;
}

void to_json(json& j, const ProblemSpec& spec) {
  ProblemSpec s = spec;  // one form per model: depth and width from `hidden`, equal widths as depth × width
  if (!s.hidden.empty()) {
    s.depth = s.hidden.size(), s.width = s.hidden[0];
    if (std::all_of(s.hidden.begin(), s.hidden.end(), [&](std::size_t w) { return w == s.width; })) s.hidden.clear();
  }
  j = {{"dataset", s.dataset},
       {"classes", s.classes},
       {"n_train", s.n_train},
       {"n_test", s.n_test},
       {"test_fraction", s.test_fraction},
       {"model", model_kinds().name(s.model)},
       {"depth", s.depth},
       {"width", s.width},
       {"hidden", s.hidden},
       {"activation", nn::activations().name(s.activation)},
       {"weight_decay", s.weight_decay},
       {"optimizer", nn::optimizers().name(s.optimizer)},
       {"epochs", s.epochs},
       {"batch_size", s.batch_size},
       {"max_steps", s.max_steps},
       {"lr", s.lr},
       {"grad_tol", s.grad_tol},
       {"seed", s.seed}};
}

ProblemSpec spec_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": \"spec\" is " + std::string(j.type_name()) + ", not an object of problem settings");
  // counts are whole numbers ≥ 0: a negative one is refused, not wrapped around
  for (const char* k : {"n_train", "n_test", "depth", "width", "epochs", "batch_size", "max_steps", "seed"})
    if (j.contains(k) && !(j[k].is_number_integer() && (j[k].is_number_unsigned() || j[k].get<long long>() >= 0)))
      throw Error(where + ": \"" + std::string(k) + "\" is " + j[k].dump() + ", not a whole number ≥ 0");
  if (j.contains("classes") && j["classes"].is_array())
    for (const auto& c : j["classes"])
      if (!(c.is_number_integer() && (c.is_number_unsigned() || c.get<long long>() >= 0))) throw Error(where + ": \"classes\" holds " + c.dump() + ", not a class index ≥ 0");
  if (j.contains("hidden") && j["hidden"].is_array())
    for (const auto& w : j["hidden"])
      if (!(w.is_number_integer() && (w.is_number_unsigned() || w.get<long long>() >= 1))) throw Error(where + ": \"hidden\" holds " + w.dump() + ", not a width ≥ 1");
  ProblemSpec s;
  try {
    s.dataset = j.at("dataset").get<std::string>();
    s.classes = j.at("classes").get<std::vector<std::size_t>>();
    s.n_train = j.at("n_train").get<std::size_t>();
    s.n_test = j.at("n_test").get<std::size_t>();
    s.test_fraction = j.at("test_fraction").get<double>();
    s.model = model_kinds().parse(j.at("model").get<std::string>());
    s.depth = j.at("depth").get<std::size_t>();
    s.width = j.at("width").get<std::size_t>();
    s.hidden = j.value("hidden", std::vector<std::size_t>{});  // absent in checkpoints from before --hidden
    s.activation = nn::activations().parse(j.at("activation").get<std::string>());
    s.weight_decay = j.at("weight_decay").get<double>();
    s.optimizer = nn::optimizers().parse(j.at("optimizer").get<std::string>());
    s.epochs = j.at("epochs").get<std::size_t>();
    s.batch_size = j.at("batch_size").get<std::size_t>();
    s.max_steps = j.at("max_steps").get<std::size_t>();
    s.lr = j.at("lr").get<double>();
    s.grad_tol = j.at("grad_tol").get<double>();
    s.seed = j.at("seed").get<std::uint64_t>();
  } catch (const std::exception& e) {
    throw Error(where + ": not a problem spec inflab can read (" + e.what() + ")");
  }
  if (!s.hidden.empty() && (s.hidden.size() != s.depth || s.hidden[0] != s.width))
    throw Error(where + ": hidden " + json(s.hidden).dump() + " disagrees with depth " + std::to_string(s.depth) + " and width " +
                std::to_string(s.width));
  return s;
}

std::vector<SpecDifference> differences(const ProblemSpec& a, const ProblemSpec& b) {
  json ja, jb;
  to_json(ja, a);
  to_json(jb, b);
  std::vector<SpecDifference> out;
  for (auto it = ja.begin(); it != ja.end(); ++it)
    if (jb.at(it.key()) != it.value()) out.push_back({it.key(), it.value().dump(), jb.at(it.key()).dump()});
  return out;
}

void save_problem(const std::string& dir, const Problem& p) {
  json spec;
  to_json(spec, p.spec);
  const json j = {{"format", "inflab-problem"},
                  {"version", 1},
                  {"spec", spec},
                  {"loss", nn::loss_name(p.obj->loss())},
                  {"fit",
                   {{"optimizer", p.fit.optimizer},
                    {"steps", p.fit.steps},
                    {"loss", p.fit.loss},
                    {"grad_norm", p.fit.grad_norm},
                    {"converged", p.fit.converged},
                    {"stop_reason", p.fit.stop_reason}}},
                  {"train_data", data::fingerprint(p.train)},
                  {"test_data", data::fingerprint(p.test)}};
  std::map<std::string, std::string> files = {{"problem.json", j.dump(2) + "\n"}};
  if (!p.trajectory.empty()) {
    Tensor all = zeros({p.trajectory.size(), p.theta.size()});
    json steps = json::array(), rates = json::array();
    for (std::size_t m = 0; m < p.trajectory.size(); ++m) {
      std::copy(p.trajectory[m].theta.data(), p.trajectory[m].theta.data() + p.theta.size(), all.data() + m * p.theta.size());
      steps.push_back(p.trajectory[m].step), rates.push_back(p.trajectory[m].lr);
    }
    files["trajectory.npy"] = nn::npy_bytes(all);
    files["trajectory.json"] = json{{"steps", steps}, {"learning_rates", rates}, {"what", "row m of trajectory.npy: θ after steps[m] optimizer steps"}}.dump(2) + "\n";
  }
  nn::save_checkpoint(dir, p.obj->model(), p.theta, files);
}

namespace {
// DIR/problem.json, checked to be inflab's; Errors name the file
json read_problem_json(const std::string& dir) {
  const fs::path pj = fs::path(dir) / "problem.json";
  if (!fs::is_directory(dir)) throw Error("checkpoint '" + dir + "': no such directory (give the checkpoint/ folder `inflab train` wrote)");
  if (!fs::exists(pj))
    throw Error("checkpoint '" + dir + "' has no problem.json, so the data, loss and λ it was trained with are unknown; "
                "checkpoints from `inflab train` have one");
  json j;
  try {
    std::ifstream in(pj);
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(pj.string() + (fs::file_size(pj) == 0 ? ": empty" : ": not valid JSON (damaged at byte " + std::to_string(e.byte) + ")") +
                "; the checkpoint cannot be read — train it again");
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != "inflab-problem")
    throw Error(pj.string() + ": not an inflab problem (no \"format\": \"inflab-problem\")");
  if (!j.contains("version") || j["version"] != 1)
    throw Error(pj.string() + ": version " + (j.contains("version") ? j["version"].dump() : std::string("missing")) +
                "; this inflab reads version 1 (a checkpoint of another inflab: retrain it here)");
  if (!j.contains("spec") || !j["spec"].is_object()) throw Error(pj.string() + ": no \"spec\" object of problem settings");
  if (!j.contains("fit") || !j["fit"].is_object()) throw Error(pj.string() + ": no \"fit\" object (how θ̂ was trained)");
  return j;
}
}  // namespace

ProblemSpec load_spec(const std::string& dir) {
  return spec_from_json(read_problem_json(dir).at("spec"), (fs::path(dir) / "problem.json").string());
}

Problem load_problem(const std::string& dir) {
  const json j = read_problem_json(dir);
  const fs::path pj = fs::path(dir) / "problem.json";
  Problem p;
  p.spec = spec_from_json(j.at("spec"), pj.string());
  data::TrainTest tt;
  const bool relative = p.spec.dataset.rfind("csv:", 0) == 0 && fs::path(p.spec.dataset.substr(4)).is_relative();
  const std::string whose = "checkpoint '" + dir + "': its problem.json's data (--dataset " + p.spec.dataset + ") cannot be loaded" +
                            (relative ? " — a relative path, read from the current directory, not the one it was trained in" : "") + ": ";
  try {  // the data of the spec, named as the checkpoint's, each kind of error kept
    tt = load_data(p.spec);
  } catch (const Interrupted&) {
    throw;
  } catch (const SettingError& e) {
    throw SettingError(whose + e.what());
  } catch (const Error& e) {
    throw Error(whose + e.what());
  }
  p.train = std::move(tt.train);
  p.test = std::move(tt.test);
  for (const auto& [key, d] : {std::pair<const char*, const data::Dataset*>{"train_data", &p.train}, {"test_data", &p.test}})
    if (j.contains(key) && j[key].get<std::string>() != data::fingerprint(*d))
      throw Error(pj.string() + ": the data rebuilt from its spec (" + data::fingerprint(*d) + ") is not the data θ̂ was trained on (" +
                  j[key].get<std::string>() + "): the dataset file changed, or a relative csv:PATH points elsewhere from here");
  p.obj = make_objective(p.spec, p.train, &p.description);
  const nn::Checkpoint ck = nn::load_checkpoint(dir);
  if (ck.model.summary() != p.obj->model().summary())
    throw Error("checkpoint '" + dir + "': model.json holds " + ck.model.summary() + ", its problem.json describes " +
                p.obj->model().summary());
  if (j.contains("loss") && j["loss"].get<std::string>() != nn::loss_name(p.obj->loss()))
    throw Error(pj.string() + ": loss " + j["loss"].dump() + " does not match the model's " + nn::loss_name(p.obj->loss()));
  p.obj->check_fits(p.train);
  p.theta = ck.theta;
  if (const std::string bad = p.obj->model().first_non_finite(p.theta); !bad.empty())
    throw Error("checkpoint '" + dir + "': parameter " + bad + " holds a NaN or infinity; no derivative or influence at such a θ means anything");
  if (fs::exists(fs::path(dir) / "trajectory.json")) {
    const fs::path tj = fs::path(dir) / "trajectory.json";
    json t;
    try {
      std::ifstream in(tj);
      t = json::parse(in);
    } catch (const std::exception& e) {
      throw Error(tj.string() + ": not valid JSON (" + e.what() + ")");
    }
    const Tensor all = nn::load_npy((fs::path(dir) / "trajectory.npy").string());
    for (const char* key : {"steps", "learning_rates"})
      if (!t.is_object() || !t.contains(key) || !t[key].is_array())
        throw Error(tj.string() + ": no list '" + key + "' (write it with `inflab train --save-steps`)");
    const auto& steps = t.at("steps");
    const auto& rates = t.at("learning_rates");
    if (all.dimension() != 2 || all.shape(0) != steps.size() || rates.size() != steps.size() || all.shape(1) != p.theta.size())
      throw Error(tj.string() + ": " + std::to_string(steps.size()) + " steps do not match trajectory.npy of shape " + shape_str(shape_of(all)) +
                  " for p = " + std::to_string(p.theta.size()));
    for (std::size_t m = 0; m < steps.size(); ++m) {
      Tensor th = Tensor::from_shape({p.theta.size()});
      std::copy(all.data() + m * p.theta.size(), all.data() + (m + 1) * p.theta.size(), th.data());
      if (!steps[m].is_number_unsigned() || !rates[m].is_number())
        throw Error(tj.string() + ": entry " + std::to_string(m) + " of 'steps' or 'learning_rates' is not a number");
      p.trajectory.push_back({steps[m].get<std::size_t>(), rates[m].get<double>(), th});
    }
  }
  const json& f = j.at("fit");
  p.fit = {dir, f.value("optimizer", ""), f.value("steps", std::size_t{0}), f.value("loss", 0.0),
           f.value("grad_norm", 0.0), f.value("converged", false), f.value("stop_reason", "")};
  // measured here, on the rebuilt data: a mismatch shows as a non-stationary θ̂
  const auto vg = ad::value_and_grad(p.obj->fn(p.train), p.theta);
  p.fit.loss = vg.value;
  p.fit.grad_norm = norm2(vg.grad);
  p.train_accuracy = p.obj->accuracy(p.theta, p.train);
  p.test_accuracy = p.obj->accuracy(p.theta, p.test);
  return p;
}

std::vector<std::size_t> pick_test_rows(const std::string& spec, const Problem& p, std::uint64_t seed) {
  const std::size_t m = p.test.size();
  if (spec == "highest") {
    std::size_t best = 0;
    double worst = -1;
    for (std::size_t i = 0; i < m; ++i) {
      double l = 0;
      test_loss_gradient(*p.obj, p.test, {i}, p.theta, &l);
      if (!std::isfinite(l)) throw Error("the loss of test row " + std::to_string(i) + " is " + std::to_string(l) + " at θ̂");
      if (l > worst) worst = l, best = i;
    }
    return {best};
  }
  auto whole = [&](const std::string& s) -> std::size_t {  // short enough not to overflow
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      throw Error("test '" + spec + "': expected highest, random:K or row numbers like 3,8");
    return std::stoul(s);
  };
  if (spec.rfind("random:", 0) == 0) {
    const std::size_t k = whole(spec.substr(7));
    if (k == 0 || k > m) throw Error("test " + spec + ": K must be in 1.." + std::to_string(m));
    auto r = data::permutation(m, seed);
    r.resize(k);
    return r;
  }
  std::vector<std::size_t> rows;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t end = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, end - start);
    const std::size_t r = whole(item);
    if (r >= m) throw Error("test row " + item + " out of range: the test set has " + std::to_string(m) + " rows");
    if (std::find(rows.begin(), rows.end(), r) != rows.end()) throw Error("test lists row " + item + " twice");
    rows.push_back(r);
    start = end + 1;
  }
  return rows;
}

std::vector<Tensor> trained_models(const Problem& p, std::size_t models, bool progress) {
  if (models == 0) throw Error("TRAK: the number of models must be at least 1");
  std::vector<Tensor> out = {p.theta};
  for (std::size_t mi = 1; mi < models; ++mi) {
    ProblemSpec s = p.spec;
    s.seed = p.spec.seed + 1000003 * mi;
    out.push_back(nn::train(*p.obj, p.train, p.obj->model().init(s.seed), train_options(s, progress)).theta);
  }
  return out;
}

Trained trained(const Problem& p, bool progress) {
  Trained t{*p.obj, p.train, p.test, p.theta};
  t.trajectory = &p.trajectory;
  t.ensemble = [&p, progress](std::size_t models) { return trained_models(p, models, progress); };
  if (p.spec.optimizer == nn::Optimizer::Sgd) t.run = influence::TrainingRun{p.obj->model().init(p.spec.seed), train_options(p.spec, false)};
  return t;
}

}  // namespace inflab::experiments
