// A multilayer perceptron as a function of one flat parameter vector θ (the view the
// influence code works in). Layer l has W_l [out, in] then b_l [out] in θ, and computes
// y = x W_lᵀ + b_l (the PyTorch nn.Linear layout). The nn issue builds full modules on top.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/tape.hpp"

namespace inflab::nn {

enum class Activation { Tanh, Relu, Sigmoid, Softplus, Elu, Selu, Gelu };
Activation parse_activation(const std::string& name);  // throws Error listing the choices
const char* activation_name(Activation a);

struct Mlp {
  std::vector<std::size_t> sizes;  // input, hidden..., output
  Activation activation = Activation::Tanh;

  std::size_t param_count() const;
  // Logits [n, sizes.back()] for inputs X [n, sizes.front()].
  ad::Var logits(ad::Var theta, ad::Var X) const;
  // Xavier/Glorot-uniform weights, zero biases; seeded.
  Tensor init(std::uint64_t seed) const;
};

}  // namespace inflab::nn
