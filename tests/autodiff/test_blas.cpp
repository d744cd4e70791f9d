// The BLAS wrappers (autodiff/blas.hpp) against plain loops: gemv in both orientations, β's
// accumulation, and the empty sum that BLAS itself may leave undone.
#include <doctest/doctest.h>

#include <vector>

#include "autodiff/blas.hpp"

using namespace inflab;

TEST_CASE("gemv computes αAx + βy and αAᵀx + βy as the loops do, and the empty sum as βy") {
  const std::size_t m = 5, n = 7;
  std::vector<double> a(m * n), x(n), xt(m);
  for (std::size_t i = 0; i < m * n; ++i) a[i] = 0.25 * static_cast<double>(i % 11) - 1.0 + 1e-3 * static_cast<double>(i);
  for (std::size_t j = 0; j < n; ++j) x[j] = 1.0 / static_cast<double>(j + 1);
  for (std::size_t i = 0; i < m; ++i) xt[i] = static_cast<double>(i) - 2.5;
  std::vector<double> y(m, 3.0), yt(n, -1.0);
  blas::gemv(false, m, n, 2.0, a.data(), x.data(), 0.5, y.data());
  for (std::size_t i = 0; i < m; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += a[i * n + j] * x[j];
    CHECK(y[i] == doctest::Approx(2.0 * s + 1.5).epsilon(1e-14));
  }
  blas::gemv(true, m, n, -1.0, a.data(), xt.data(), 1.0, yt.data());
  for (std::size_t j = 0; j < n; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < m; ++i) s += a[i * n + j] * xt[i];
    CHECK(yt[j] == doctest::Approx(-s - 1.0).epsilon(1e-14));
  }
  std::vector<double> e(m, 4.0);  // n = 0: y = βy (β = 0 gives zeros, not what was there)
  blas::gemv(false, m, 0, 1.0, a.data(), x.data(), 0.5, e.data());
  for (double v : e) CHECK(v == 2.0);
  blas::gemv(false, m, 0, 1.0, a.data(), x.data(), 0.0, e.data());
  for (double v : e) CHECK(v == 0.0);
}
