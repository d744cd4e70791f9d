#include "autodiff/dual.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/kernels.hpp"

namespace inflab::ad {
using kern::Operand;

namespace {
std::size_t batch_of(const Dual& a, const Dual& b, const char* op) {
  if (a.k && b.k && a.k != b.k)
    throw Error(std::string(op) + ": operands carry " + std::to_string(a.k) + " and " +
                std::to_string(b.k) + " tangent directions");
  return a.k ? a.k : b.k;
}
Operand val(const Dual& a, const Shape& s) { return {a.v.data(), s, 0}; }
Operand tan(const Dual& a, const Shape& s) { return {a.t.data(), s, a.k}; }
void add_into(Tensor& acc, const Tensor& d, double sign = 1) {
  for (std::size_t i = 0; i < acc.size(); ++i) acc.data()[i] += sign * d.data()[i];
}
}  // namespace

Tensor broadcast_tangent(const Dual& a, const Shape& out, std::size_t k) {
  const Shape sa = a.shape();
  if (!a.k) return with_leading(k, out);
  static const Shape scalar_shape{};
  const double zero = 0;
  return kern::binary(tan(a, sa), Operand{&zero, scalar_shape, 0}, out,
                      [](double x, double) { return x; });
}

Tensor tangent_of_sum(const Dual& a, const Dual& b, const Shape& out, double sign_b) {
  const std::size_t k = batch_of(a, b, "add");
  Tensor t = broadcast_tangent(a, out, k);
  if (b.k) add_into(t, broadcast_tangent(b, out, k), sign_b);
  return t;
}

Tensor tangent_of_product(const Dual& a, const Dual& b, const Shape& out) {
  const std::size_t k = batch_of(a, b, "mul");
  const Shape sa = a.shape(), sb = b.shape();
  auto mul = [](double x, double y) { return x * y; };
  if (a.k && b.k) {
    Tensor t = kern::binary(tan(a, sa), val(b, sb), out, mul);
    add_into(t, kern::binary(val(a, sa), tan(b, sb), out, mul));
    return t;
  }
  if (a.k) return kern::binary(tan(a, sa), val(b, sb), out, mul);
  if (b.k) return kern::binary(val(a, sa), tan(b, sb), out, mul);
  return with_leading(k, out);
}

Dual operator+(const Dual& a, const Dual& b) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = kern::broadcast_shape(sa, sb, "add");
  Dual y(kern::binary(val(a, sa), val(b, sb), out, [](double x, double z) { return x + z; }));
  if ((y.k = batch_of(a, b, "add"))) y.t = tangent_of_sum(a, b, out, 1);
  return y;
}

Dual operator-(const Dual& a, const Dual& b) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = kern::broadcast_shape(sa, sb, "sub");
  Dual y(kern::binary(val(a, sa), val(b, sb), out, [](double x, double z) { return x - z; }));
  if ((y.k = batch_of(a, b, "sub"))) y.t = tangent_of_sum(a, b, out, -1);
  return y;
}

Dual operator*(const Dual& a, const Dual& b) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = kern::broadcast_shape(sa, sb, "mul");
  Dual y(kern::binary(val(a, sa), val(b, sb), out, [](double x, double z) { return x * z; }));
  if ((y.k = batch_of(a, b, "mul"))) y.t = tangent_of_product(a, b, out);
  return y;
}

// d(a/b) = (ȧ − (a/b) ḃ) / b
Dual operator/(const Dual& a, const Dual& b) {
  const Shape sa = a.shape(), sb = b.shape();
  const Shape out = kern::broadcast_shape(sa, sb, "div");
  Dual y(kern::binary(val(a, sa), val(b, sb), out, [](double x, double z) { return x / z; }));
  if ((y.k = batch_of(a, b, "div"))) {
    Tensor num = broadcast_tangent(a, out, y.k);
    if (b.k) add_into(num, tangent_of_product(Dual(y.v), b, out), -1);  // ȧ − (a/b) ḃ
    y.t = kern::binary(Operand{num.data(), out, y.k}, val(b, sb), out,
                       [](double x, double z) { return x / z; });
  }
  return y;
}

Dual operator-(const Dual& a) {
  Dual y(kern::map(a.v, [](double x) { return -x; }));
  if ((y.k = a.k)) y.t = kern::map(a.t, [](double x) { return -x; });
  return y;
}

Dual operator*(double c, const Dual& a) {
  Dual y(kern::map(a.v, [c](double x) { return c * x; }));
  if ((y.k = a.k)) y.t = kern::map(a.t, [c](double x) { return c * x; });
  return y;
}

Dual operator+(double c, const Dual& a) {
  Dual y(kern::map(a.v, [c](double x) { return c + x; }));
  if ((y.k = a.k)) y.t = a.t;
  return y;
}

Dual sum_to(const Dual& a, const Shape& target) {
  const Shape sa = a.shape();
  if (sa == target) return a;
  Dual y(kern::sum_to(a.v.data(), sa, 0, target));
  if ((y.k = a.k)) y.t = kern::sum_to(a.t.data(), sa, a.k, target);
  return y;
}

