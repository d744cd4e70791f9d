// Every layer's gradient, HVP, symmetry and Taylor rates with the autodiff checkers, with
// respect to its parameters and its input together (θ = [params, x]).
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "nn/builders.hpp"

using namespace inflab;
using namespace inflab::ad;
using namespace inflab::nn;

namespace {
enum class Inputs { Any, AwayFromZero, Distinct };

void check_layer(const std::string& label, ModulePtr layer, const Shape& sample, std::size_t n, Inputs kind,
                 std::uint64_t seed) {
  INFO("layer: " << label);
  const Model m(std::make_shared<Sequential>(std::vector<ModulePtr>{layer}), sample);
  const std::size_t p = m.param_count(), nx = n * numel(sample);
  Tensor theta = zeros({p + nx});
  const Tensor t0 = m.init(seed);
  std::copy(t0.data(), t0.data() + p, theta.data());
  Tensor x = random_normal({nx}, seed + 1);
  for (std::size_t i = 0; i < nx; ++i) {
    if (kind == Inputs::AwayFromZero) x(i) = (x(i) < 0 ? -1 : 1) * (0.2 + std::fabs(x(i)));
    if (kind == Inputs::Distinct) x(i) = 0.1 * static_cast<double>((i * 7919) % nx) - 0.05 * static_cast<double>(nx);
  }
  std::copy(x.data(), x.data() + nx, theta.data() + p);
  Shape xs{n};
  xs.insert(xs.end(), sample.begin(), sample.end());
  Shape ys{n};
  for (auto d : m.output_shape()) ys.push_back(d);
  const Tensor w = random_normal(ys, seed + 2), c = random_normal(ys, seed + 3), d3 = random_normal(ys, seed + 4);
  Fn s = [&](Var th) {
    Var X = reshape(slice(th, p, p + nx), xs);
    Var y = m.forward(slice(th, 0, p), X);
    Var y2 = square(y);
    return add(add(sum(mul(y, th.tape->leaf(w, false))), mul_scalar(sum(mul(y2, th.tape->leaf(c, false))), 0.5)),
               mul_scalar(sum(mul(mul(y2, y), th.tape->leaf(d3, false))), 1.0 / 6));
  };
  const GradCheck g = check_gradient(s, theta, seed);
  CHECK(g.rel_err < 1e-6);
  const Tensor v = random_normal({p + nx}, seed + 5);
  CHECK(check_hvp(s, theta, v).rel_err < 1e-6);
  CHECK(check_symmetry(s, theta, v, random_normal({p + nx}, seed + 6)).rel_diff < 1e-12);
  const TaylorCheck t = taylor_test(s, theta, v, 1e-2, 10);
  CHECK(std::fabs(t.order1 - 2) < 0.1);
  CHECK(std::fabs(t.order2 - 3) < 0.1);
}
template <class T, class... A>
ModulePtr mk(A... a) {
  return std::make_shared<T>(a...);
}
}  // namespace

