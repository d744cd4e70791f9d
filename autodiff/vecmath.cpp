#include "autodiff/vecmath.hpp"

#include <cmath>

namespace inflab::vec {

#ifdef INFLAB_HAVE_MVEC_AVX2  // set by autodiff/meson.build when libmvec's AVX2 routines link
namespace avx2 {
void tanh(const double* x, double* y, std::size_t n);
void exp(const double* x, double* y, std::size_t n);
}  // namespace avx2

bool simd() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#else
namespace avx2 {
inline void tanh(const double*, double*, std::size_t) {}
inline void exp(const double*, double*, std::size_t) {}
}  // namespace avx2

bool simd() { return false; }
#endif

void tanh(const double* x, double* y, std::size_t n) {
  if (simd()) return avx2::tanh(x, y, n);
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void exp(const double* x, double* y, std::size_t n) {
  if (simd()) return avx2::exp(x, y, n);
  for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

Tensor tanh(const Tensor& x) {
  Tensor y = Tensor::from_shape(x.shape());
  tanh(x.data(), y.data(), x.size());
  return y;
}
Tensor exp(const Tensor& x) {
  Tensor y = Tensor::from_shape(x.shape());
  exp(x.data(), y.data(), x.size());
  return y;
}

}  // namespace inflab::vec
