// Modules: layers with named parameters that all live in one flat θ ∈ Rᵖ. A module
// declares its parameters (name, shape, init) once; forward() receives them as Vars cut
// from θ in the same order, so any model is a function θ ↦ outputs that autodiff can
// differentiate to any order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "autodiff/tape.hpp"

namespace inflab::nn {

enum class Init { Uniform, Zero };  // Uniform: U(−bound, bound)

struct ParamSpec {
  std::string name;  // e.g. "0.weight" (PyTorch state_dict style)
  Shape shape;
  Init init = Init::Uniform;
  double bound = 0;  // for Init::Uniform
  std::size_t offset = 0;  // position in θ (filled by Model)
};

// Hands out the parameters of a forward pass from θ, in declaration order.
class ParamCursor {
 public:
  explicit ParamCursor(ad::Var theta) : theta_(theta) {}
  ad::Var next(const Shape& shape);
  std::size_t used() const { return off_; }

 private:
  ad::Var theta_;
  std::size_t off_ = 0;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string kind() const = 0;
  // Output sample shape for an input sample shape (no batch axis); throws Error naming
  // the layer and both shapes when the input does not fit.
  virtual Shape output_shape(const Shape& in) const = 0;
  // Appends this module's parameters (prefixed names) in forward order.
  virtual void params(std::vector<ParamSpec>& out, const std::string& prefix) const { (void)out; (void)prefix; }
  virtual ad::Var forward(ad::Var x, ParamCursor& p) const = 0;  // x [n, ...in]
  virtual void to_json(nlohmann::json& j) const = 0;
};

using ModulePtr = std::shared_ptr<const Module>;

// Rebuilds a module tree from its JSON description (Error on an unknown kind).
ModulePtr module_from_json(const nlohmann::json& j, const std::string& where = "model");

}  // namespace inflab::nn
