// A tour of what inflab computes, on a tiny tanh MLP with fixed data: the training loss
// R(θ), its gradient, a Hessian-vector product, and the finite-difference checks of both.
// Nothing is trained; the point is to see each quantity and how it is verified.
#include <cmath>
#include <cstdio>

#include "autodiff/blas.hpp"
#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "nn/builders.hpp"

using namespace inflab;
using namespace inflab::ad;

int main() {
  inflab::blas::keep_freed_memory();  // process-wide allocator setting (autodiff/blas.hpp)
  // 12 points in R⁴, 3 classes; an MLP 4 → 6 → 3 with tanh; weight decay λ.
  const nn::Model mlp = nn::mlp(4, 1, 6, nn::Activation::Tanh, 3);
  const Tensor X = random_normal({12, 4}, 42);
  std::vector<std::size_t> y(12);
  for (std::size_t i = 0; i < 12; ++i) y[i] = X(i, 0) + X(i, 1) > 0.5 ? 2 : (X(i, 2) > 0 ? 1 : 0);
  const double lambda = 1e-2;
  const Tensor theta = mlp.init(7);
  const std::size_t p = theta.size();

  // R(θ) = (1/n) Σ ℓ(zᵢ; θ) + (λ/2)‖θ‖²   (docs/conventions.md: the regularised training objective)
  const Fn R = [&](Var th) {
    Var logits = mlp.forward(th, th.tape->leaf(X, false));
    return add(cross_entropy_mean(logits, y), mul_scalar(sq_norm(th), lambda / 2));
  };

  std::printf("inflab · HVP tour\n");
  std::printf("model   MLP 4 → 6 → 3, tanh, softmax cross-entropy, λ = %g\n", lambda);
  std::printf("data    12 fixed points in R⁴ (seeded), 3 classes\n");
  std::printf("θ       p = %zu parameters (0.weight [6,4], 0.bias [6], 2.weight [3,6], 2.bias [3])\n\n", p);

  Recording rec(R, theta);  // one primal pass; every sweep below reuses it
  const Tensor g = rec.grad();
  std::printf("R(θ)                 = %.12f\n", rec.scalar_value());
  std::printf("‖∇R(θ)‖              = %.6e\n", norm2(g));
  std::printf("∇R(θ)[0:6]           =");
  for (std::size_t i = 0; i < 6; ++i) std::printf(" % .6f", g(i));
  std::printf("\n");

  const Tensor v = random_normal({p}, 9);
  const Tensor Hv = rec.hvp(v);  // forward-over-reverse: tangent sweep + dual adjoint sweep
  std::printf("‖v‖                  = %.6f  (v seeded N(0, I))\n", norm2(v));
  std::printf("(H v)[0:6]           =");
  for (std::size_t i = 0; i < 6; ++i) std::printf(" % .6f", Hv(i));
  const double vHv = dot(v, Hv);
  std::printf("\nvᵀ H v               = %.9f%s\n\n", vHv,
              vHv < 0 ? "  (negative: H is indefinite at this θ, as for most networks)" : "");

  std::printf("checks against finite differences (h = ∛ε·max(1,|θ|) ≈ 6e-6)\n");
  const GradCheck gc = check_gradient(R, theta);
  std::printf("  gradient            ‖g − g_fd‖/‖g_fd‖ = %.2e   random direction: %.2e\n",
              gc.rel_err, gc.dir_rel_err);
  const HvpCheck hc = check_hvp(R, theta, v);
  std::printf("  HVP                 ‖Hv − fd‖/‖fd‖     = %.2e   (fd: ‖v‖(∇R(θ+hv̂) − ∇R(θ−hv̂))/2h)\n",
              hc.rel_err);
  const SymmetryCheck sc = check_symmetry(R, theta, v, random_normal({p}, 10));
  std::printf("  symmetry            uᵀ(Hv) = %.12f, vᵀ(Hu) = %.12f, rel diff %.1e\n", sc.uHv,
              sc.vHu, sc.rel_diff);
  const TaylorCheck tc = taylor_test(R, theta, v, 1e-1, 8);
  std::printf("  Taylor remainders along v̂:\n      ε          r1 = |R(θ+εv̂)−R−εgᵀv̂|   r2 = |r1 − ½ε²v̂ᵀHv̂|\n");
  for (std::size_t i = 0; i < tc.eps.size(); ++i)
    std::printf("      %-9.3e  %-22.3e  %.3e\n", tc.eps[i], tc.r1[i], tc.r2[i]);
  std::printf("      observed orders: r1 ~ ε^%.2f (gradient right ⇔ 2), r2 ~ ε^%.2f (HVP right ⇔ 3)\n\n",
              tc.order1, tc.order2);

  const bool ok = gc.rel_err < 1e-6 && hc.rel_err < 1e-6 && sc.rel_diff < 1e-12 &&
                  std::fabs(tc.order1 - 2) < 0.1 && std::fabs(tc.order2 - 3) < 0.1;
  std::printf("verdict: %s\n", ok ? "gradient and HVP agree with finite differences"
                                  : "MISMATCH — a derivative rule is wrong");
  return ok ? 0 : 1;
}
