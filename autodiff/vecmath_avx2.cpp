// The AVX2 loops of vecmath.cpp, in their own translation unit compiled with -mavx2: it
// includes nothing but the intrinsics, so no inline library code is built for AVX2 and
// picked by the linker for CPUs without it. Called only after a CPU check.
#include <immintrin.h>

#include <cstddef>

extern "C" __m256d _ZGVdN4v_tanh(__m256d);  // libmvec (glibc ≥ 2.35)
extern "C" __m256d _ZGVdN4v_exp(__m256d);

namespace inflab::vec::avx2 {

template <__m256d (*F)(__m256d)>
static void apply(const double* x, double* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, F(_mm256_loadu_pd(x + i)));
  if (i < n) {  // the tail through the same routine, padded with zeros
    alignas(32) double in[4] = {0, 0, 0, 0}, out[4];
    for (std::size_t j = 0; i + j < n; ++j) in[j] = x[i + j];
    _mm256_store_pd(out, F(_mm256_load_pd(in)));
    for (std::size_t j = 0; i + j < n; ++j) y[i + j] = out[j];
  }
}

void tanh(const double* x, double* y, std::size_t n) { apply<_ZGVdN4v_tanh>(x, y, n); }
void exp(const double* x, double* y, std::size_t n) { apply<_ZGVdN4v_exp>(x, y, n); }

}  // namespace inflab::vec::avx2
