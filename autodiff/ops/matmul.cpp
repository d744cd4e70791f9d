// Matrix product through BLAS. Ẏ = ȦB + AḂ (k directions stacked into one GEMM where the
// layout allows); Ā += G Bᵀ, B̄ += Aᵀ G in Dual arithmetic.
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

Var matmul(Var a, Var b) {
  Tape& tape = detail::tape_of("matmul", a);
  detail::tape_of("matmul", b);
  Tensor v = ad::matmul_value(a.value(), b.value());  // checks shapes
  return tape.record("matmul", {a, b}, std::move(v),
      [](const Ctx& c) { return ad::matmul(c.x(0), c.x(1), false, false, false).t; },
      [](Ctx& c) {
        const bool v = !c.values_cached();
        if (c.active(0)) c.acc(0, ad::matmul(c.g(), c.x(1), false, true, v));
        if (c.active(1)) c.acc(1, ad::matmul(c.x(0), c.g(), true, false, v));
      });
}

// Y = A Bᵀ: Ā += G B, B̄ += Gᵀ A; BLAS reads B transposed in place.
Var matmul_nt(Var a, Var b) {
  Tape& tape = detail::tape_of("matmul_nt", a);
  detail::tape_of("matmul_nt", b);
  const Shape sa = shape_of(a.value()), sb = shape_of(b.value());
  if (sa.size() != 2 || sb.size() != 2 || sa[1] != sb[1])
    throw Error("matmul_nt: expected [m, k] @ [n, k]ᵀ, got " + shape_str(sa) + " @ " + shape_str(sb) + "ᵀ");
  Tensor v = ad::matmul_value(a.value(), b.value(), false, true);
  return tape.record("matmul_nt", {a, b}, std::move(v),
      [](const Ctx& c) { return ad::matmul(c.x(0), c.x(1), false, true, false).t; },
      [](Ctx& c) {
        const bool v = !c.values_cached();
        if (c.active(0)) c.acc(0, ad::matmul(c.g(), c.x(1), false, false, v));
        if (c.active(1)) c.acc(1, ad::matmul(c.g(), c.x(0), true, false, v));
      });
}

}  // namespace inflab::ad
