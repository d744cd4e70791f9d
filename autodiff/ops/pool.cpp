// 2-D pooling over NCHW windows. Both are piecewise linear in x: the tangent and the dual
// adjoint go through the same fixed linear map (max-pool: the argmax chosen at record time).
#include <memory>

#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

namespace {
struct PoolGeom {
  std::size_t NC, H, W, k, s, Ho, Wo;
};
PoolGeom pool_geom(const char* op, const Shape& sx, std::size_t k, std::size_t stride) {
  if (sx.size() != 4) throw Error(std::string(op) + ": expects [N, C, H, W], got " + shape_str(sx));
  if (k == 0) throw Error(std::string(op) + ": window size must be at least 1");
  const std::size_t s = stride ? stride : k;
  if (sx[2] < k || sx[3] < k)
    throw Error(std::string(op) + ": window " + std::to_string(k) + " larger than input " +
                shape_str(sx));
  return {sx[0] * sx[1], sx[2], sx[3], k, s, (sx[2] - k) / s + 1, (sx[3] - k) / s + 1};
}
}  // namespace

Var max_pool2d(Var x, std::size_t k, std::size_t stride) {
  Tape& tape = detail::tape_of("max_pool2d", x);
  const Shape sx = x.shape();
  const PoolGeom g = pool_geom("max_pool2d", sx, k, stride);
  const Shape sy{sx[0], sx[1], g.Ho, g.Wo};
  auto arg = std::make_shared<std::vector<std::size_t>>(numel(sy));
  Tensor v = zeros(sy);
  const double* xd = x.value().data();
  std::size_t o = 0;
  for (std::size_t q = 0; q < g.NC; ++q)
    for (std::size_t oh = 0; oh < g.Ho; ++oh)
      for (std::size_t ow = 0; ow < g.Wo; ++ow, ++o) {
        std::size_t best = q * g.H * g.W + oh * g.s * g.W + ow * g.s;
        for (std::size_t i = 0; i < g.k; ++i)
          for (std::size_t j = 0; j < g.k; ++j) {
            const std::size_t idx = q * g.H * g.W + (oh * g.s + i) * g.W + ow * g.s + j;
            if (xd[idx] > xd[best]) best = idx;
          }
        (*arg)[o] = best;
        v.data()[o] = xd[best];
      }
  auto fwd = [arg](const double* in, double* out) {
    for (std::size_t i = 0; i < arg->size(); ++i) out[i] = in[(*arg)[i]];
  };
  auto bwd = [arg](const double* out, double* in) {
    for (std::size_t i = 0; i < arg->size(); ++i) in[(*arg)[i]] += out[i];
  };
  return tape.record("max_pool2d", {x}, std::move(v),
      [sy, fwd](const Ctx& c) { return apply_linear(c.x(0), sy, fwd).t; },
      [sx, bwd](Ctx& c) { c.acc(0, apply_linear(c.g(), sx, bwd)); });
}

Var avg_pool2d(Var x, std::size_t k, std::size_t stride) {
  Tape& tape = detail::tape_of("avg_pool2d", x);
  const Shape sx = x.shape();
  const PoolGeom g = pool_geom("avg_pool2d", sx, k, stride);
  const Shape sy{sx[0], sx[1], g.Ho, g.Wo};
  const double w = 1.0 / static_cast<double>(g.k * g.k);
  auto fwd = [g, w](const double* in, double* out) {
    std::size_t o = 0;
    for (std::size_t q = 0; q < g.NC; ++q)
      for (std::size_t oh = 0; oh < g.Ho; ++oh)
        for (std::size_t ow = 0; ow < g.Wo; ++ow, ++o) {
          double s = 0;
          for (std::size_t i = 0; i < g.k; ++i)
            for (std::size_t j = 0; j < g.k; ++j)
              s += in[q * g.H * g.W + (oh * g.s + i) * g.W + ow * g.s + j];
          out[o] = w * s;
        }
  };
  auto bwd = [g, w](const double* out, double* in) {
    std::size_t o = 0;
    for (std::size_t q = 0; q < g.NC; ++q)
      for (std::size_t oh = 0; oh < g.Ho; ++oh)
        for (std::size_t ow = 0; ow < g.Wo; ++ow, ++o)
          for (std::size_t i = 0; i < g.k; ++i)
            for (std::size_t j = 0; j < g.k; ++j)
              in[q * g.H * g.W + (oh * g.s + i) * g.W + ow * g.s + j] += w * out[o];
  };
  Tensor v = zeros(sy);
  fwd(x.value().data(), v.data());
  return tape.record("avg_pool2d", {x}, std::move(v),
      [sy, fwd](const Ctx& c) { return apply_linear(c.x(0), sy, fwd).t; },
      [sx, bwd](Ctx& c) { c.acc(0, apply_linear(c.g(), sx, bwd)); });
}

}  // namespace inflab::ad
