// Internal elementwise kernels with numpy broadcasting and an optional leading batch axis
// of k tangents ([k, ...shape]). Plain loops over .data(): one pass, no lazy expressions.
#pragma once
#include <cstddef>
#include <vector>

#include "autodiff/tensor.hpp"

namespace inflab::kern {

// numpy broadcast of two shapes, or an Error naming `op` and both shapes.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

// One operand: data laid out as [k, ...shape] when k > 0, else as shape.
struct Operand {
  const double* data;
  const Shape& shape;
  std::size_t k;
};

// Strides (in elements) of an operand inside the iteration space dims = [k?] + out.
std::vector<std::ptrdiff_t> aligned_strides(const Operand& x, const Shape& out, bool batched);

template <class F>
void strided_apply(const Shape& dims, const double* a, const std::vector<std::ptrdiff_t>& sa,
                   const double* b, const std::vector<std::ptrdiff_t>& sb, double* out, F f) {
  const std::size_t r = dims.size();
  if (r == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  for (auto d : dims)
    if (d == 0) return;
  std::vector<std::size_t> idx(r, 0);
  const std::size_t inner = dims[r - 1];
  const std::ptrdiff_t ia = sa[r - 1], ib = sb[r - 1];
  std::ptrdiff_t oa = 0, ob = 0;
  for (;;) {
    const double* pa = a + oa;
    const double* pb = b + ob;
    if (ia == 1 && ib == 1)
      for (std::size_t i = 0; i < inner; ++i) out[i] = f(pa[i], pb[i]);
    else
      for (std::size_t i = 0; i < inner; ++i) out[i] = f(pa[i * ia], pb[i * ib]);
    out += inner;
    std::ptrdiff_t d = static_cast<std::ptrdiff_t>(r) - 2;
    for (; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * static_cast<std::ptrdiff_t>(dims[d] - 1);
      ob -= sb[d] * static_cast<std::ptrdiff_t>(dims[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

// out = f(a, b) broadcast to [k?] + out_shape, k = the batch size of whichever has one.
template <class F>
Tensor binary(const Operand& a, const Operand& b, const Shape& out_shape, F f) {
  const std::size_t k = a.k ? a.k : b.k;
  Shape dims;
  if (k) dims.push_back(k);
  dims.insert(dims.end(), out_shape.begin(), out_shape.end());
  Tensor out = Tensor::from_shape(dims);
  const std::size_t n = out.size();
  // Fast paths: identical layouts, or a lone scalar.
  if (a.k == b.k && a.shape == out_shape && b.shape == out_shape) {
    for (std::size_t i = 0; i < n; ++i) out.data()[i] = f(a.data[i], b.data[i]);
    return out;
  }
  if (!b.k && numel(b.shape) == 1 && a.shape == out_shape && a.k == k) {
    const double s = b.data[0];
    for (std::size_t i = 0; i < n; ++i) out.data()[i] = f(a.data[i], s);
    return out;
  }
  if (!a.k && numel(a.shape) == 1 && b.shape == out_shape && b.k == k) {
    const double s = a.data[0];
    for (std::size_t i = 0; i < n; ++i) out.data()[i] = f(s, b.data[i]);
    return out;
  }
  strided_apply(dims, a.data, aligned_strides(a, out_shape, k > 0), b.data,
                aligned_strides(b, out_shape, k > 0), out.data(), f);
  return out;
}

// Adjoint of broadcasting: sums x ([k?] + xshape) down to [k?] + target.
Tensor sum_to(const double* x, const Shape& xshape, std::size_t k, const Shape& target);

template <class F>
Tensor map(const Tensor& x, F f) {
  Tensor out = Tensor::from_shape(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) out.data()[i] = f(x.data()[i]);
  return out;
}

}  // namespace inflab::kern
