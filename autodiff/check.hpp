// Derivative checkers, public API: call them on your own f : θ -> Var. Each returns what
// it measured (errors, rates), not only a verdict.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/functional.hpp"

namespace inflab::ad {

struct GradCheck {
  Tensor ad, fd;        // autodiff and central-difference gradients
  double rel_err;       // ‖ad − fd‖ / max(‖fd‖, 1e-300)
  double max_abs_err;   // max_i |ad_i − fd_i|
  double dir_rel_err;   // random direction: |gᵀu − (f(θ+hu) − f(θ−hu))/2h| / scale
};
// Central differences with hᵢ = ∛ε·max(1, |θᵢ|); the random-direction check uses `seed`.
GradCheck check_gradient(const Fn& f, const Tensor& theta, std::uint64_t seed = 1);

struct JvpCheck {
  Tensor ad, fd;   // J v by forward mode, and (f(θ+hv) − f(θ−hv))/2h
  double rel_err;
};
JvpCheck check_jvp(const Fn& f, const Tensor& theta, const Tensor& v);

struct HvpCheck {
  Tensor ad, fd;   // H v, and ‖v‖ (∇f(θ+h v̂) − ∇f(θ−h v̂)) / 2h
  double rel_err;
  // ‖fd(h) − fd(h/2)‖ / ‖fd(h)‖: how far the difference quotient itself is from H v (truncation
  // and rounding): an ad that differs from fd by less than a few times this is within what
  // finite differences can tell at this θ.
  double fd_uncertainty;
};
HvpCheck check_hvp(const Fn& f, const Tensor& theta, const Tensor& v);

struct SymmetryCheck {
  double uHv, vHu;
  // |uᵀHv − vᵀHu| / max(‖u‖‖Hv‖, ‖v‖‖Hu‖, 1e-300): relative to the size of the products that
  // round (a dot product's rounding is relative to ‖u‖‖w‖, not to |uᵀw|, which cancels near a
  // minimum of a saturated network); ≥ the plain relative difference's scale by Cauchy–Schwarz.
  double rel_diff;
};
SymmetryCheck check_symmetry(const Fn& f, const Tensor& theta, const Tensor& u, const Tensor& v);

// Taylor remainders along unit v at ε = ε₀ 2^{-j}:
//   r1(ε) = |f(θ+εv) − f(θ) − ε gᵀv|            ~ ε² when g is right
//   r2(ε) = |r1-expression − ½ε² vᵀHv|           ~ ε³ when H v is right
// rates are log2 of successive ratios; order1/order2 are the median of the last three
// rates whose remainders stay above the rounding floor (the asymptotic end). A remainder that
// is all rounding noise (f has no such term along v, or it is below what f can be evaluated
// to at this θ), or has fewer than three pairs above it, gives order NaN and *_at_noise =
// true: the test cannot tell, not a pass.
// `noise_floor` raises the floor to an absolute level the caller knows f cannot be evaluated
// below, and `min_pairs` asks for more pairs above it before reading a rate: the `inflab
// check` command uses 2ε·max(1, |f(θ)|) and 3, since a loss near 0 is computed from O(1)
// quantities (the 1 in log(1 + e^{−margin})) and rounds in absolute terms — quantised at ~ε,
// a noise that the differences at one tiny ε do not reveal — and a saturated network's
// remainders leave the pre-asymptotic end and meet that noise within one or two halvings.
struct TaylorCheck {
  std::vector<double> eps, r1, r2, rates1, rates2;
  std::vector<double> floor1, floor2;  // rounding floor per ε (max of ulp-based and measured)
  double order1, order2;
  bool r1_at_noise, r2_at_noise;
};
TaylorCheck taylor_test(const Fn& f, const Tensor& theta, const Tensor& v, double eps0 = 1e-2, int steps = 10, double noise_floor = 0,
                        std::size_t min_pairs = 2);

// Seeded standard-normal tensor (used for test directions).
Tensor random_normal(const Shape& shape, std::uint64_t seed);

// The five checks of `inflab check` with their verdicts: PASS, FAIL, or INCONCLUSIVE where
// rounding hides what a check measures at this θ (a saturated network's remainders below its
// loss's rounding noise) — not a failure, said as such (docs/autodiff.md, "Checking
// derivatives"). Directions are seeded (seed + 1 gradient, + 11 and + 12 u and v).
enum class Verdict { Pass, Fail, Inconclusive };
const char* verdict_name(Verdict v);  // "PASS", "FAIL", "INCONCLUSIVE"
struct DerivativeCheck {
  std::string name;
  double value = 0, bound = 0;
  Verdict verdict = Verdict::Pass;
  std::string why;  // the value against its bound, or why no verdict can be read here
};
struct DerivativeChecks {
  std::vector<DerivativeCheck> checks;
  TaylorCheck taylor;  // the remainders, so a verdict can be read off the numbers
  bool pass() const;   // no check failed
};
DerivativeChecks check_derivatives(const Fn& f, const Tensor& theta, std::uint64_t seed);

}  // namespace inflab::ad
