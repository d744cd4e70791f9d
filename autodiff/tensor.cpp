#include "autodiff/tensor.hpp"

#include <sys/mman.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <sstream>

namespace inflab {

void* big_alloc(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  // Only very large blocks (datasets, dense Hessians): for the many mid-size tensors of a
  // sweep, reusing kept heap memory (blas::keep_freed_memory) is faster than compacting
  // huge pages on every fresh fault, which measured 2× slower batched HVPs.
  constexpr std::size_t kHugeFrom = std::size_t(64) << 20;
  if (bytes < kHugeFrom) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  if (!p) throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint: harmless where THP is off
  return p;
}

void big_free(void* p) noexcept { std::free(p); }

Shape shape_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); }

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << '[';
  for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << ']';
  return o.str();
}

std::size_t numel(const Shape& s) {
  std::size_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Tensor zeros(const Shape& s) { return full(s, 0.0); }

Tensor full(const Shape& s, double value) {
  Tensor t = Tensor::from_shape(s);
  std::fill(t.data(), t.data() + t.size(), value);
  return t;
}

Tensor scalar(double value) { return full(Shape{}, value); }

Tensor tensor(const Shape& s, const std::vector<double>& data) {
  if (numel(s) != data.size())
    throw Error("tensor: shape " + shape_str(s) + " needs " + std::to_string(numel(s)) +
                " values, got " + std::to_string(data.size()));
  Tensor t = Tensor::from_shape(s);
  std::copy(data.begin(), data.end(), t.data());
  return t;
}

Tensor with_leading(std::size_t k, const Shape& s) {
  Shape full_shape{k};
  full_shape.insert(full_shape.end(), s.begin(), s.end());
  return zeros(full_shape);
}

double dot(const Tensor& a, const Tensor& b) {
  if (a.size() != b.size())
    throw Error("dot: sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                " differ");
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a.data()[i] * b.data()[i];
  return s;
}

double norm2(const Tensor& a) { return std::sqrt(dot(a, a)); }

void axpy_inplace(Tensor& y, double a, const Tensor& x) {
  if (y.size() != x.size())
    throw Error("axpy: sizes " + std::to_string(y.size()) + " and " + std::to_string(x.size()) + " differ");
  double* py = y.data();
  const double* px = x.data();
  for (std::size_t i = 0; i < y.size(); ++i) py[i] += a * px[i];
}

Tensor axpy(const Tensor& x, double a, const Tensor& y) {
  Tensor r = x;
  axpy_inplace(r, a, y);
  return r;
}

bool all_finite(const Tensor& a) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.data()[i])) return false;
  return true;
}

}  // namespace inflab
