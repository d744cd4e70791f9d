// Transcendental functions over whole arrays, four lanes at a time where the CPU has AVX2:
// glibc's vector math library (libmvec, ≤ 4 ulp) instead of one scalar libm call per
// element — the scalar tanh was 10% of an MLP's gradient (docs/performance.md). Every
// element goes through the same routine whatever n is (a short tail is padded to a full
// vector), so a value does not depend on the size of the array it sits in. Built only where
// those routines link (autodiff/meson.build); otherwise, as without AVX2, scalar libm.
#pragma once
#include <cstddef>

#include "autodiff/tensor.hpp"

namespace inflab::vec {

void tanh(const double* x, double* y, std::size_t n);
void exp(const double* x, double* y, std::size_t n);

Tensor tanh(const Tensor& x);
Tensor exp(const Tensor& x);

// Whether the AVX2 path is in use (false: scalar libm on this CPU).
bool simd();

}  // namespace inflab::vec
