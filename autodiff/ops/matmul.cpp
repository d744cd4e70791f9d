// Matrix product through BLAS. Ẏ = ȦB + AḂ (k directions stacked into one GEMM where the
// layout allows); Ā += G Bᵀ, B̄ += Aᵀ G in Dual arithmetic.
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

Var matmul(Var a, Var b) {
  detail::tape_of("matmul", a);
  detail::tape_of("matmul", b);
  Tensor v = ad::matmul(Dual(a.value()), Dual(b.value())).v;  // checks shapes
  return a.tape->record("matmul", {a, b}, std::move(v),
      [](const Ctx& c) { return ad::matmul(c.x(0), c.x(1), false, false, false).t; },
      [](Ctx& c) {
        if (c.active(0)) c.acc(0, ad::matmul(c.g(), c.x(1), false, true));
        if (c.active(1)) c.acc(1, ad::matmul(c.x(0), c.g(), true, false));
      });
}

}  // namespace inflab::ad
