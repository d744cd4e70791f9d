// The layers. Parameter layouts follow PyTorch: Linear weight [out, in] (y = x Wᵀ + b),
// Conv2d weight [out_c, in_c, k, k]; inputs are [n, features] or NCHW. Default init is
// PyTorch's: U(−1/√fan_in, 1/√fan_in) for weights and biases (Kaiming-uniform, a = √5).
#pragma once
#include <functional>
#include <vector>

#include "nn/module.hpp"

namespace inflab::nn {

enum class Activation { Tanh, Relu, Sigmoid, Softplus, Elu, Selu, Gelu };
Activation parse_activation(const std::string& name);  // Error lists the choices
const char* activation_name(Activation a);
ad::Var activate(Activation a, ad::Var x);

class Linear : public Module {
 public:
  Linear(std::size_t in, std::size_t out, bool bias = true);
  std::string kind() const override { return "Linear"; }
  Shape output_shape(const Shape& in) const override;
  void params(std::vector<ParamSpec>& out, const std::string& prefix) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  std::size_t in, out;
  bool bias;
};

class Conv2d : public Module {
 public:
  Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, std::size_t stride = 1,
         std::size_t padding = 0, bool bias = true);
  std::string kind() const override { return "Conv2d"; }
  Shape output_shape(const Shape& in) const override;
  void params(std::vector<ParamSpec>& out, const std::string& prefix) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  std::size_t in_channels, out_channels, kernel, stride, padding;
  bool bias;
};

class Pool2d : public Module {
 public:
  Pool2d(bool max, std::size_t kernel, std::size_t stride = 0);
  std::string kind() const override { return max ? "MaxPool2d" : "AvgPool2d"; }
  Shape output_shape(const Shape& in) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  bool max;
  std::size_t kernel, stride;  // stride 0 means = kernel
};

class Flatten : public Module {
 public:
  std::string kind() const override { return "Flatten"; }
  Shape output_shape(const Shape& in) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
};

class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(Activation a) : act(a) {}
  std::string kind() const override { return "Activation"; }
  Shape output_shape(const Shape& in) const override { return in; }
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  Activation act;
};

class Sequential : public Module {
 public:
  explicit Sequential(std::vector<ModulePtr> layers);
  std::string kind() const override { return "Sequential"; }
  Shape output_shape(const Shape& in) const override;
  void params(std::vector<ParamSpec>& out, const std::string& prefix) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  std::vector<ModulePtr> layers;
};

// y = act(body(x) + skip(x)); skip is the identity, or `projection` (e.g. a 1×1 Conv2d)
// when body changes the shape.
class Residual : public Module {
 public:
  Residual(ModulePtr body, ModulePtr projection, Activation act);
  std::string kind() const override { return "Residual"; }
  Shape output_shape(const Shape& in) const override;
  void params(std::vector<ParamSpec>& out, const std::string& prefix) const override;
  ad::Var forward(ad::Var x, ParamCursor& p) const override;
  void to_json(nlohmann::json& j) const override;
  ModulePtr body, projection;  // projection may be null
  Activation act;
};

// The one walk of a module tree: Sequential and Residual compose their children as their
// forward does (which is this walk); every other module, a leaf, is evaluated by `leaf`
// (e.g. to observe a layer's input and output).
using LeafForward = std::function<ad::Var(const Module& leaf, ad::Var x, ParamCursor& p)>;
ad::Var forward_leaves(const Module& m, ad::Var x, ParamCursor& p, const LeafForward& leaf);

}  // namespace inflab::nn
