// The checkers must fail on wrong derivative rules, including ones that are close.
// These tests record a "tanh" node with deliberately broken rules.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"

using namespace inflab;
using namespace inflab::ad;

namespace {
enum class Bug { None, GradScaled, NoSecondOrder };

// tanh with a correct value and selectable bugs in its backward rule
Var buggy_tanh(Var x, Bug bug) {
  Tensor v = x.value();
  for (auto& e : v) e = std::tanh(e);
  auto d1 = [](double u) { const double t = std::tanh(u); return 1 - t * t; };
  auto d2 = [](double u) { const double t = std::tanh(u); return -2 * t * (1 - t * t); };
  return x.tape->record("tanh", {x}, v,
      [d1](const Ctx& c) {
        Tensor t = c.x(0).t;
        const std::size_t n = c.x(0).v.size();
        for (std::size_t j = 0; j < c.k(); ++j)
          for (std::size_t i = 0; i < n; ++i) t.data()[j * n + i] *= d1(c.x(0).v.data()[i]);
        return t;
      },
      [bug, d1, d2](Ctx& c) {
        if (bug == Bug::NoSecondOrder) {
          // forgets f″: treats f′(x) as a constant in the dual sweep
          c.acc(0, c.g() * dmap(Dual(c.x(0).v), d1, d2));
        } else {
          const double s = bug == Bug::GradScaled ? 1.001 : 1.0;
          c.acc(0, s * (c.g() * dmap(c.x(0), d1, d2)));
        }
      });
}

Fn objective(Bug bug) {
  return [bug](Var th) { return sum(square(buggy_tanh(mul_scalar(th, 1.3), bug))); };
}
}  // namespace

TEST_CASE("a correct hand-written rule passes every checker") {
  const Tensor th = random_normal({6}, 1), v = random_normal({6}, 2);
  CHECK(check_gradient(objective(Bug::None), th).rel_err < 1e-8);
  CHECK(check_hvp(objective(Bug::None), th, v).rel_err < 1e-7);
  const TaylorCheck t = taylor_test(objective(Bug::None), th, v);
  CHECK(std::fabs(t.order1 - 2) < 0.1);
  CHECK(std::fabs(t.order2 - 3) < 0.1);
}

TEST_CASE("a gradient off by 0.1% fails the gradient check and drops the Taylor rate to 1") {
  const Tensor th = random_normal({6}, 1), v = random_normal({6}, 2);
  const GradCheck g = check_gradient(objective(Bug::GradScaled), th);
  CHECK(g.rel_err > 5e-4);
  CHECK(g.rel_err < 2e-3);
  const TaylorCheck t = taylor_test(objective(Bug::GradScaled), th, v, 1e-2, 8);
  // r1 ≈ 0.001 ε |gᵀv| + O(ε²): at small ε the linear error dominates
  CHECK(t.rates1.back() < 1.3);
}

TEST_CASE("an HVP missing the f″ term: gradient still right, HVP check and Taylor rate 3 fail") {
  const Tensor th = random_normal({6}, 1), v = random_normal({6}, 2);
  CHECK(check_gradient(objective(Bug::NoSecondOrder), th).rel_err < 1e-8);
  const HvpCheck h = check_hvp(objective(Bug::NoSecondOrder), th, v);
  CHECK(h.rel_err > 1e-2);
  const TaylorCheck t = taylor_test(objective(Bug::NoSecondOrder), th, v);
  CHECK(std::fabs(t.order1 - 2) < 0.1);
  CHECK(std::fabs(t.order2 - 2) < 0.2);
}

TEST_CASE("the check command's stricter reading (an absolute floor, three pairs) still fails wrong rules") {
  const Tensor th = random_normal({6}, 1), v = random_normal({6}, 2);
  const double floor = 2 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(Recording(objective(Bug::None), th).scalar_value()));
  const TaylorCheck ok = taylor_test(objective(Bug::None), th, v, 1e-2, 10, floor, 3);
  CHECK_FALSE(ok.r2_at_noise);
  CHECK(std::fabs(ok.order2 - 3) < 0.1);
  const TaylorCheck bad = taylor_test(objective(Bug::NoSecondOrder), th, v, 1e-2, 10, floor, 3);
  CHECK_FALSE(bad.r2_at_noise);
  CHECK(std::fabs(bad.order2 - 2) < 0.2);  // fails the command's bound 2.8
  // the HVP comparison: a wrong rule's error is far above what the quotient itself can tell
  const HvpCheck h = check_hvp(objective(Bug::NoSecondOrder), th, v), good = check_hvp(objective(Bug::None), th, v);
  CHECK(h.rel_err > 100 * h.fd_uncertainty);
  CHECK(good.rel_err < 1e-5);
  CHECK(good.fd_uncertainty < 1e-5);
  // an absolute floor above every remainder: no rate is read, and none is invented
  const TaylorCheck blind = taylor_test(objective(Bug::NoSecondOrder), th, v, 1e-2, 10, 1.0, 3);
  CHECK(blind.r1_at_noise);
  CHECK(blind.r2_at_noise);
  CHECK(std::isnan(blind.order2));
}