TEST_CASE("Linear") { check_layer("Linear(5 → 3)", mk<Linear>(5, 3), {5}, 4, Inputs::Any, 10); }
TEST_CASE("Linear without bias") { check_layer("Linear(4 → 2, no bias)", mk<Linear>(4, 2, false), {4}, 3, Inputs::Any, 11); }
TEST_CASE("Conv2d") { check_layer("Conv2d(2 → 3, 3×3, stride 2, pad 1)", mk<Conv2d>(2, 3, 3, 2, 1), {2, 5, 5}, 2, Inputs::Any, 12); }
TEST_CASE("MaxPool2d") { check_layer("MaxPool2d(2)", mk<Pool2d>(true, 2), {2, 4, 4}, 2, Inputs::Distinct, 13); }
TEST_CASE("AvgPool2d") { check_layer("AvgPool2d(3, stride 1)", mk<Pool2d>(false, 3, 1), {1, 5, 5}, 2, Inputs::Any, 14); }
TEST_CASE("Flatten") { check_layer("Flatten", mk<Flatten>(), {2, 3, 2}, 2, Inputs::Any, 15); }
TEST_CASE("activations") {
  for (Activation a : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Softplus,
                       Activation::Elu, Activation::Selu, Activation::Gelu}) {
    const bool kink = a == Activation::Relu || a == Activation::Elu || a == Activation::Selu;
    check_layer(activation_name(a), mk<ActivationLayer>(a), {6}, 3, kink ? Inputs::AwayFromZero : Inputs::Any, 16);
  }
}
TEST_CASE("Sequential") {
  check_layer("Linear → tanh → Linear",
              std::make_shared<Sequential>(std::vector<ModulePtr>{mk<Linear>(4, 5), mk<ActivationLayer>(Activation::Tanh), mk<Linear>(5, 2)}),
              {4}, 3, Inputs::Any, 17);
}
TEST_CASE("Residual, identity and projected skips") {
  ModulePtr body = std::make_shared<Sequential>(std::vector<ModulePtr>{mk<Conv2d>(2, 2, 3, 1, 1), mk<ActivationLayer>(Activation::Tanh), mk<Conv2d>(2, 2, 3, 1, 1)});
  check_layer("Residual(identity)", std::make_shared<Residual>(body, nullptr, Activation::Softplus), {2, 4, 4}, 2, Inputs::Any, 18);
  ModulePtr body2 = std::make_shared<Sequential>(std::vector<ModulePtr>{mk<Conv2d>(2, 3, 3, 2, 1), mk<ActivationLayer>(Activation::Tanh)});
  check_layer("Residual(1×1 projection, stride 2)", std::make_shared<Residual>(body2, mk<Conv2d>(2, 3, 1, 2, 0), Activation::Tanh),
              {2, 4, 4}, 2, Inputs::Any, 19);
}

TEST_CASE("builders: shapes, parameter tables, and a symmetric HVP through the deep ones") {
  const Model cnn = small_cnn({1, 28, 28}, 10);
  CHECK(cnn.output_shape() == Shape{10});
  CHECK(cnn.param_count() == (8 * 25 + 8) + (16 * 8 * 25 + 16) + (16 * 7 * 7 * 64 + 64) + (64 * 10 + 10));
  CHECK(cnn.params()[0].name == "0.weight");
  CHECK(cnn.params()[0].shape == Shape{8, 1, 5, 5});
  const Model vgg = small_vgg(10);
  CHECK(vgg.output_shape() == Shape{10});
  const Model res = small_resnet(10);
  CHECK(res.output_shape() == Shape{10});
  CHECK(res.params()[2].name == "2.body.0.weight");
  CHECK(mlp(4, 3, 7, Activation::Tanh, 3).param_count() == (4 * 7 + 7) + 2 * (7 * 7 + 7) + (7 * 3 + 3));
  CHECK(mlp(4, 0, 7, Activation::Tanh, 3).param_count() == 4 * 3 + 3);
  // the ResNet at a small input size: HVP symmetric and equal to differences of gradients
  const Model r8 = small_resnet(3, Activation::Tanh, {3, 8, 8});
  const Tensor X = random_normal({2, 3, 8, 8}, 3), th = r8.init(4);
  Fn f = [&](Var t) { return cross_entropy_mean(r8.forward(t, t.tape->leaf(X, false)), {0, 2}); };
  const std::size_t p = r8.param_count();
  CHECK(check_symmetry(f, th, random_normal({p}, 5), random_normal({p}, 6)).rel_diff < 1e-12);
  CHECK(check_hvp(f, th, random_normal({p}, 7)).rel_err < 1e-6);
}

TEST_CASE("a model whose input does not fit says which layer and shapes") {
  std::string msg;
  TapeScope s;
  try {
    small_cnn({3, 28, 28}, 10).forward(constant(zeros({5})), constant(zeros({2, 3, 28, 28})));
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("θ has shape [5]") != std::string::npos);
  try {
    Model(std::make_shared<Sequential>(std::vector<ModulePtr>{mk<Conv2d>(1, 4, 3), mk<Flatten>(), mk<Linear>(10, 2)}), {1, 6, 6});
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("Linear(10 → 2)") != std::string::npos);
  CHECK(msg.find("[64]") != std::string::npos);
  const Model m = mlp(4, 1, 3, Activation::Tanh, 2);
  try {
    m.forward(constant(m.init(1)), constant(zeros({5, 3})));
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find("[5, 3]") != std::string::npos);
}
