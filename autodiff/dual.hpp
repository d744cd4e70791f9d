// Dual tensors: a value with k ≥ 0 tangents (k directions at once, stacked on a leading
// axis). Arithmetic applies the product rule; with k = 0 it costs what plain arithmetic
// costs. Backward rules are written in this arithmetic once, so a reverse sweep over
// dual adjoints yields the gradient (values) and Hessian-vector products (tangents).
#pragma once
#include <cstddef>

#include "autodiff/tensor.hpp"

namespace inflab::ad {

struct Dual {
  Tensor v;           // value
  Tensor t;           // tangents, shape [k, ...v.shape]; unused when k == 0
  std::size_t k = 0;  // number of tangent directions

  Dual() = default;
  explicit Dual(Tensor value) : v(std::move(value)) {}
  Dual(Tensor value, Tensor tangents, std::size_t k_) : v(std::move(value)), t(std::move(tangents)), k(k_) {}

  Shape shape() const { return shape_of(v); }
  bool has_t() const { return k > 0; }
};

// Elementwise with numpy broadcasting.
Dual operator+(const Dual& a, const Dual& b);
Dual operator-(const Dual& a, const Dual& b);
Dual operator*(const Dual& a, const Dual& b);
Dual operator/(const Dual& a, const Dual& b);
Dual operator-(const Dual& a);
Dual operator*(double c, const Dual& a);
Dual operator+(double c, const Dual& a);
inline Dual operator*(const Dual& a, double c) { return c * a; }
inline Dual operator-(double c, const Dual& a) { return c + (-a); }

// Tangent of a broadcast to [k, ...out] (zeros when a has none but k > 0 is asked for).
Tensor broadcast_tangent(const Dual& a, const Shape& out, std::size_t k);
// Tangent-only products (for JVP rules): d(a∘b) = ȧ∘b + a∘ḃ, k = batch of whichever has one.
Tensor tangent_of_sum(const Dual& a, const Dual& b, const Shape& out, double sign_b);
Tensor tangent_of_product(const Dual& a, const Dual& b, const Shape& out);

// Adjoint of broadcasting: sum a down to `target` (value and tangents).
Dual sum_to(const Dual& a, const Shape& target);
// Sum over one axis (negative counts from the end).
Dual sum_axis(const Dual& a, int axis, bool keepdims);
// Sum of all elements (0-d result).
Dual sum_all(const Dual& a);

// 2-D matrix product op(A) op(B); with want_value = false only the tangents are formed.
Dual matmul(const Dual& a, const Dual& b, bool trans_a = false, bool trans_b = false,
            bool want_value = true);
// The value alone, without copying the operands into Duals (a forward pass's product).
Tensor matmul_value(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// Broadcast a (value and tangents) up to `out`.
Dual broadcast_to(const Dual& a, const Shape& out);
// Same data, new shape (tangents keep their leading k axis).
Dual reshaped(Dual a, const Shape& shape);

// x̄ += d: same shape required; tangents added (or adopted).
void accumulate(Dual& acc, bool& set, Dual&& d);

// Elementwise function with its derivative: (f(v), f'(v) ⊙ t).
template <class F, class DF>
Dual dmap(const Dual& x, F f, DF df) {
  Dual y;
  y.v = Tensor::from_shape(x.v.shape());
  const std::size_t n = x.v.size();
  for (std::size_t i = 0; i < n; ++i) y.v.data()[i] = f(x.v.data()[i]);
  if (x.k) {
    y.k = x.k;
    y.t = Tensor::from_shape(x.t.shape());
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = df(x.v.data()[i]);
    for (std::size_t j = 0; j < x.k; ++j)
      for (std::size_t i = 0; i < n; ++i) y.t.data()[j * n + i] = d[i] * x.t.data()[j * n + i];
  }
  return y;
}

// A linear map L applied to value and each tangent: (L v, L t_j). `apply(in, out)` maps one
// slice of n_in doubles to n_out doubles.
template <class Apply>
Dual apply_linear(const Dual& x, const Shape& out_shape, Apply apply) {
  Dual y;
  y.v = zeros(out_shape);
  apply(x.v.data(), y.v.data());
  if (x.k) {
    y.k = x.k;
    y.t = with_leading(x.k, out_shape);
    const std::size_t ni = x.v.size(), no = y.v.size();
    for (std::size_t j = 0; j < x.k; ++j) apply(x.t.data() + j * ni, y.t.data() + j * no);
  }
  return y;
}

// A bilinear map B(a, b) on Duals: (B(a, b), B(ȧ_j, b) + B(a, ḃ_j)).
// `apply(pa, pb, out)` overwrites out (n_out doubles) with B of one slice of each.
template <class Apply>
Dual bilinear(const Dual& a, const Dual& b, const Shape& out_shape, Apply apply,
              bool want_value = true) {
  Dual y;
  const std::size_t na = a.v.size(), nb = b.v.size(), no = numel(out_shape);
  if (want_value) {
    y.v = zeros(out_shape);
    apply(a.v.data(), b.v.data(), y.v.data());
  }
  y.k = a.k ? a.k : b.k;
  if (y.k) {
    y.t = with_leading(y.k, out_shape);
    std::vector<double> tmp(no);
    for (std::size_t j = 0; j < y.k; ++j) {
      double* o = y.t.data() + j * no;
      if (a.k) apply(a.t.data() + j * na, b.v.data(), o);
      if (b.k) {
        apply(a.v.data(), b.t.data() + j * nb, tmp.data());
        for (std::size_t i = 0; i < no; ++i) o[i] += tmp[i];
      }
    }
  }
  return y;
}

}  // namespace inflab::ad
