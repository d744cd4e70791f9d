// Reductions. sum's backward broadcasts the dual adjoint back; sq_norm's is 2 g x.
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {
using detail::tape_of;

// y = Σ a (0-d)
Var sum(Var a) {
  Tape& tape = tape_of("sum", a);
  const Shape s = a.shape();
  Tensor v = sum_all(Dual(a.value())).v;
  return tape.record("sum", {a}, std::move(v),
      [](const Ctx& c) { return sum_all(c.x(0)).t; },
      [s](Ctx& c) { c.acc(0, broadcast_to(c.g(), s)); });
}

// y = Σ over one axis
Var sum_axis(Var a, int axis, bool keepdims) {
  Tape& tape = tape_of("sum_axis", a);
  const Shape s = a.shape();
  Tensor v = ad::sum_axis(Dual(a.value()), axis, keepdims).v;
  const int r = static_cast<int>(s.size());
  const int ax = axis < 0 ? axis + r : axis;
  Shape kept = s;
  kept[ax] = 1;
  return tape.record("sum_axis", {a}, std::move(v),
      [axis, keepdims](const Ctx& c) { return ad::sum_axis(c.x(0), axis, keepdims).t; },
      [s, kept](Ctx& c) { c.acc(0, broadcast_to(reshaped(c.g(), kept), s)); });
}

Var mean(Var a) {
  const std::size_t n = numel(a.shape());
  if (n == 0) throw Error("mean: empty tensor of shape " + shape_str(a.shape()));
  return mul_scalar(sum(a), 1.0 / static_cast<double>(n));
}

Var mean_axis(Var a, int axis, bool keepdims) {
  const Shape s = a.shape();
  const int r = static_cast<int>(s.size());
  const int ax = axis < 0 ? axis + r : axis;
  if (ax < 0 || ax >= r || s[ax] == 0)
    throw Error("mean_axis: axis " + std::to_string(axis) + " invalid for shape " + shape_str(s));
  return mul_scalar(sum_axis(a, axis, keepdims), 1.0 / static_cast<double>(s[ax]));
}

// y = ‖a‖²;  ẏ = 2⟨a, ȧ⟩;  ā += 2 g a
Var sq_norm(Var a) {
  Tape& tape = tape_of("sq_norm", a);
  const Shape s = a.shape();
  Tensor v = scalar(dot(a.value(), a.value()));
  // Written out (the same sums in the same order as 2·Σ x∘ẋ and 2(g x)ᵀ in Dual arithmetic),
  // without θ-sized temporaries: weight decay's term in every HVP.
  return tape.record("sq_norm", {a}, std::move(v),
      [](const Ctx& c) {  // d‖x‖² = 2 Σᵢ xᵢ ẋᵢ per direction
        const Dual& x = c.x(0);
        if (!x.k) return Tensor();
        const std::size_t n = x.v.size();
        Tensor t = zeros(Shape{x.k});
        for (std::size_t j = 0; j < x.k; ++j) {
          const double* xt = x.t.data() + j * n;
          double sj = 0;
          for (std::size_t i = 0; i < n; ++i) sj += xt[i] * x.v.data()[i];
          t(j) = 2.0 * sj;
        }
        return t;
      },
      [s](Ctx& c) {  // x̄ += 2 g x, its tangents 2 (ġ x + g ẋ)
        const Dual &g = c.g(), &x = c.x(0);
        const std::size_t n = x.v.size(), k = std::max(g.k, x.k);
        if (g.k && x.k && g.k != x.k) throw Error("sq_norm: tangent counts differ");
        const double gv = g.v.data()[0];
        Dual d;
        if (!c.values_cached()) {
          d.v = zeros(s);
          for (std::size_t i = 0; i < n; ++i) d.v.data()[i] = 2.0 * (gv * x.v.data()[i]);
        }
        if (k) {
          d.k = k;
          d.t = with_leading(k, s);
          for (std::size_t j = 0; j < k; ++j) {
            double* t = d.t.data() + j * n;
            const double *xv = x.v.data(), *xt = x.k ? x.t.data() + j * n : nullptr, gt = g.k ? g.t.data()[j] : 0.0;
            if (g.k && x.k)
              for (std::size_t i = 0; i < n; ++i) t[i] = 2.0 * (gt * xv[i] + gv * xt[i]);
            else if (g.k)
              for (std::size_t i = 0; i < n; ++i) t[i] = 2.0 * (gt * xv[i]);
            else
              for (std::size_t i = 0; i < n; ++i) t[i] = 2.0 * (gv * xt[i]);
          }
        }
        c.acc(0, std::move(d));
      });
}

}  // namespace inflab::ad
