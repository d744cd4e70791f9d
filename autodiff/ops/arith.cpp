// Elementwise arithmetic with numpy broadcasting. Backward rules reduce the adjoint back
// to each input's shape (sum_to), in Dual arithmetic.
#include <cmath>

#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {
using detail::tape_of;
using kern::Operand;

namespace {
template <class F>
Tensor ew(const char* op, const Var& a, const Var& b, F f) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = kern::broadcast_shape(sa, sb, op);
  return kern::binary(Operand{a.value().data(), sa, 0}, Operand{b.value().data(), sb, 0}, out, f);
}
Tape& same_tape(const char* op, const Var& a, const Var& b) {
  Tape& t = tape_of(op, a);
  if (&t != &tape_of(op, b)) throw Error(std::string(op) + ": inputs are on different tapes");
  return t;
}
// g summed to an input's shape. A sweep that reuses cached adjoint values keeps only the
// tangents (Ctx::acc), so then only they are formed: no copy of g's value per input.
Dual reduced_adjoint(const Ctx& c, const Dual& g, const Shape& s) {
  if (!c.values_cached()) return sum_to(g, s);
  Dual y;
  if (!g.k) return y;
  const Shape sg = shape_of(g.v);
  y.k = g.k;
  y.t = sg == s ? g.t : kern::sum_to(g.t.data(), sg, g.k, s);
  return y;
}
}  // namespace

// y = a + b;  ẏ = ȧ + ḃ;  ā += g, b̄ += g (summed to shape)
Var add(Var a, Var b) {
  Tape& tape = same_tape("add", a, b);
  Tensor v = ew("add", a, b, [](double x, double y) { return x + y; });
  const Shape sa = a.shape(), sb = b.shape(), so = shape_of(v);
  return tape.record("add", {a, b}, std::move(v),
      [so](const Ctx& c) { return tangent_of_sum(c.x(0), c.x(1), so, 1); },
      [sa, sb](Ctx& c) {
        if (c.active(0)) c.acc(0, reduced_adjoint(c, c.g(), sa));
        if (c.active(1)) c.acc(1, reduced_adjoint(c, c.g(), sb));
      });
}

// y = a − b;  ẏ = ȧ − ḃ;  ā += g, b̄ −= g
Var sub(Var a, Var b) {
  Tape& tape = same_tape("sub", a, b);
  Tensor v = ew("sub", a, b, [](double x, double y) { return x - y; });
  const Shape sa = a.shape(), sb = b.shape(), so = shape_of(v);
  return tape.record("sub", {a, b}, std::move(v),
      [so](const Ctx& c) { return tangent_of_sum(c.x(0), c.x(1), so, -1); },
      [sa, sb](Ctx& c) {
        if (c.active(0)) c.acc(0, sum_to(c.g(), sa));
        if (c.active(1)) c.acc(1, sum_to(-c.g(), sb));
      });
}

// y = a b;  ẏ = ȧ b + a ḃ;  ā += g b, b̄ += g a
Var mul(Var a, Var b) {
  Tape& tape = same_tape("mul", a, b);
  Tensor v = ew("mul", a, b, [](double x, double y) { return x * y; });
  const Shape sa = a.shape(), sb = b.shape(), so = shape_of(v);
  return tape.record("mul", {a, b}, std::move(v),
      [so](const Ctx& c) { return tangent_of_product(c.x(0), c.x(1), so); },
      [sa, sb](Ctx& c) {
        if (c.active(0)) c.acc(0, sum_to(c.g() * c.x(1), sa));
        if (c.active(1)) c.acc(1, sum_to(c.g() * c.x(0), sb));
      });
}

// y = a / b;  ẏ = (ȧ − y ḃ)/b;  ā += g/b, b̄ −= g y / b
Var div(Var a, Var b) {
  Tape& tape = same_tape("div", a, b);
  Tensor v = ew("div", a, b, [](double x, double y) { return x / y; });
  const Shape sa = a.shape(), sb = b.shape();
  return tape.record("div", {a, b}, std::move(v),
      [](const Ctx& c) { return (c.x(0) / c.x(1)).t; },
      [sa, sb](Ctx& c) {
        if (c.active(0)) c.acc(0, sum_to(c.g() / c.x(1), sa));
        if (c.active(1)) c.acc(1, sum_to(-(c.g() * c.y()) / c.x(1), sb));
      });
}

// y = −a
Var neg(Var a) {
  Tape& tape = tape_of("neg", a);
  Tensor v = kern::map(a.value(), [](double x) { return -x; });
  return tape.record("neg", {a}, std::move(v),
      [](const Ctx& c) { return (-c.x(0)).t; },
      [](Ctx& c) { c.acc(0, -c.g()); });
}

// y = a + c
Var add_scalar(Var a, double s) {
  Tape& tape = tape_of("add_scalar", a);
  Tensor v = kern::map(a.value(), [s](double x) { return x + s; });
  return tape.record("add_scalar", {a}, std::move(v),
      [](const Ctx& c) { return c.x(0).t; },
      [](Ctx& c) { c.acc(0, Dual(c.g())); });
}

// y = c a
Var mul_scalar(Var a, double s) {
  Tape& tape = tape_of("mul_scalar", a);
  Tensor v = kern::map(a.value(), [s](double x) { return s * x; });
  return tape.record("mul_scalar", {a}, std::move(v),
      [s](const Ctx& c) { return (s * c.x(0)).t; },
      [s](Ctx& c) { c.acc(0, s * c.g()); });
}

// y = aᶜ;  y' = c aᶜ⁻¹;  y'' = c(c−1) aᶜ⁻²
Var pow_scalar(Var a, double p) {
  Tape& tape = tape_of("pow_scalar", a);
  Tensor v = kern::map(a.value(), [p](double x) { return std::pow(x, p); });
  auto d1 = [p](double x) { return p * std::pow(x, p - 1); };
  auto d2 = [p](double x) { return p * (p - 1) * std::pow(x, p - 2); };
  return tape.record("pow_scalar", {a}, std::move(v),
      [d1](const Ctx& c) { return detail::scale_tangent(c.x(0), d1); },
      [d1, d2](Ctx& c) { c.acc(0, c.g() * dmap(c.x(0), d1, d2)); });
}

}  // namespace inflab::ad
