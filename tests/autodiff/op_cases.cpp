// The registered cases: every catalogue op has at least one, each with an independent
// reference forward (xtensor expressions or naive loops) and a bad-shape call.
#include <cmath>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "tests/autodiff/op_harness.hpp"

namespace inflab::test {
using namespace inflab::ad;
using V = std::vector<Var>;
using T = std::vector<Tensor>;

namespace {
Var scratch(const Shape& s) { return variable(full(s, 0.5)); }

OpCase unary_case(const std::string& op, Var (*fn)(Var), std::function<double(double)> ref,
                  Domain d = Domain::Any) {
  return {op, op + " on [3, 4] and [5]", {{3, 4}}, [fn](const V& x) { return fn(x[0]); },
          [ref](const T& x) {
            Tensor y = x[0];
            for (auto& e : y) e = ref(e);
            return y;
          },
          d, [fn] { fn(Var{}); }};
}

Tensor conv_ref(const Tensor& x, const Tensor& w, std::size_t s, std::size_t p) {
  const std::size_t N = x.shape(0), C = x.shape(1), H = x.shape(2), W = x.shape(3);
  const std::size_t O = w.shape(0), kh = w.shape(2), kw = w.shape(3);
  const std::size_t Ho = (H + 2 * p - kh) / s + 1, Wo = (W + 2 * p - kw) / s + 1;
  Tensor y = zeros(Shape{N, O, Ho, Wo});
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t o = 0; o < O; ++o)
      for (std::size_t i = 0; i < Ho; ++i)
        for (std::size_t j = 0; j < Wo; ++j) {
          double acc = 0;
          for (std::size_t c = 0; c < C; ++c)
            for (std::size_t a = 0; a < kh; ++a)
              for (std::size_t b = 0; b < kw; ++b) {
                const long h = long(i * s + a) - long(p), ww = long(j * s + b) - long(p);
                if (h >= 0 && ww >= 0 && h < long(H) && ww < long(W)) acc += x(n, c, h, ww) * w(o, c, a, b);
              }
          y(n, o, i, j) = acc;
        }
  return y;
}

Tensor pool_ref(const Tensor& x, std::size_t k, std::size_t s, bool is_max) {
  const std::size_t N = x.shape(0), C = x.shape(1), H = x.shape(2), W = x.shape(3);
  const std::size_t Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  Tensor y = zeros(Shape{N, C, Ho, Wo});
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t i = 0; i < Ho; ++i)
        for (std::size_t j = 0; j < Wo; ++j) {
          double m = is_max ? -1e300 : 0;
          for (std::size_t a = 0; a < k; ++a)
            for (std::size_t b = 0; b < k; ++b) {
              const double e = x(n, c, i * s + a, j * s + b);
              m = is_max ? std::max(m, e) : m + e / double(k * k);
            }
          y(n, c, i, j) = m;
        }
  return y;
}

Tensor log_softmax_ref(const Tensor& z) {
  // evaluate each reduction before reuse: xtensor 0.24's lazy keep_dims reducers
  // give wrong values when broadcast inside a larger expression
  const Tensor m = xt::amax(z, {1}, xt::keep_dims);
  const Tensor se = xt::sum(xt::exp(z - m), {1}, xt::keep_dims);
  const Tensor lse = m + xt::log(se);
  return z - lse;
}

