#include "autodiff/blas.hpp"

#include <atomic>

#include <cblas.h>
#include <malloc.h>

#include <mutex>
#include <vector>

namespace inflab::blas {

namespace {
std::atomic<double> flops_counted{0};
}  // namespace

double gemm_flops() { return flops_counted.load(std::memory_order_relaxed); }

void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, const double* b, double beta, double* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C*beta; make the empty product explicit
    for (std::size_t i = 0; i < m * n; ++i) c[i] = beta == 0 ? 0 : beta * c[i];
    return;
  }
  flops_counted.fetch_add(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), std::memory_order_relaxed);
  const int lda = trans_a ? static_cast<int>(m) : static_cast<int>(k);
  const int ldb = trans_b ? static_cast<int>(k) : static_cast<int>(n);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, lda, b, ldb, beta, c, static_cast<int>(n));
}

void gemv(bool trans, std::size_t m, std::size_t n, double alpha, const double* a, const double* x, double beta, double* y) {
  const std::size_t out = trans ? n : m;
  if (out == 0) return;
  if (m == 0 || n == 0) {  // the empty sum: BLAS may leave y untouched
    for (std::size_t i = 0; i < out; ++i) y[i] = beta == 0 ? 0 : beta * y[i];
    return;
  }
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n), alpha, a, static_cast<int>(n), x, 1, beta, y, 1);
}

void keep_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);  // serve large blocks from the heap…
    mallopt(M_TRIM_THRESHOLD, 1 << 30);  // …and keep up to 1 GiB of free heap for reuse
  });
}

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b, const int* ldb, int* info);
}

bool cholesky_solve(const Tensor& A, double mu, const Tensor& b, Tensor& x) {
  const int n = static_cast<int>(b.size());
  if (A.dimension() != 2 || A.shape(0) != b.size() || A.shape(1) != b.size())
    throw Error("cholesky_solve: matrix " + shape_str(shape_of(A)) + " for a right-hand side of " + shape_str(shape_of(b)));
  std::vector<double> L(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) L[i * n + j] = 0.5 * (A(i, j) + A(j, i)) + (i == j ? mu : 0.0);
  int info = 0, one = 1;
  const int lda = std::max(n, 1);
  if (n == 0) return x = b, true;
  dpotrf_("L", &n, L.data(), &lda, &info);  // symmetric: row- and column-major agree
  if (info != 0) return false;
  x = b;
  dpotrs_("L", &n, &one, L.data(), &lda, x.data(), &lda, &info);
  return info == 0;
}

void set_threads(int n) { openblas_set_num_threads(n); }
int threads() { return openblas_get_num_threads(); }

}  // namespace inflab::blas
