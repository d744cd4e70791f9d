#include "cli/problem.hpp"

#include <algorithm>
#include <cmath>

#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "datasets/split.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"
#include "influence/influence.hpp"
#include "nn/builders.hpp"
#include "nn/checkpoint.hpp"

namespace inflab::cli {

ProblemOptions read_problem(Args& a, const ProblemOptions& d) {
  ProblemOptions o;
  o.dataset = a.text("dataset", d.dataset);
  // "all" undoes a default class selection (study groups picks two Iris classes)
  if (a.given("classes") && a.text("classes", "") == "all") o.classes.clear();
  else o.classes = a.counts("classes", d.classes);
  o.n_train = a.count("n-train", d.n_train);
  o.n_test = a.count("n-test", d.n_test);
  o.test_fraction = a.real("test-fraction", d.test_fraction, 0.01, 0.9);
  o.checkpoint = a.text("checkpoint", d.checkpoint);
  o.model = a.text("model", d.model, {"logreg", "softmax", "mlp", "cnn"});
  o.depth = a.count("depth", d.depth, 1, 64);
  o.width = a.count("width", d.width, 1, 100000);
  o.activation = a.text("activation", d.activation, {"tanh", "relu", "sigmoid", "softplus", "elu", "selu", "gelu"});
  o.weight_decay = a.real("weight-decay", d.weight_decay, 0, 1e6);
  o.optimizer = a.text("optimizer", o.model == "cnn" && !a.given("optimizer") ? "adam" : d.optimizer, {"lbfgs", "newton", "adam", "sgd"});
  o.epochs = a.count("epochs", d.epochs, 1);
  o.batch_size = a.count("batch-size", d.batch_size);
  o.max_steps = a.count("max-steps", d.max_steps);
  o.lr = a.real("lr", d.lr, 1e-12, 1e3);
  o.grad_tol = a.real("grad-tol", d.grad_tol, 0, 1e3);
  o.seed = a.count("seed", d.seed);
  if (!o.checkpoint.empty() && (a.given("model") || a.given("depth") || a.given("width") || a.given("activation")))
    throw UsageError("--checkpoint gives the model; do not also give --model, --depth, --width or --activation");
  return o;
}

std::string problem_usage() {
  return R"(problem options (every command):
  --dataset NAME        iris (default), wine, breast-cancer, digits, fashion-mnist, blobs, moons, csv:PATH
  --classes A,B,...     keep these classes (relabelled 0..); all: every class
  --n-train N --n-test N  subsample (fashion-mnist defaults: 1000 and 500)
  --test-fraction F     test share of the tabular sets (0.2)
  --model M             logreg (2 classes), softmax, mlp (default), cnn (images)
  --depth D --width W --activation A   MLP: D hidden layers of W units (1, 16, tanh)
  --weight-decay L      λ in R(θ) = mean ℓ + λ/2 ‖θ‖² (0.001)
  --optimizer O         lbfgs (default; adam for cnn), newton, adam, sgd
  --grad-tol T --max-steps N --epochs N --lr R --batch-size N
  --checkpoint DIR      use a trained model (from `inflab train`) instead of training
  --seed S              data split, initialisation and every random choice (0)
)";
}

data::Dataset load_named(const std::string& name, bool train_split) {
  if (name == "iris") return data::load_iris();
  if (name == "wine") return data::load_wine();
  if (name == "breast-cancer") return data::load_breast_cancer();
  if (name == "digits") return data::load_digits();
  if (name == "fashion-mnist") return data::load_fashion_mnist(train_split ? data::Split::Train : data::Split::Test);
  if (name == "blobs") return data::blobs(250, 2, 10, 2.0, 1.0, 5);
  if (name == "moons") return data::two_moons(400, 0.2, 5);
  if (name.rfind("csv:", 0) == 0) return data::read_csv(name.substr(4));
  throw UsageError("unknown dataset '" + name + "' (choose iris, wine, breast-cancer, digits, fashion-mnist, blobs, moons or csv:PATH)");
}

namespace {
data::TrainTest load_split(const ProblemOptions& o, bool images) {
  data::TrainTest tt;
  if (o.dataset == "fashion-mnist") {
    tt.train = load_named(o.dataset, true);
    tt.test = load_named(o.dataset, false);
    if (!o.classes.empty()) tt.train = data::select_classes(tt.train, o.classes), tt.test = data::select_classes(tt.test, o.classes);
    tt.train = data::random_n(tt.train, std::min(o.n_train ? o.n_train : 1000, tt.train.size()), o.seed);
    tt.test = data::random_n(tt.test, std::min(o.n_test ? o.n_test : 500, tt.test.size()), o.seed + 1);
    data::scale_pixels(tt.train);
    data::scale_pixels(tt.test);
    if (!images) data::flatten(tt.train), data::flatten(tt.test);
    return tt;
  }
  data::Dataset d = load_named(o.dataset, true);
  if (!o.classes.empty()) d = data::select_classes(d, o.classes);
  tt = data::stratified_split(d, o.test_fraction, o.seed);
  if (o.n_train && o.n_train < tt.train.size()) tt.train = data::random_n(tt.train, o.n_train, o.seed);
  if (o.n_test && o.n_test < tt.test.size()) tt.test = data::random_n(tt.test, o.n_test, o.seed + 1);
  const data::Standardizer s = data::Standardizer::fit(tt.train);
  s.apply(tt.train);
  s.apply(tt.test);
  return tt;
}
}  // namespace