std::vector<OpCase> build() {
  std::vector<OpCase> c;
  auto bin = [&](const std::string& op, Var (*fn)(Var, Var), auto ref, Domain d) {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 1, 3}, {4, 1}}, {{3, 4}, {}}, {{1}, {2, 3}}};
    for (const auto& [a, b] : shapes)
      c.push_back({op, op + " " + shape_str(a) + " " + shape_str(b), {a, b},
                   [fn](const V& x) { return fn(x[0], x[1]); },
                   [ref](const T& x) { return Tensor(ref(x[0], x[1])); }, d,
                   [fn] { fn(scratch({3, 4}), scratch({5})); }});
  };
  bin("add", add, [](const Tensor& a, const Tensor& b) { return Tensor(a + b); }, Domain::Any);
  bin("sub", sub, [](const Tensor& a, const Tensor& b) { return Tensor(a - b); }, Domain::Any);
  bin("mul", mul, [](const Tensor& a, const Tensor& b) { return Tensor(a * b); }, Domain::Any);
  bin("div", div, [](const Tensor& a, const Tensor& b) { return Tensor(a / b); }, Domain::Positive);

  c.push_back(unary_case("neg", neg, [](double x) { return -x; }));
  c.push_back({"add_scalar", "x + 1.5", {{3, 4}}, [](const V& x) { return x[0] + 1.5; },
               [](const T& x) { return Tensor(x[0] + 1.5); }, Domain::Any, [] { add_scalar(Var{}, 1); }});
  c.push_back({"add_scalar", "2 − x (composite with neg)", {{5}}, [](const V& x) { return 2.0 - x[0]; },
               [](const T& x) { return Tensor(2.0 - x[0]); }, Domain::Any, [] { add_scalar(Var{}, 1); }});
  c.push_back({"mul_scalar", "−0.7 x", {{3, 4}}, [](const V& x) { return x[0] * -0.7; },
               [](const T& x) { return Tensor(x[0] * -0.7); }, Domain::Any, [] { mul_scalar(Var{}, 1); }});
  c.push_back({"mul_scalar", "x / 4", {{2, 3}}, [](const V& x) { return x[0] / 4.0; },
               [](const T& x) { return Tensor(x[0] / 4.0); }, Domain::Any, [] { mul_scalar(Var{}, 1); }});
  for (double p : {2.5, -1.0, 0.5})
    c.push_back({"pow_scalar", "x^" + std::to_string(p), {{3, 4}},
                 [p](const V& x) { return pow_scalar(x[0], p); },
                 [p](const T& x) { return Tensor(xt::pow(x[0], p)); }, Domain::Positive,
                 [] { pow_scalar(Var{}, 2); }});
  c.push_back({"pow_scalar", "x^3 on signed x", {{4}}, [](const V& x) { return pow_scalar(x[0], 3); },
               [](const T& x) { return Tensor(x[0] * x[0] * x[0]); }, Domain::Any, [] { pow_scalar(Var{}, 2); }});
  c.push_back({"pow_scalar", "3 / x (composite)", {{4}}, [](const V& x) { return 3.0 / x[0]; },
               [](const T& x) { return Tensor(3.0 / x[0]); }, Domain::Positive, [] { pow_scalar(Var{}, 2); }});

  c.push_back(unary_case("exp", ad::exp, [](double x) { return std::exp(x); }));
  c.push_back(unary_case("log", ad::log, [](double x) { return std::log(x); }, Domain::Positive));
  c.push_back(unary_case("sqrt", ad::sqrt, [](double x) { return std::sqrt(x); }, Domain::Positive));
  c.push_back(unary_case("square", square, [](double x) { return x * x; }));
  c.push_back(unary_case("abs", ad::abs, [](double x) { return std::fabs(x); }, Domain::AwayFromZero));
  c.push_back(unary_case("tanh", ad::tanh, [](double x) { return std::tanh(x); }));
  c.push_back(unary_case("sigmoid", sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }));
  c.push_back(unary_case("relu", relu, [](double x) { return x > 0 ? x : 0; }, Domain::AwayFromZero));
  c.push_back(unary_case("softplus", softplus, [](double x) { return std::log(1 + std::exp(x)); }));
  c.push_back(unary_case("elu", elu, [](double x) { return x > 0 ? x : std::exp(x) - 1; }, Domain::AwayFromZero));
  c.push_back(unary_case("selu", selu, [](double x) {
    return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1)); }, Domain::AwayFromZero));
  c.push_back(unary_case("gelu", gelu, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }));

  for (auto [a, b] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {4, 2}}, {{1, 5}, {5, 3}}, {{4, 1}, {1, 3}}})
    c.push_back({"matmul", "matmul " + shape_str(a) + " @ " + shape_str(b), {a, b},
                 [](const V& x) { return matmul(x[0], x[1]); },
                 [](const T& x) { return Tensor(xt::linalg::dot(x[0], x[1])); }, Domain::Any,
                 [] { matmul(scratch({3, 4}), scratch({3, 4})); }});
  for (auto [a, b] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {2, 4}}, {{1, 5}, {3, 5}}, {{4, 1}, {3, 1}}})
    c.push_back({"matmul_nt", "matmul_nt " + shape_str(a) + " @ " + shape_str(b) + "ᵀ", {a, b},
                 [](const V& x) { return matmul_nt(x[0], x[1]); },
                 [](const T& x) { return Tensor(xt::linalg::dot(x[0], xt::transpose(x[1]))); }, Domain::Any,
                 [] { matmul_nt(scratch({3, 4}), scratch({4, 3})); }});
  c.push_back({"transpose", "[3, 4]ᵀ", {{3, 4}}, [](const V& x) { return transpose(x[0]); },
               [](const T& x) { return Tensor(xt::transpose(x[0])); }, Domain::Any,
               [] { transpose(scratch({2, 3, 4})); }});
  c.push_back({"reshape", "[3, 4] -> [2, 6]", {{3, 4}}, [](const V& x) { return reshape(x[0], {2, 6}); },
               [](const T& x) { Tensor y = x[0]; y.reshape({2, 6}); return y; }, Domain::Any,
               [] { reshape(scratch({3, 4}), {5}); }});
  c.push_back({"reshape", "flatten [2, 3, 2] (composite)", {{2, 3, 2}}, [](const V& x) { return flatten(x[0]); },
               [](const T& x) { Tensor y = x[0]; y.reshape({2, 6}); return y; }, Domain::Any,
               [] { reshape(scratch({3, 4}), {5}); }});
  c.push_back({"concat", "axis 1: [2, 3] | [2, 2]", {{2, 3}, {2, 2}},
               [](const V& x) { return concat({x[0], x[1]}, 1); },
               [](const T& x) { return Tensor(xt::concatenate(xt::xtuple(x[0], x[1]), 1)); }, Domain::Any,
               [] { concat({scratch({2, 3}), scratch({3, 3})}, 1); }});
  c.push_back({"concat", "axis 0: [1, 3] | [2, 3] | [1, 3]", {{1, 3}, {2, 3}, {1, 3}},
               [](const V& x) { return concat({x[0], x[1], x[2]}, 0); },
               [](const T& x) { return Tensor(xt::concatenate(xt::xtuple(x[0], x[1], x[2]), 0)); }, Domain::Any,
               [] { concat({scratch({2, 3}), scratch({2, 2})}, 0); }});
  c.push_back({"gather_rows", "rows {2, 0, 2} of [4, 3]", {{4, 3}},
               [](const V& x) { return gather_rows(x[0], {2, 0, 2}); },
               [](const T& x) { return Tensor(xt::view(x[0], xt::keep(2, 0, 2), xt::all())); }, Domain::Any,
               [] { gather_rows(scratch({4, 3}), {7}); }});
  c.push_back({"slice", "[1:4] of [6]", {{6}}, [](const V& x) { return slice(x[0], 1, 4); },
               [](const T& x) { return Tensor(xt::view(x[0], xt::range(1, 4))); }, Domain::Any,
               [] { slice(scratch({6}), 3, 9); }});
  c.push_back({"slice", "[1:7] of [8] as [2, 3]", {{8}}, [](const V& x) { return slice(x[0], 1, Shape{2, 3}); },
               [](const T& x) {
                 Tensor y = xt::view(x[0], xt::range(1, 7));
                 y.reshape({2, 3});
                 return y;
               },
               Domain::Any, [] { slice(scratch({8}), 3, Shape{2, 3}); }});

  c.push_back({"sum", "Σ [3, 4]", {{3, 4}}, [](const V& x) { return sum(x[0]); },
               [](const T& x) { return Tensor(xt::sum(x[0])); }, Domain::Any, [] { sum(Var{}); }});
  c.push_back({"sum_axis", "Σ axis 0 of [3, 4]", {{3, 4}}, [](const V& x) { return sum_axis(x[0], 0); },
               [](const T& x) { return Tensor(xt::sum(x[0], {0})); }, Domain::Any,
               [] { sum_axis(scratch({3, 4}), 2); }});
  c.push_back({"sum_axis", "Σ axis −1 keepdims of [2, 3, 4]", {{2, 3, 4}},
               [](const V& x) { return sum_axis(x[0], -1, true); },
               [](const T& x) { return Tensor(xt::sum(x[0], {2}, xt::keep_dims)); }, Domain::Any,
               [] { sum_axis(scratch({3, 4}), -3); }});
  c.push_back({"sum", "mean (composite)", {{3, 4}}, [](const V& x) { return mean(x[0]); },
               [](const T& x) { return Tensor(xt::mean(x[0])); }, Domain::Any, [] { sum(Var{}); }});
  c.push_back({"sum_axis", "mean axis 1 (composite)", {{3, 4}}, [](const V& x) { return mean_axis(x[0], 1); },
               [](const T& x) { return Tensor(xt::mean(x[0], {1})); }, Domain::Any,
               [] { sum_axis(scratch({3, 4}), 2); }});
  c.push_back({"sq_norm", "‖[3, 4]‖²", {{3, 4}}, [](const V& x) { return sq_norm(x[0]); },
               [](const T& x) { return Tensor(xt::sum(x[0] * x[0])); }, Domain::Any, [] { sq_norm(Var{}); }});

  c.push_back({"log_softmax", "rows of [3, 4]", {{3, 4}}, [](const V& x) { return log_softmax(x[0]); },
               [](const T& x) { return log_softmax_ref(x[0]); }, Domain::Any,
               [] { log_softmax(variable(scalar(1))); }});
  c.push_back({"softmax", "rows of [3, 4]", {{3, 4}}, [](const V& x) { return softmax(x[0]); },
               [](const T& x) { return Tensor(xt::exp(log_softmax_ref(x[0]))); }, Domain::Any,
               [] { softmax(variable(scalar(1))); }});
  const std::vector<std::size_t> labels{0, 2, 1, 2};
  c.push_back({"cross_entropy", "per example, [4, 3]", {{4, 3}},
               [labels](const V& x) { return cross_entropy(x[0], labels); },
               [labels](const T& x) {
                 Tensor ls = log_softmax_ref(x[0]), y = zeros({4});
                 for (std::size_t i = 0; i < 4; ++i) y(i) = -ls(i, labels[i]);
                 return y;
               }, Domain::Any, [] { cross_entropy(scratch({4, 3}), {0, 1, 3, 0}); }});
  c.push_back({"cross_entropy", "mean (composite), large logits", {{4, 3}},
               [labels](const V& x) { return cross_entropy_mean(x[0] * 30.0, labels); },
               [labels](const T& x) {
                 Tensor ls = log_softmax_ref(x[0] * 30.0);
                 double s = 0;
                 for (std::size_t i = 0; i < 4; ++i) s -= ls(i, labels[i]);
                 return scalar(s / 4);
               }, Domain::Any, [] { cross_entropy(scratch({4, 3}), {0, 1}); }});
  c.push_back({"sub", "mse per example (composite)", {{4, 3}, {4, 3}},
               [](const V& x) { return mse(x[0], x[1]); },
               [](const T& x) { return Tensor(xt::mean(xt::square(x[0] - x[1]), {1})); }, Domain::Any,
               [] { mse(scratch({4, 3}), scratch({4, 2})); }, "mse"});
  c.push_back({"sub", "mse mean (composite)", {{5}, {5}}, [](const V& x) { return mse_mean(x[0], x[1]); },
               [](const T& x) { return Tensor(xt::mean(xt::square(x[0] - x[1]))); }, Domain::Any,
               [] { mse_mean(scratch({5}), scratch({4})); }, "mse"});
  const std::vector<double> yb{1, 0, 0, 1, 1};
  c.push_back({"softplus", "binary logistic (composite)", {{5}},
               [yb](const V& x) { return binary_logistic(x[0], yb); },
               [yb](const T& x) {
                 Tensor y = zeros({5});
                 for (std::size_t i = 0; i < 5; ++i) y(i) = std::log(1 + std::exp(x[0](i))) - yb[i] * x[0](i);
                 return y;
               }, Domain::Any, [] { binary_logistic(scratch({4}), {1, 0}); }, "binary_logistic"});

  for (auto [st, pd] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 0}, {2, 1}})
    c.push_back({"conv2d", "x [2,2,5,5] w [3,2,3,3] stride " + std::to_string(st) + " pad " + std::to_string(pd),
                 {{2, 2, 5, 5}, {3, 2, 3, 3}},
                 [st, pd](const V& x) { return conv2d(x[0], x[1], Conv2dOptions{st, pd}); },
                 [st, pd](const T& x) { return conv_ref(x[0], x[1], st, pd); }, Domain::Any,
                 [] { conv2d(scratch({1, 2, 5, 5}), scratch({3, 1, 3, 3})); }});
  // the padding bounds of im2col/col2im: a non-square image and kernel, padding at least the
  // kernel's size, a stride larger than the kernel
  struct ConvCase {
    Shape x, w;
    std::size_t stride, pad;
  };
  for (const ConvCase& k : {ConvCase{{2, 2, 4, 7}, {2, 2, 2, 3}, 1, 3}, ConvCase{{1, 1, 6, 5}, {2, 1, 1, 2}, 3, 1},
                            ConvCase{{1, 2, 3, 1}, {1, 2, 2, 1}, 2, 2}})
    c.push_back({"conv2d", "x " + shape_str(k.x) + " w " + shape_str(k.w) + " stride " + std::to_string(k.stride) + " pad " + std::to_string(k.pad),
                 {k.x, k.w},
                 [k](const V& x) { return conv2d(x[0], x[1], Conv2dOptions{k.stride, k.pad}); },
                 [k](const T& x) { return conv_ref(x[0], x[1], k.stride, k.pad); }, Domain::Any,
                 [] { conv2d(scratch({1, 2, 5, 5}), scratch({3, 1, 3, 3})); }});
  c.push_back({"conv2d", "with bias (composite), 1×1 kernel", {{1, 3, 4, 4}, {2, 3, 1, 1}, {2}},
               [](const V& x) { return conv2d(x[0], x[1], x[2]); },
               [](const T& x) {
                 Tensor y = conv_ref(x[0], x[1], 1, 0);
                 for (std::size_t o = 0; o < 2; ++o) xt::view(y, xt::all(), o) += x[2](o);
                 return y;
               }, Domain::Any, [] { conv2d(scratch({1, 3, 4, 4}), scratch({2, 3, 1, 1}), scratch({3})); }});
  c.push_back({"max_pool2d", "2×2 on [2,2,4,4]", {{2, 2, 4, 4}}, [](const V& x) { return max_pool2d(x[0], 2); },
               [](const T& x) { return pool_ref(x[0], 2, 2, true); }, Domain::Distinct,
               [] { max_pool2d(scratch({3, 4}), 2); }});
  c.push_back({"max_pool2d", "3×3 stride 2 on [1,2,5,5]", {{1, 2, 5, 5}},
               [](const V& x) { return max_pool2d(x[0], 3, 2); },
               [](const T& x) { return pool_ref(x[0], 3, 2, true); }, Domain::Distinct,
               [] { max_pool2d(scratch({1, 1, 2, 2}), 3); }});
  c.push_back({"avg_pool2d", "2×2 on [2,2,4,4]", {{2, 2, 4, 4}}, [](const V& x) { return avg_pool2d(x[0], 2); },
               [](const T& x) { return pool_ref(x[0], 2, 2, false); }, Domain::Any,
               [] { avg_pool2d(scratch({3, 4}), 2); }});
  c.push_back({"avg_pool2d", "3×3 stride 1 on [1,2,5,5]", {{1, 2, 5, 5}},
               [](const V& x) { return avg_pool2d(x[0], 3, 1); },
               [](const T& x) { return pool_ref(x[0], 3, 1, false); }, Domain::Any,
               [] { avg_pool2d(scratch({1, 1, 2, 2}), 3); }});
  return c;
}
}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = build();
  return cases;
}

}  // namespace inflab::test
