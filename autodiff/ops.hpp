// The differentiable ops. Each records one node whose forward rule, tangent (JVP) rule and
// backward rule (in Dual arithmetic, giving gradients and HVPs) sit side by side in
// ops/*.cpp. Shape errors throw inflab::Error naming the op and the shapes.
#pragma once
#include <cstddef>
#include <vector>

#include "autodiff/tape.hpp"

namespace inflab::ad {

// Elementwise arithmetic with numpy broadcasting.
Var add(Var a, Var b);
Var sub(Var a, Var b);
Var mul(Var a, Var b);
Var div(Var a, Var b);
Var neg(Var a);
Var add_scalar(Var a, double c);  // a + c
Var mul_scalar(Var a, double c);  // c a
Var pow_scalar(Var a, double c);  // a^c (a > 0 unless c is a whole number)

inline Var operator+(Var a, Var b) { return add(a, b); }
inline Var operator-(Var a, Var b) { return sub(a, b); }
inline Var operator*(Var a, Var b) { return mul(a, b); }
inline Var operator/(Var a, Var b) { return div(a, b); }
inline Var operator-(Var a) { return neg(a); }
inline Var operator+(Var a, double c) { return add_scalar(a, c); }
inline Var operator+(double c, Var a) { return add_scalar(a, c); }
inline Var operator-(Var a, double c) { return add_scalar(a, -c); }
inline Var operator-(double c, Var a) { return add_scalar(neg(a), c); }
inline Var operator*(Var a, double c) { return mul_scalar(a, c); }
inline Var operator*(double c, Var a) { return mul_scalar(a, c); }
inline Var operator/(Var a, double c) { return mul_scalar(a, 1.0 / c); }
inline Var operator/(double c, Var a) { return mul_scalar(pow_scalar(a, -1.0), c); }

// Elementwise functions and activations.
Var exp(Var x);
Var log(Var x);
Var sqrt(Var x);
Var square(Var x);
Var abs(Var x);
Var tanh(Var x);
Var sigmoid(Var x);
Var relu(Var x);
Var softplus(Var x);            // log(1 + eˣ), stable
Var elu(Var x);                 // x > 0 ? x : eˣ − 1   (α = 1)
Var selu(Var x);                // λ(x > 0 ? x : α(eˣ − 1)), Klambauer et al. constants
Var gelu(Var x);                // x Φ(x), exact (erf) form

// Linear algebra and shape.
Var matmul(Var a, Var b);       // 2-D: [m, k] @ [k, n]
Var matmul_nt(Var a, Var b);    // 2-D: [m, k] @ [n, k]ᵀ — a linear layer x Wᵀ, with no transposed copy
Var transpose(Var a);           // 2-D
Var reshape(Var a, const Shape& shape);
Var flatten(Var a);             // [n, ...] -> [n, prod(...)]
Var concat(const std::vector<Var>& xs, std::size_t axis);
Var gather_rows(Var a, const std::vector<std::size_t>& rows);  // a[rows] along axis 0
Var slice(Var a, std::size_t begin, std::size_t end);           // 1-D a[begin:end]
Var slice(Var a, std::size_t begin, const Shape& shape);        // 1-D a[begin:begin+|shape|] as `shape` (a parameter tensor cut from θ)

// Reductions.
Var sum(Var a);                                 // 0-d
Var sum_axis(Var a, int axis, bool keepdims = false);
Var mean(Var a);                                // 0-d
Var mean_axis(Var a, int axis, bool keepdims = false);
Var sq_norm(Var a);                             // ‖a‖² (0-d), for weight decay

// Softmax family over the last axis of a 2-D [n, C] input, and losses.
Var log_softmax(Var z);
Var softmax(Var z);
// Per-example softmax cross-entropy −log softmax(z)_y, fused with a stable log-sum-exp: [n].
Var cross_entropy(Var logits, const std::vector<std::size_t>& labels);
Var cross_entropy_mean(Var logits, const std::vector<std::size_t>& labels);
// Per-example mean squared error over the trailing axes: [n]; and its mean over n.
Var mse(Var pred, Var target);
Var mse_mean(Var pred, Var target);
// Binary logistic loss for labels y ∈ {0,1}: softplus(z) − y z, per example ([n]).
Var binary_logistic(Var z, const std::vector<double>& y);

// Convolution and pooling, NCHW.
struct Conv2dOptions {
  std::size_t stride = 1;
  std::size_t padding = 0;
};
// x [N, C, H, W], w [O, C, kh, kw], bias [O] (optional: pass an empty Var{}).
Var conv2d(Var x, Var w, Var bias, Conv2dOptions opt = {});
Var conv2d(Var x, Var w, Conv2dOptions opt = {});
// Windows of size k with the given stride (0 means stride = k); no padding.
Var max_pool2d(Var x, std::size_t k, std::size_t stride = 0);
Var avg_pool2d(Var x, std::size_t k, std::size_t stride = 0);

}  // namespace inflab::ad