Problem build_problem(const ProblemOptions& o, bool progress) {
  Problem p;
  std::unique_ptr<nn::Checkpoint> ck;
  if (!o.checkpoint.empty()) ck = std::make_unique<nn::Checkpoint>(nn::load_checkpoint(o.checkpoint));
  const bool images = ck ? ck->model.input_shape().size() == 3 : o.model == "cnn";
  data::TrainTest tt = load_split(o, images);
  p.train = std::move(tt.train);
  p.test = std::move(tt.test);
  if (!p.train.is_classification()) throw UsageError("dataset '" + o.dataset + "' has no classes; inflab's commands are for classifiers");
  const std::size_t C = p.train.num_classes(), in = numel(p.train.sample_shape());
  if (ck) {
    const nn::LossKind loss = ck->model.output_shape().size() == 1 && ck->model.output_shape()[0] == 1
                                  ? nn::LossKind::BinaryLogistic : nn::LossKind::CrossEntropy;
    p.obj = std::make_unique<nn::Objective>(ck->model, loss, o.weight_decay);
    p.obj->check_fits(p.train);
    p.theta = ck->theta;
    p.description = "the model in " + o.checkpoint;
  } else {
    const nn::Activation act = nn::parse_activation(o.activation);
    if (o.model == "logreg") {
      if (C != 2)
        throw UsageError("--model logreg needs 2 classes; '" + o.dataset + "' has " + std::to_string(C) +
                         " (pick two with --classes A,B, or use --model softmax)");
      p.obj = std::make_unique<nn::Objective>(nn::logistic_regression(in), nn::LossKind::BinaryLogistic, o.weight_decay);
    } else if (o.model == "softmax") {
      p.obj = std::make_unique<nn::Objective>(nn::softmax_regression(in, C), nn::LossKind::CrossEntropy, o.weight_decay);
    } else if (o.model == "mlp") {
      p.obj = std::make_unique<nn::Objective>(nn::mlp(in, o.depth, o.width, act, C), nn::LossKind::CrossEntropy, o.weight_decay);
    } else {
      if (p.train.sample_shape().size() != 3)
        throw UsageError("--model cnn needs images; '" + o.dataset + "' has samples of shape " + shape_str(p.train.sample_shape()));
      p.obj = std::make_unique<nn::Objective>(nn::small_cnn(p.train.sample_shape(), C, act), nn::LossKind::CrossEntropy, o.weight_decay);
    }
    const std::string shape = std::to_string(in) + (o.model == "mlp" ? [&] {
      std::string h;
      for (std::size_t l = 0; l < o.depth; ++l) h += "-" + std::to_string(o.width);
      return h;
    }() : std::string()) + "-" + std::to_string(o.model == "logreg" ? 1 : C);
    p.description = o.model == "logreg"    ? "logistic regression " + shape
                    : o.model == "softmax" ? "softmax regression " + shape
                    : o.model == "mlp"     ? "MLP " + shape + " (" + o.activation + ")"
                                           : "small CNN (" + o.activation + ")";
    nn::TrainOptions t;
    t.optimizer = o.optimizer;
    t.grad_tol = o.grad_tol;
    t.max_steps = o.max_steps;
    t.epochs = o.epochs;
    t.lr = o.lr;
    t.batch_size = o.batch_size;
    t.seed = o.seed;
    t.progress = progress;
    p.fit = nn::train(*p.obj, p.train, p.obj->model().init(o.seed), t);
    p.theta = p.fit.theta;
  }
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
      influence::test_loss_gradient(*p.obj, p.test, {i}, p.theta, &l);
      if (!std::isfinite(l)) throw Error("the loss of test row " + std::to_string(i) + " is " + std::to_string(l) + " at θ̂");
      if (l > worst) worst = l, best = i;
    }
    return {best};
  }
  // whole numbers only, and short enough not to overflow
  auto whole = [&](const std::string& s) -> std::size_t {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--test '" + spec + "': expected highest, random:K or row numbers like 3,8");
    return std::stoul(s);
  };
  if (spec.rfind("random:", 0) == 0) {
    const std::size_t k = whole(spec.substr(7));
    if (k == 0 || k > m) throw UsageError("--test " + spec + ": K must be in 1.." + std::to_string(m));
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
    if (r >= m) throw UsageError("--test row " + item + " out of range: the test set has " + std::to_string(m) + " rows");
    if (std::find(rows.begin(), rows.end(), r) != rows.end()) throw UsageError("--test lists row " + item + " twice");
    rows.push_back(r);
    start = end + 1;
  }
  return rows;
}

}  // namespace inflab::cli
