// Elementwise functions f, each given by f, f′ and f″. The tangent rule is ẏ = f′(x) ẋ;
// the backward rule x̄ += g ⊙ f′(x) is evaluated in Dual arithmetic, whose tangent
// ġ f′(x) + g f″(x) ẋ is exactly the second-order term an HVP needs.
#include <cmath>

#include <vector>

#include "autodiff/ops/op_util.hpp"
#include "autodiff/vecmath.hpp"

namespace inflab::ad {

namespace {
template <class F, class D1, class D2>
Var unary(const char* op, Var x, F f, D1 d1, D2 d2) {
  Tape& tape = detail::tape_of(op, x);
  Tensor v = kern::map(x.value(), f);
  return tape.record(op, {x}, std::move(v),
      [d1](const Ctx& c) { return detail::scale_tangent(c.x(0), d1); },
      [d1, d2](Ctx& c) { c.acc(0, c.g() * dmap(c.x(0), d1, d2)); });
}

// The same for functions whose derivatives are cheap in the output y = f(x) (tanh,
// sigmoid, exp): f′ = d1(y), f″ = d2(y), so the sweeps never re-evaluate f — tanh was
// evaluated four times per HVP before, 19% of an MLP's HVP (docs/performance.md).
template <class F, class D1, class D2>
Var unary_by_output(const char* op, Var x, F f, D1 d1, D2 d2) {
  Tape& tape = detail::tape_of(op, x);
  Tensor v = f(x.value());  // f maps the whole array (vectorised where it can be)
  return tape.record(op, {x}, std::move(v),
      [d1](const Ctx& c) {
        const Dual& X = c.x(0);
        const Tensor& y = c.y().v;
        const std::size_t n = y.size();
        std::vector<double> d(n);
        for (std::size_t i = 0; i < n; ++i) d[i] = d1(y.data()[i]);
        Tensor t = Tensor::from_shape(X.t.shape());
        for (std::size_t j = 0; j < X.k; ++j) {
          const double* xt = X.t.data() + j * n;
          double* tt = t.data() + j * n;
          for (std::size_t i = 0; i < n; ++i) tt[i] = d[i] * xt[i];
        }
        return t;
      },
      [d1, d2](Ctx& c) {
        // the Dual f′(x): value d1(y), tangents d2(y) ⊙ ẋ
        const Dual& X = c.x(0);
        const Tensor& y = c.y().v;
        const std::size_t n = y.size();
        Dual d;
        d.v = Tensor::from_shape(y.shape());
        for (std::size_t i = 0; i < n; ++i) d.v.data()[i] = d1(y.data()[i]);
        if (X.k) {
          d.k = X.k;
          d.t = Tensor::from_shape(X.t.shape());
          std::vector<double> s(n);
          for (std::size_t i = 0; i < n; ++i) s[i] = d2(y.data()[i]);
          for (std::size_t j = 0; j < X.k; ++j) {
            const double* xt = X.t.data() + j * n;
            double* dt = d.t.data() + j * n;
            for (std::size_t i = 0; i < n; ++i) dt[i] = s[i] * xt[i];
          }
        }
        c.acc(0, c.g() * d);
      });
}
double sigm(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}
constexpr double kSeluLambda = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
}  // namespace

Var exp(Var x) {
  auto e = [](const Tensor& v) { return vec::exp(v); };
  auto same = [](double y) { return y; };  // exp′ = exp″ = exp = y
  return unary_by_output("exp", x, e, same, same);
}
Var log(Var x) {
  return unary("log", x, [](double v) { return std::log(v); }, [](double v) { return 1 / v; },
               [](double v) { return -1 / (v * v); });
}
Var sqrt(Var x) {
  return unary("sqrt", x, [](double v) { return std::sqrt(v); },
               [](double v) { return 0.5 / std::sqrt(v); },
               [](double v) { return -0.25 / (v * std::sqrt(v)); });
}
Var square(Var x) {
  return unary("square", x, [](double v) { return v * v; }, [](double v) { return 2 * v; },
               [](double) { return 2.0; });
}
// |x|: f′ = sign(x), f″ = 0 (away from 0)
Var abs(Var x) {
  return unary("abs", x, [](double v) { return std::fabs(v); },
               [](double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); },
               [](double) { return 0.0; });
}
// tanh′ = 1 − t², tanh″ = −2t(1 − t²)
Var tanh(Var x) {
  return unary_by_output("tanh", x, [](const Tensor& v) { return vec::tanh(v); }, [](double t) { return 1 - t * t; },
                         [](double t) { return -2 * t * (1 - t * t); });
}
// σ′ = σ(1 − σ), σ″ = σ(1 − σ)(1 − 2σ)
Var sigmoid(Var x) {
  return unary_by_output("sigmoid", x, [](const Tensor& v) { return kern::map(v, sigm); }, [](double s) { return s * (1 - s); },
                         [](double s) { return s * (1 - s) * (1 - 2 * s); });
}
Var relu(Var x) {
  return unary("relu", x, [](double v) { return v > 0 ? v : 0.0; },
               [](double v) { return v > 0 ? 1.0 : 0.0; }, [](double) { return 0.0; });
}
// softplus = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|);  ′ = σ, ″ = σ(1 − σ)
Var softplus(Var x) {
  return unary("softplus", x,
               [](double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v))); },
               sigm, [](double v) { const double s = sigm(v); return s * (1 - s); });
}
Var elu(Var x) {
  return unary("elu", x, [](double v) { return v > 0 ? v : std::expm1(v); },
               [](double v) { return v > 0 ? 1.0 : std::exp(v); },
               [](double v) { return v > 0 ? 0.0 : std::exp(v); });
}
Var selu(Var x) {
  return unary("selu", x,
               [](double v) { return kSeluLambda * (v > 0 ? v : kSeluAlpha * std::expm1(v)); },
               [](double v) { return kSeluLambda * (v > 0 ? 1.0 : kSeluAlpha * std::exp(v)); },
               [](double v) { return v > 0 ? 0.0 : kSeluLambda * kSeluAlpha * std::exp(v); });
}
// gelu = x Φ(x);  ′ = Φ + x φ;  ″ = φ (2 − x²)
Var gelu(Var x) {
  auto Phi = [](double v) { return 0.5 * (1 + std::erf(v * kInvSqrt2)); };
  auto phi = [](double v) { return kInvSqrt2Pi * std::exp(-0.5 * v * v); };
  return unary("gelu", x, [Phi](double v) { return v * Phi(v); },
               [Phi, phi](double v) { return Phi(v) + v * phi(v); },
               [phi](double v) { return phi(v) * (2 - v * v); });
}

}  // namespace inflab::ad
