#include "nn/flat_mlp.hpp"

#include <cmath>
#include <random>

#include "autodiff/ops.hpp"

namespace inflab::nn {

Activation parse_activation(const std::string& name) {
  for (Activation a : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Softplus,
                       Activation::Elu, Activation::Selu, Activation::Gelu})
    if (name == activation_name(a)) return a;
  throw Error("unknown activation '" + name +
              "' (choose tanh, relu, sigmoid, softplus, elu, selu or gelu)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Tanh: return "tanh";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Softplus: return "softplus";
    case Activation::Elu: return "elu";
    case Activation::Selu: return "selu";
    case Activation::Gelu: return "gelu";
  }
  return "?";
}

namespace {
ad::Var activate(Activation a, ad::Var x) {
  switch (a) {
    case Activation::Tanh: return ad::tanh(x);
    case Activation::Relu: return ad::relu(x);
    case Activation::Sigmoid: return ad::sigmoid(x);
    case Activation::Softplus: return ad::softplus(x);
    case Activation::Elu: return ad::elu(x);
    case Activation::Selu: return ad::selu(x);
    case Activation::Gelu: return ad::gelu(x);
  }
  return x;
}
}  // namespace

std::size_t Mlp::param_count() const {
  if (sizes.size() < 2) throw Error("Mlp: needs at least input and output sizes");
  std::size_t p = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) p += sizes[l + 1] * sizes[l] + sizes[l + 1];
  return p;
}

ad::Var Mlp::logits(ad::Var theta, ad::Var X) const {
  const std::size_t p = param_count();
  if (theta.shape() != Shape{p})
    throw Error("Mlp: θ has shape " + shape_str(theta.shape()) + " but the MLP " +
                shape_str(Shape(sizes.begin(), sizes.end())) + " has " + std::to_string(p) +
                " parameters");
  const Shape sx = X.shape();
  if (sx.size() != 2 || sx[1] != sizes.front())
    throw Error("Mlp: inputs have shape " + shape_str(sx) + " but the MLP expects [n, " +
                std::to_string(sizes.front()) + "]");
  ad::Var h = X;
  std::size_t off = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::size_t in = sizes[l], out = sizes[l + 1];
    ad::Var W = ad::reshape(ad::slice(theta, off, off + out * in), Shape{out, in});
    off += out * in;
    ad::Var b = ad::slice(theta, off, off + out);
    off += out;
    h = ad::add(ad::matmul(h, ad::transpose(W)), b);
    if (l + 2 < sizes.size()) h = activate(activation, h);
  }
  return h;
}

Tensor Mlp::init(std::uint64_t seed) const {
  Tensor theta = zeros(Shape{param_count()});
  std::mt19937_64 rng(seed);
  std::size_t off = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::size_t in = sizes[l], out = sizes[l + 1];
    const double a = std::sqrt(6.0 / static_cast<double>(in + out));
    std::uniform_real_distribution<double> u(-a, a);
    for (std::size_t i = 0; i < out * in; ++i) theta.data()[off + i] = u(rng);
    off += out * in + out;
  }
  return theta;
}

}  // namespace inflab::nn
