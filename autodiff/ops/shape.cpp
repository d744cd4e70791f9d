// Linear shape ops: the backward rule is the transpose map applied to the dual adjoint
// (value and tangents alike), the tangent rule the map itself.
#include <numeric>

#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {
using detail::tape_of;
using detail::with_k;

// y = reshape(a)
Var reshape(Var a, const Shape& shape) {
  Tape& tape = tape_of("reshape", a);
  const Shape sa = a.shape();
  if (numel(shape) != numel(sa))
    throw Error("reshape: cannot reshape " + shape_str(sa) + " (" + std::to_string(numel(sa)) +
                " elements) to " + shape_str(shape));
  Tensor v = a.value();
  v.reshape(shape);
  return tape.record("reshape", {a}, std::move(v),
      [shape](const Ctx& c) { return reshaped(c.x(0), shape).t; },
      [sa](Ctx& c) { c.acc(0, reshaped(c.g(), sa)); });
}

Var flatten(Var a) {
  const Shape s = a.shape();
  if (s.empty()) throw Error("flatten: needs at least 1 dimension, got a scalar");
  return reshape(a, Shape{s[0], s[0] ? numel(s) / s[0] : 0});
}

namespace {
void transpose_into(const double* in, double* out, std::size_t m, std::size_t n) {
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[j * m + i] = in[i * n + j];
}
}  // namespace

// y = aᵀ (2-D)
Var transpose(Var a) {
  Tape& tape = tape_of("transpose", a);
  const Shape s = a.shape();
  if (s.size() != 2) throw Error("transpose: expects a 2-D tensor, got " + shape_str(s));
  const std::size_t m = s[0], n = s[1];
  Tensor v = zeros(Shape{n, m});
  transpose_into(a.value().data(), v.data(), m, n);
  return tape.record("transpose", {a}, std::move(v),
      [m, n](const Ctx& c) {
        return apply_linear(c.x(0), Shape{n, m},
                            [=](const double* i, double* o) { transpose_into(i, o, m, n); }).t;
      },
      [m, n](Ctx& c) {
        c.acc(0, apply_linear(c.g(), Shape{m, n},
                              [=](const double* i, double* o) { transpose_into(i, o, n, m); }));
      });
}

// y = [x₀ | x₁ | …] along `axis`. Viewed as [outer, width_i] blocks per input.
Var concat(const std::vector<Var>& xs, std::size_t axis) {
  if (xs.empty()) throw Error("concat: no inputs");
  for (const Var& x : xs) tape_of("concat", x);
  const Shape s0 = xs[0].shape();
  if (axis >= s0.size())
    throw Error("concat: axis " + std::to_string(axis) + " out of range for shape " + shape_str(s0));
  Shape out = s0;
  out[axis] = 0;
  std::vector<std::size_t> width;  // elements per outer index, per input
  std::vector<Shape> shapes;
  for (const Var& x : xs) {
    Shape s = x.shape();
    bool ok = s.size() == s0.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == s0[d];
    if (!ok)
      throw Error("concat: shapes " + shape_str(s0) + " and " + shape_str(s) +
                  " differ off axis " + std::to_string(axis));
    out[axis] += s[axis];
    width.push_back(std::accumulate(s.begin() + axis, s.end(), std::size_t{1}, std::multiplies<>()));
    shapes.push_back(s);
  }
  const std::size_t outer =
      std::accumulate(s0.begin(), s0.begin() + axis, std::size_t{1}, std::multiplies<>());
  const std::size_t total = std::accumulate(width.begin(), width.end(), std::size_t{0});
  // copy piece i between its own layout and the output layout
  auto scatter = [=](std::size_t i, const double* in, double* o) {
    std::size_t off = 0;
    for (std::size_t q = 0; q < i; ++q) off += width[q];
    for (std::size_t r = 0; r < outer; ++r)
      std::copy(in + r * width[i], in + (r + 1) * width[i], o + r * total + off);
  };
  auto gather = [=](std::size_t i, const double* o, double* in) {
    std::size_t off = 0;
    for (std::size_t q = 0; q < i; ++q) off += width[q];
    for (std::size_t r = 0; r < outer; ++r)
      std::copy(o + r * total + off, o + r * total + off + width[i], in + r * width[i]);
  };
  Tensor v = zeros(out);
  for (std::size_t i = 0; i < xs.size(); ++i) scatter(i, xs[i].value().data(), v.data());
  return tape_of("concat", xs[0]).record("concat", xs, std::move(v),
      [=](const Ctx& c) {
        const std::size_t k = c.k(), no = numel(out);
        Tensor t = zeros(with_k(k, out));
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const Dual& x = c.x(i);
          if (!x.k) continue;
          for (std::size_t j = 0; j < k; ++j)
            scatter(i, x.t.data() + j * x.v.size(), t.data() + j * no);
        }
        return t;
      },
      [=](Ctx& c) {
        for (std::size_t i = 0; i < shapes.size(); ++i)
          if (c.active(i))
            c.acc(i, apply_linear(c.g(), shapes[i],
                                  [&](const double* o, double* in) { gather(i, o, in); }));
      });
}