Dual sum_axis(const Dual& a, int axis, bool keepdims) {
  const Shape sa = a.shape();
  const int r = static_cast<int>(sa.size());
  const int ax = axis < 0 ? axis + r : axis;
  if (ax < 0 || ax >= r)
    throw Error("sum_axis: axis " + std::to_string(axis) + " out of range for shape " +
                shape_str(sa));
  Shape kept = sa;
  kept[ax] = 1;
  Dual y = sum_to(a, kept);
  if (!keepdims) {
    Shape dropped = sa;
    dropped.erase(dropped.begin() + ax);
    y.v.reshape(dropped);
    if (y.k) {
      Shape td{y.k};
      td.insert(td.end(), dropped.begin(), dropped.end());
      y.t.reshape(td);
    }
  }
  return y;
}

Dual sum_all(const Dual& a) {
  Dual y(scalar(0));
  const std::size_t n = a.v.size();
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += a.v.data()[i];
  y.v.data()[0] = s;
  if ((y.k = a.k)) {
    y.t = zeros(Shape{a.k});
    for (std::size_t j = 0; j < a.k; ++j) {
      double sj = 0;
      for (std::size_t i = 0; i < n; ++i) sj += a.t.data()[j * n + i];
      y.t.data()[j] = sj;
    }
  }
  return y;
}

namespace {
// op(A) [m, k] @ op(B) [k, n]: checks the shapes, returns m, n, k
std::array<std::size_t, 3> product_dims(const Shape& sa, const Shape& sb, bool ta, bool tb) {
  if (sa.size() != 2 || sb.size() != 2)
    throw Error("matmul: expects 2-D operands, got " + shape_str(sa) + " and " + shape_str(sb));
  const std::size_t m = ta ? sa[1] : sa[0], ka = ta ? sa[0] : sa[1];
  const std::size_t kb = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1];
  if (ka != kb)
    throw Error("matmul: inner dimensions differ: " + shape_str(sa) + (ta ? "ᵀ" : "") + " @ " +
                shape_str(sb) + (tb ? "ᵀ" : ""));
  return {m, n, ka};
}
}  // namespace

Tensor matmul_value(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const auto [m, n, k] = product_dims(shape_of(a), shape_of(b), ta, tb);
  Tensor y = Tensor::from_shape(Shape{m, n});
  blas::gemm(ta, tb, m, n, k, 1.0, a.data(), b.data(), 0.0, y.data());
  return y;
}

Dual matmul(const Dual& a, const Dual& b, bool ta, bool tb, bool want_value) {
  const auto [m, n, ka] = product_dims(a.shape(), b.shape(), ta, tb);
  Dual y;
  const Shape out{m, n};
  if (want_value) {
    y.v = Tensor::from_shape(out);
    blas::gemm(ta, tb, m, n, ka, 1.0, a.v.data(), b.v.data(), 0.0, y.v.data());
  }
  if ((y.k = batch_of(a, b, "matmul"))) {
    // every element is written below by a GEMM with beta = 0 first: no zero fill
    y.t = Tensor::from_shape(Shape{y.k, out[0], out[1]});
    const std::size_t na = a.v.size(), nb = b.v.size();
    if (a.k) {
      if (!ta)  // stacked [k·m, ka] @ op(B): one GEMM for all k directions
        blas::gemm(false, tb, a.k * m, n, ka, 1.0, a.t.data(), b.v.data(), 0.0, y.t.data());
      else
        for (std::size_t j = 0; j < a.k; ++j)
          blas::gemm(true, tb, m, n, ka, 1.0, a.t.data() + j * na, b.v.data(), 0.0,
                     y.t.data() + j * m * n);
    }
    if (b.k)
      for (std::size_t j = 0; j < b.k; ++j)
        blas::gemm(ta, tb, m, n, ka, 1.0, a.v.data(), b.t.data() + j * nb, a.k ? 1.0 : 0.0,
                   y.t.data() + j * m * n);
  }
  return y;
}

Dual broadcast_to(const Dual& a, const Shape& out) {
  const Shape sa = a.shape();
  if (sa == out) return a;
  kern::broadcast_shape(sa, out, "broadcast_to");
  static const Shape scalar_shape{};
  const double zero = 0;
  Dual y(kern::binary(val(a, sa), Operand{&zero, scalar_shape, 0}, out,
                      [](double x, double) { return x; }));
  if ((y.k = a.k)) y.t = broadcast_tangent(a, out, a.k);
  return y;
}

Dual reshaped(Dual a, const Shape& shape) {
  a.v.reshape(shape);
  if (a.k) {
    Shape ts{a.k};
    ts.insert(ts.end(), shape.begin(), shape.end());
    a.t.reshape(ts);
  }
  return a;
}

void accumulate(Dual& acc, bool& set, Dual&& d) {
  if (!set) {
    acc = std::move(d);
    set = true;
    return;
  }
  if (acc.v.size() || d.v.size()) {  // (tangent-only adjoints carry no value)
    if (acc.v.size() != d.v.size())
      throw Error("accumulate: adjoint shapes " + shape_str(acc.shape()) + " and " +
                  shape_str(d.shape()) + " differ");
    add_into(acc.v, d.v);
  }
  if (d.k) {
    if (acc.k) {
      if (acc.k != d.k) throw Error("accumulate: tangent counts differ");
      add_into(acc.t, d.t);
    } else {
      acc.t = std::move(d.t);
      acc.k = d.k;
    }
  }
}

}  // namespace inflab::ad
