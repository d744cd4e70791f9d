// Softmax family over the last axis, viewed as rows [n, C]. p = softmax(z).
#include <cmath>
#include <memory>

#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {
using detail::tape_of;

namespace {
struct Rows {
  std::size_t n, C;
};
Rows rows_of(const char* op, const Shape& s) {
  if (s.empty() || s.back() == 0)
    throw Error(std::string(op) + ": needs a non-empty last axis, got shape " + shape_str(s));
  return {numel(s) / s.back(), s.back()};
}
// log_softmax rows with a stable log-sum-exp; also returns lse per row.
Tensor log_softmax_rows(const Tensor& z, Rows r, std::vector<double>* lse_out = nullptr) {
  Tensor y = Tensor::from_shape(z.shape());
  for (std::size_t i = 0; i < r.n; ++i) {
    const double* zi = z.data() + i * r.C;
    double m = zi[0];
    for (std::size_t c = 1; c < r.C; ++c) m = std::max(m, zi[c]);
    double s = 0;
    for (std::size_t c = 0; c < r.C; ++c) s += std::exp(zi[c] - m);
    const double lse = m + std::log(s);
    for (std::size_t c = 0; c < r.C; ++c) y.data()[i * r.C + c] = zi[c] - lse;
    if (lse_out) lse_out->push_back(lse);
  }
  return y;
}
// Tangents of p: ṗ = p ⊙ (ż − Σ_c p ż) per direction and row; of log p without the p ⊙.
Tensor softmax_tangent(const Tensor& p, const Dual& z, Rows r, bool times_p = true) {
  Tensor t = Tensor::from_shape(z.t.shape());
  const std::size_t nz = p.size();
  for (std::size_t j = 0; j < z.k; ++j)
    for (std::size_t i = 0; i < r.n; ++i) {
      const double* pi = p.data() + i * r.C;
      const double* zi = z.t.data() + j * nz + i * r.C;
      double s = 0;
      for (std::size_t c = 0; c < r.C; ++c) s += pi[c] * zi[c];
      double* ti = t.data() + j * nz + i * r.C;
      for (std::size_t c = 0; c < r.C; ++c) ti[c] = times_p ? pi[c] * (zi[c] - s) : zi[c] - s;
    }
  return t;
}
}  // namespace

// y = z − lse(z);  ẏ = ż − Σ p ż;  z̄ += g − p Σ g   (p = eʸ as a Dual: ṗ = p ẏ)
Var log_softmax(Var z) {
  Tape& tape = tape_of("log_softmax", z);
  const Shape s = z.shape();
  const Rows r = rows_of("log_softmax", s);
  Tensor v = log_softmax_rows(z.value(), r);
  return tape.record("log_softmax", {z}, std::move(v),
      [r](const Ctx& c) {
        const Tensor p = kern::map(c.y().v, [](double x) { return std::exp(x); });
        return softmax_tangent(p, c.x(0), r, false);
      },
      [](Ctx& c) {
        auto e = [](double x) { return std::exp(x); };
        const Dual p = dmap(c.y(), e, e);
        c.acc(0, c.g() - p * ad::sum_axis(c.g(), -1, true));
      });
}

// y = p;  ẏ = p ⊙ (ż − Σ p ż);  z̄ += y ⊙ (g − Σ g y)
Var softmax(Var z) {
  Tape& tape = tape_of("softmax", z);
  const Shape s = z.shape();
  const Rows r = rows_of("softmax", s);
  Tensor v = kern::map(log_softmax_rows(z.value(), r), [](double x) { return std::exp(x); });
  return tape.record("softmax", {z}, std::move(v),
      [r](const Ctx& c) { return softmax_tangent(c.y().v, c.x(0), r); },
      [](Ctx& c) { c.acc(0, c.y() * (c.g() - ad::sum_axis(c.g() * c.y(), -1, true))); });
}

// ℓᵢ = lse(zᵢ) − z_{i,yᵢ};  ℓ̇ᵢ = Σ_c p ż − ż_{yᵢ};  z̄ += gᵢ (pᵢ − e_{yᵢ}), p as a Dual.
Var cross_entropy(Var logits, const std::vector<std::size_t>& labels) {
  Tape& tape = tape_of("cross_entropy", logits);
  const Shape s = logits.shape();
  if (s.size() != 2)
    throw Error("cross_entropy: logits must be [n, classes], got " + shape_str(s));
  const Rows r{s[0], s[1]};
  if (labels.size() != r.n)
    throw Error("cross_entropy: " + std::to_string(labels.size()) + " labels for logits of shape " +
                shape_str(s));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= r.C)
      throw Error("cross_entropy: label " + std::to_string(labels[i]) + " at row " +
                  std::to_string(i) + " out of range for " + std::to_string(r.C) + " classes");
  auto p = std::make_shared<Tensor>(
      kern::map(log_softmax_rows(logits.value(), r), [](double x) { return std::exp(x); }));
  // one-hot minus p is what both rules need; keep p once, shared by the closures
  Tensor v = zeros(Shape{r.n});
  {
    const Tensor ls = log_softmax_rows(logits.value(), r);
    for (std::size_t i = 0; i < r.n; ++i) v.data()[i] = -ls.data()[i * r.C + labels[i]];
  }
  return tape.record("cross_entropy", {logits}, std::move(v),
      [p, labels, r](const Ctx& c) {
        const Dual& z = c.x(0);
        Tensor t = zeros(Shape{z.k, r.n});
        for (std::size_t j = 0; j < z.k; ++j)
          for (std::size_t i = 0; i < r.n; ++i) {
            const double* zi = z.t.data() + j * r.n * r.C + i * r.C;
            const double* pi = p->data() + i * r.C;
            double acc = -zi[labels[i]];
            for (std::size_t cc = 0; cc < r.C; ++cc) acc += pi[cc] * zi[cc];
            t.data()[j * r.n + i] = acc;
          }
        return t;
      },
      [p, labels, r](Ctx& c) {
        const Dual& z = c.x(0);
        Dual pd(*p);
        if (z.k) pd.t = softmax_tangent(*p, z, r), pd.k = z.k;
        for (std::size_t i = 0; i < r.n; ++i) pd.v.data()[i * r.C + labels[i]] -= 1.0;
        c.acc(0, reshaped(c.g(), Shape{r.n, 1}) * pd);
      });
}

}  // namespace inflab::ad