// y = a[rows] along axis 0; backward scatters (adds) rows back.
Var gather_rows(Var a, const std::vector<std::size_t>& rows) {
  Tape& tape = tape_of("gather_rows", a);
  const Shape s = a.shape();
  if (s.empty()) throw Error("gather_rows: needs at least 1 dimension, got a scalar");
  for (auto r : rows)
    if (r >= s[0])
      throw Error("gather_rows: row " + std::to_string(r) + " out of range for shape " +
                  shape_str(s));
  const std::size_t w = s[0] ? numel(s) / s[0] : 0;
  Shape out = s;
  out[0] = rows.size();
  auto fwd = [rows, w](const double* in, double* o) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::copy(in + rows[i] * w, in + (rows[i] + 1) * w, o + i * w);
  };
  auto bwd = [rows, w](const double* o, double* in) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::size_t j = 0; j < w; ++j) in[rows[i] * w + j] += o[i * w + j];
  };
  Tensor v = zeros(out);
  fwd(a.value().data(), v.data());
  return tape.record("gather_rows", {a}, std::move(v),
      [out, fwd](const Ctx& c) { return apply_linear(c.x(0), out, fwd).t; },
      [s, bwd](Ctx& c) { c.acc(0, apply_linear(c.g(), s, bwd)); });
}

// y = a[begin:end] of a 1-D tensor (how a flat θ is cut into parameter tensors).
Var slice(Var a, std::size_t begin, std::size_t end) {
  if (begin > end) throw Error("slice: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is reversed");
  return slice(a, begin, Shape{end - begin});
}

// The same read as `shape` in one op: one copy of each tangent forward, and the adjoint added
// into a's at the offset (no reshape's copies on top).
Var slice(Var a, std::size_t begin, const Shape& shape) {
  Tape& tape = tape_of("slice", a);
  const Shape s = a.shape();
  const std::size_t n = numel(shape);
  if (s.size() != 1) throw Error("slice: expects a 1-D tensor, got " + shape_str(s));
  if (n > s[0] || begin > s[0] - n)  // (no overflow of begin + n)
    throw Error("slice: range [" + std::to_string(begin) + ", " + std::to_string(begin + n) +
                ") out of range for shape " + shape_str(s));
  auto fwd = [begin, n](const double* in, double* o) { std::copy(in + begin, in + begin + n, o); };
  Tensor v = zeros(shape);
  fwd(a.value().data(), v.data());
  return tape.record("slice", {a}, std::move(v),
      [shape, fwd](const Ctx& c) { return apply_linear(c.x(0), shape, fwd).t; },
      [begin](Ctx& c) { c.acc_range(0, begin, c.g()); });
}

}  // namespace inflab::ad
