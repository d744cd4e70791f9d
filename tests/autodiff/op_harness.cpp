#include "tests/autodiff/op_harness.hpp"
#include "tests/test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <cstdlib>

namespace inflab::test {
using namespace inflab::ad;

namespace {
constexpr double kRtol = 1e-6;

Tensor make_input(const Shape& s, Domain d, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  Tensor t = Tensor::from_shape(s);
  const std::size_t n = t.size();
  if (d == Domain::Distinct) {
    std::vector<double> grid(n);
    for (std::size_t i = 0; i < n; ++i) grid[i] = -0.05 * static_cast<double>(n) + 0.1 * static_cast<double>(i);
    std::shuffle(grid.begin(), grid.end(), rng);
    std::copy(grid.begin(), grid.end(), t.data());
    return t;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double r = u(rng);
    switch (d) {
      case Domain::Any: t.data()[i] = -2 + 4 * r; break;
      case Domain::Positive: t.data()[i] = 0.5 + 1.5 * r; break;
      case Domain::AwayFromZero: t.data()[i] = (u(rng) < 0.5 ? -1 : 1) * (0.2 + 1.8 * r); break;
      default: break;
    }
  }
  return t;
}

void run_case(const OpCase& c, std::uint64_t seed) {
  INFO("op case: " << c.label);
  std::mt19937_64 rng(seed);
  std::vector<Tensor> xs;
  std::vector<std::size_t> offs{0};
  for (const Shape& s : c.shapes) {
    xs.push_back(make_input(s, c.domain, rng));
    offs.push_back(offs.back() + numel(s));
  }
  const std::size_t p = offs.back();
  Tensor theta = zeros(Shape{p});
  for (std::size_t i = 0; i < xs.size(); ++i)
    std::copy(xs[i].data(), xs[i].data() + xs[i].size(), theta.data() + offs[i]);
  // θ -> op(inputs)
  Fn op_of_theta = [&](Var th) {
    std::vector<Var> in;
    for (std::size_t i = 0; i < c.shapes.size(); ++i)
      in.push_back(reshape(slice(th, offs[i], offs[i + 1]), c.shapes[i]));
    return c.apply(in);
  };
  // value
  Recording rec(op_of_theta, theta);
  const Tensor y = rec.value();
  const Shape sy = shape_of(y);
  if (c.reference) {
    const Tensor ref = c.reference(xs);
    REQUIRE(shape_of(ref) == sy);
    CHECK(rel_err(y, ref) <= 1e-12);
  }
  CHECK(all_finite(y));
  const Tensor w = random_normal(sy, seed + 1);
  const Tensor cq = random_normal(sy, seed + 2);
  const Tensor v = random_normal(Shape{p}, seed + 3);
  const Tensor v2 = random_normal(Shape{p}, seed + 4);
  // JVP against differences of outputs
  const JvpCheck jc = check_jvp(op_of_theta, theta, v);
  CHECK(jc.rel_err <= kRtol);
  // adjoint identity ⟨w, J v⟩ = ⟨Jᵀ w, v⟩
  const double lhs = dot(w, rec.jvp(v)), rhs = dot(rec.vjp(w), v);
  CHECK(std::fabs(lhs - rhs) <= 1e-12 * std::max({std::fabs(lhs), std::fabs(rhs), 1.0}));
  // VJP via gradient of Σ w⊙y
  Fn linear = [&](Var th) {
    Var out = op_of_theta(th);
    return sum(mul(out, th.tape->leaf(w, false)));
  };
  const GradCheck gc = check_gradient(linear, theta, seed + 5);
  CHECK(gc.rel_err <= kRtol);
  CHECK(gc.dir_rel_err <= kRtol);
  // second order through s = Σ w⊙y + ½ Σ c⊙y² + ⅙ Σ d⊙y³: the y² term sends tangents
  // through the op's adjoint, the y³ term gives even linear ops a third-order Taylor term
  const Tensor dq = random_normal(sy, seed + 6);
  Fn s = [&](Var th) {
    Var out = op_of_theta(th);
    Var W = th.tape->leaf(w, false), C = th.tape->leaf(cq, false), D = th.tape->leaf(dq, false);
    Var sq = square(out);
    return add(add(sum(mul(out, W)), mul_scalar(sum(mul(C, sq)), 0.5)),
               mul_scalar(sum(mul(D, mul(sq, out))), 1.0 / 6));
  };
  const HvpCheck hc = check_hvp(s, theta, v);
  CHECK(hc.rel_err <= kRtol);
  const SymmetryCheck sc = check_symmetry(s, theta, v, v2);
  CHECK(sc.rel_diff <= 1e-12);
  // batched HVPs equal single ones
  Recording rs(s, theta);
  Tensor V = zeros(Shape{2, p});
  std::copy(v.data(), v.data() + p, V.data());
  std::copy(v2.data(), v2.data() + p, V.data() + p);
  const Tensor HV = rs.hvp(V);
  const Tensor h1 = rs.hvp(v), h2 = rs.hvp(v2);
  double bd = 0;
  for (std::size_t i = 0; i < p; ++i)
    bd = std::max({bd, std::fabs(HV.data()[i] - h1.data()[i]), std::fabs(HV.data()[p + i] - h2.data()[i])});
  CHECK(bd <= 1e-12 * std::max(1.0, norm2(h1) + norm2(h2)));
  // Taylor remainder orders
  const TaylorCheck tc = taylor_test(s, theta, v, 1e-2, 10);
  INFO("taylor order1 " << tc.order1 << " order2 " << tc.order2 << " r2 at noise " << tc.r2_at_noise);

  if (std::getenv("INFLAB_DEBUG_TAYLOR")) for (std::size_t i = 0; i < tc.r2.size(); ++i) MESSAGE(tc.eps[i] << " r1 " << tc.r1[i] << " r2 " << tc.r2[i] << " floor2 " << tc.floor2[i]);
  CHECK_FALSE(tc.r1_at_noise);
  CHECK(std::fabs(tc.order1 - 2) <= 0.1);
  CHECK_FALSE(tc.r2_at_noise);
  CHECK(std::fabs(tc.order2 - 3) <= 0.1);
  // bad input
  if (c.bad_input) {
    TapeScope scope;
    bool threw = false;
    try {
      c.bad_input();
    } catch (const Error& e) {
      threw = true;
      const std::string msg = e.what();
      INFO("message: " << msg);
      const std::string name = c.error_names.empty() ? c.op : c.error_names;
      CHECK(msg.find(name) != std::string::npos);
    }
    CHECK(threw);
  }
}
}  // namespace

void run_op_cases(const std::string& op) {
  std::size_t n = 0;
  std::uint64_t seed = 1000;
  for (const OpCase& c : op_cases())
    if (c.op == op) {
      run_case(c, seed += 10);
      ++n;
    }
  REQUIRE_MESSAGE(n > 0, "no test case registered for op " << op);
}

}  // namespace inflab::test
