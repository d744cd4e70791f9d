// A model: a module tree, the input sample shape it accepts, and its parameter table
// (name, shape, offset in θ). θ is the only parameter storage; named tensors are views
// made on demand (unflatten) or gathered back (flatten).
#pragma once
#include <map>

#include "nn/module.hpp"

namespace inflab::nn {

class Model {
 public:
  Model(ModulePtr root, Shape input_shape);
  const Module& root() const { return *root_; }
  ModulePtr root_ptr() const { return root_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  std::size_t param_count() const { return p_; }

  Tensor init(std::uint64_t seed) const;  // seeded, per ParamSpec
  // X [n, ...input_shape] -> [n, ...output_shape]; Error if θ or X does not fit.
  ad::Var forward(ad::Var theta, ad::Var X) const;
  std::map<std::string, Tensor> unflatten(const Tensor& theta) const;
  Tensor flatten(const std::map<std::string, Tensor>& named) const;
  // The first parameter tensor (in order) holding a NaN or Inf, or "" if none.
  std::string first_non_finite(const Tensor& theta) const;
  std::string summary() const;  // one line per parameter tensor, and p

 private:
  ModulePtr root_;
  Shape input_shape_, output_shape_;
  std::vector<ParamSpec> params_;
  std::size_t p_ = 0;
};

}  // namespace inflab::nn
