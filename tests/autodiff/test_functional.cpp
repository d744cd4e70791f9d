// The functional front: grad, jvp, vjp, hvp (single and batched), dense Hessians, and
// record-once reuse, on a small tanh MLP with softmax cross-entropy.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "nn/builders.hpp"

using namespace inflab;
using namespace inflab::ad;

namespace {
struct TinyMlp {
  nn::Model mlp = nn::mlp(4, 1, 5, nn::Activation::Tanh, 3);
  Tensor X = random_normal({6, 4}, 7);
  std::vector<std::size_t> y{0, 1, 2, 2, 1, 0};
  Tensor theta = mlp.init(3);
  Fn loss() const {
    return [this](Var th) {
      Var x = th.tape->leaf(X, false);
      return add(cross_entropy_mean(mlp.forward(th, x), y), mul_scalar(sq_norm(th), 0.5 * 1e-2));
    };
  }
};

double max_abs(const Tensor& a) {
  double m = 0;
  for (auto e : a) m = std::max(m, std::fabs(e));
  return m;
}
}  // namespace

TEST_CASE("gradient of a tanh MLP matches central differences") {
  TinyMlp t;
  const GradCheck g = check_gradient(t.loss(), t.theta);
  CHECK(g.rel_err < 1e-8);
  CHECK(g.dir_rel_err < 1e-8);
  CHECK(value_and_grad(t.loss(), t.theta).value == doctest::Approx(Recording(t.loss(), t.theta).scalar_value()));
}

TEST_CASE("dense Hessian is symmetric and equals the finite-difference Hessian") {
  TinyMlp t;
  const std::size_t p = t.theta.size();
  const Tensor H = hessian(t.loss(), t.theta, 7);  // 7 does not divide p: exercises the tail block
  double asym = 0;
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < p; ++j) asym = std::max(asym, std::fabs(H(i, j) - H(j, i)));
  CHECK(asym <= 1e-12 * max_abs(H));
  // columns by central differences of the gradient
  Tensor Hfd = zeros({p, p});
  const double h = 6e-6;
  for (std::size_t j = 0; j < p; ++j) {
    Tensor tp = t.theta, tm = t.theta;
    tp(j) += h;
    tm(j) -= h;
    const Tensor gp = value_and_grad(t.loss(), tp).grad, gm = value_and_grad(t.loss(), tm).grad;
    for (std::size_t i = 0; i < p; ++i) Hfd(i, j) = (gp(i) - gm(i)) / (2 * h);
  }
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < p * p; ++i) {
    diff += std::pow(H.data()[i] - Hfd.data()[i], 2);
    norm += std::pow(Hfd.data()[i], 2);
  }
  CHECK(std::sqrt(diff / norm) < 1e-7);
}

TEST_CASE("batched HVPs equal single HVPs, HVP is linear, and Recording reuses its tape") {
  TinyMlp t;
  const std::size_t p = t.theta.size();
  Recording rec(t.loss(), t.theta);
  const std::size_t nodes = rec.tape_size();
  const Tensor V = random_normal({5, p}, 11);
  const Tensor HV = rec.hvp(V);
  REQUIRE(shape_of(HV) == Shape{5, p});
  for (std::size_t j = 0; j < 5; ++j) {
    Tensor v = zeros({p});
    std::copy(V.data() + j * p, V.data() + (j + 1) * p, v.data());
    const Tensor hv = rec.hvp(v);
    for (std::size_t i = 0; i < p; ++i) CHECK(HV(j, i) == doctest::Approx(hv(i)).epsilon(1e-13));
  }
  // linearity: H(2u − 3v) = 2Hu − 3Hv
  Tensor u = random_normal({p}, 12), v = random_normal({p}, 13), w = zeros({p});
  for (std::size_t i = 0; i < p; ++i) w(i) = 2 * u(i) - 3 * v(i);
  const Tensor hu = rec.hvp(u), hv = rec.hvp(v), hw = rec.hvp(w);
  double err = 0;
  for (std::size_t i = 0; i < p; ++i) err = std::max(err, std::fabs(hw(i) - 2 * hu(i) + 3 * hv(i)));
  CHECK(err <= 1e-12 * std::max(1.0, max_abs(hw)));
  // sweeps reuse the recorded primal pass: no new nodes, same answers
  const Tensor g1 = rec.grad();
  CHECK(rec.tape_size() == nodes);
  CHECK(max_abs(rec.hvp(u) - hu) == 0.0);
  CHECK(max_abs(rec.grad() - g1) == 0.0);
  // and the gradient is unaffected by the tangents of an earlier HVP
  CHECK(max_abs(g1 - value_and_grad(t.loss(), t.theta).grad) == 0.0);
}

TEST_CASE("jvp and vjp of a vector-valued function match finite differences and each other") {
  TinyMlp t;
  Fn logits = [&](Var th) { return t.mlp.forward(th, th.tape->leaf(t.X, false)); };
  const Tensor v = random_normal({t.theta.size()}, 21);
  const JvpCheck j = check_jvp(logits, t.theta, v);
  CHECK(j.rel_err < 1e-8);
  REQUIRE(shape_of(j.ad) == Shape{6, 3});
  const Tensor w = random_normal({6, 3}, 22);
  const double lhs = dot(w, jvp(logits, t.theta, v).tangent);
  const double rhs = dot(vjp(logits, t.theta, w), v);
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-13));
  // k directions at once give [k, 6, 3]
  Recording rec(logits, t.theta);
  CHECK(shape_of(rec.jvp(random_normal({4, t.theta.size()}, 23))) == Shape{4, 6, 3});
}

TEST_CASE("symmetry and Taylor rates of a tanh MLP objective") {
  TinyMlp t;
  const std::size_t p = t.theta.size();
  const SymmetryCheck s = check_symmetry(t.loss(), t.theta, random_normal({p}, 31), random_normal({p}, 32));
  CHECK(s.rel_diff <= 1e-12);
  const HvpCheck h = check_hvp(t.loss(), t.theta, random_normal({p}, 33));
  CHECK(h.rel_err < 1e-7);
  const TaylorCheck tc = taylor_test(t.loss(), t.theta, random_normal({p}, 34));
  CHECK(std::fabs(tc.order1 - 2) < 0.1);
  CHECK(std::fabs(tc.order2 - 3) < 0.1);
}
