// Thin row-major wrappers over OpenBLAS (cblas), so no other file includes cblas.h.
#pragma once
#include "autodiff/tensor.hpp"
#include <cstddef>

namespace inflab::blas {

// C[m,n] = alpha * op(A) op(B) + beta * C, op(X) = X or Xᵀ; A, B, C row-major, dense.
// op(A) is m×k, op(B) is k×n.
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, const double* b, double beta, double* c);

// y = alpha * op(A) x + beta * y for A [m, n] row-major; op(A) = A (y [m]) or Aᵀ (y [n]).
// For one vector against a matrix, where gemm (n = 1) would copy A into its packed panels
// on every call: Newton–CG's preconditioner and Lanczos's reorthogonalisation stream a
// [k, p] matrix twice per iteration, and the packing copies were a third of a retrain's time.
void gemv(bool trans, std::size_t m, std::size_t n, double alpha, const double* a, const double* x, double beta, double* y);

// Floating-point operations (2mnk per call) of every gemm (not gemv) since the start: benchmarks
// divide differences of it by time to report achieved GFLOP/s. One relaxed atomic add.
double gemm_flops();

void set_threads(int n);  // OpenBLAS worker threads
int threads();

// RAII: OpenBLAS uses n threads until the guard ends, then the count it had before
// (e.g. 1 while jobs run in parallel threads, so they do not oversubscribe the cores).
class ThreadsGuard {
 public:
  explicit ThreadsGuard(int n) : prev_(threads()) { set_threads(n); }
  ~ThreadsGuard() { set_threads(prev_); }
  ThreadsGuard(const ThreadsGuard&) = delete;
  ThreadsGuard& operator=(const ThreadsGuard&) = delete;

 private:
  int prev_;
};

// Keep freed memory in the process instead of returning it to the OS. Sweeps allocate
// and free many multi-MB tensors; with glibc's defaults each one is a fresh mmap whose
// pages fault in one by one, which measured 2–4× slower HVPs (docs/performance.md).
// A process-wide allocator setting, so the library never sets it by itself: programs call
// it once at the start of main (the benchmarks, examples and the inflab command do);
// harmless to call again.
void keep_freed_memory();

// Dense solves through LAPACK, for small matrices (Newton steps, the Newton group estimate).
// (A + μI) x = b for symmetric A by Cholesky (dpotrf/dpotrs, A symmetrised first); false when
// A + μI is not positive definite (the caller raises μ).
bool cholesky_solve(const Tensor& A, double mu, const Tensor& b, Tensor& x);

}  // namespace inflab::blas
