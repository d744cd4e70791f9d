// The functional front over a flat parameter vector θ ∈ Rᵖ (1-D tensor).
//   f : Var(θ) -> Var            any differentiable function built from ops
// Recording runs f once at θ; grad, jvp, vjp and hvp then reuse that primal pass, so the
// many HVPs a solver needs at one θ cost only tangent and adjoint sweeps. Directions
// given as [k, p] are pushed through together (GEMM instead of GEMV).
#pragma once
#include <functional>
#include <memory>

#include "autodiff/tape.hpp"

namespace inflab::ad {

using Fn = std::function<Var(Var)>;

class Recording {
 public:
  Recording(const Fn& f, const Tensor& theta);
  const Tensor& value() const;  // f(θ)
  double scalar_value() const;  // f(θ) when f is scalar
  std::size_t dim() const { return p_; }
  Tensor grad();                // ∇f(θ)                  [p]      (f scalar)
  Tensor vjp(const Tensor& w);  // wᵀ J, w shaped as f(θ)  [p]
  Tensor jvp(const Tensor& v);  // J v: [p] -> f's shape;  [k, p] -> [k, ...f's shape]
  Tensor hvp(const Tensor& v);  // H v: [p] -> [p];        [k, p] -> [k, p]  (f scalar)
  std::size_t tape_size() const { return tape_->size(); }

 private:
  std::size_t directions(const Tensor& v, const char* op) const;  // k, or 0 for [p]
  void require_scalar(const char* op) const;
  std::unique_ptr<Tape> tape_;
  Var theta_, out_;
  std::size_t p_;
};

struct ValueGrad {
  double value;
  Tensor grad;
};
struct ValueTangent {
  Tensor value;
  Tensor tangent;
};
ValueGrad value_and_grad(const Fn& f, const Tensor& theta);
ValueTangent jvp(const Fn& f, const Tensor& theta, const Tensor& v);
Tensor vjp(const Fn& f, const Tensor& theta, const Tensor& w);
Tensor hvp(const Fn& f, const Tensor& theta, const Tensor& v);  // v [p] or [k, p]
// Dense Hessian [p, p] from batched HVPs against identity blocks of `block` columns (32: the
// tangents of a block stay in cache; 10% faster than 64 on the 4-16-16-3 MLP, docs/performance.md).
Tensor hessian(const Fn& f, const Tensor& theta, std::size_t block = 32);
// The one dense assembly of a linear map M on Rᵖ known by its products: `apply(E)` with
// E = [k, p] (k ≤ block rows of the identity) returns [k, p] whose row j is M eⱼ; the result
// is [p, p] with M eⱼ in column j (for symmetric M, row j too). Used by hessian() and by
// influence::dense_matrix (the curvature operator).
Tensor dense_from_products(std::size_t p, const std::function<Tensor(const Tensor&)>& apply, std::size_t block = 32);

}  // namespace inflab::ad
