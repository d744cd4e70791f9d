// conv2d (NCHW, stride, zero padding) by im2col + GEMM. Convolution is bilinear in (x, w),
// so every rule is one of three bilinear maps applied to Duals:
//   y  = conv(x, w):       y_n  = W · cols(x_n)
//   x̄ += conv_dx(g, w):    x̄_n  = col2im(Wᵀ g_n)
//   w̄ += conv_dw(x, g):    w̄    = Σ_n g_n · cols(x_n)ᵀ
#include "autodiff/blas.hpp"
#include "autodiff/ops/im2col.hpp"
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

namespace {
struct Geom {
  std::size_t N, C, H, W, O, kh, kw, s, p, Ho, Wo;
  std::size_t ckk() const { return C * kh * kw; }
  std::size_t L() const { return Ho * Wo; }
};

void im2col(const double* x, const Geom& g, double* cols) {
  for (std::size_t c = 0; c < g.C; ++c)
    for (std::size_t i = 0; i < g.kh; ++i)
      for (std::size_t j = 0; j < g.kw; ++j) {
        double* row = cols + ((c * g.kh + i) * g.kw + j) * g.L();
        for (std::size_t oh = 0; oh < g.Ho; ++oh) {
          const long h = static_cast<long>(oh * g.s + i) - static_cast<long>(g.p);
          for (std::size_t ow = 0; ow < g.Wo; ++ow) {
            const long w = static_cast<long>(ow * g.s + j) - static_cast<long>(g.p);
            row[oh * g.Wo + ow] = (h < 0 || w < 0 || h >= static_cast<long>(g.H) ||
                                   w >= static_cast<long>(g.W))
                                      ? 0.0
                                      : x[(c * g.H + h) * g.W + w];
          }
        }
      }
}

void col2im_add(const double* cols, const Geom& g, double* x) {
  for (std::size_t c = 0; c < g.C; ++c)
    for (std::size_t i = 0; i < g.kh; ++i)
      for (std::size_t j = 0; j < g.kw; ++j) {
        const double* row = cols + ((c * g.kh + i) * g.kw + j) * g.L();
        for (std::size_t oh = 0; oh < g.Ho; ++oh) {
          const long h = static_cast<long>(oh * g.s + i) - static_cast<long>(g.p);
          if (h < 0 || h >= static_cast<long>(g.H)) continue;
          for (std::size_t ow = 0; ow < g.Wo; ++ow) {
            const long w = static_cast<long>(ow * g.s + j) - static_cast<long>(g.p);
            if (w < 0 || w >= static_cast<long>(g.W)) continue;
            x[(c * g.H + h) * g.W + w] += row[oh * g.Wo + ow];
          }
        }
      }
}

void conv_fwd(const double* x, const double* w, double* y, const Geom& g) {
  std::vector<double> cols(g.ckk() * g.L());
  for (std::size_t n = 0; n < g.N; ++n) {
    im2col(x + n * g.C * g.H * g.W, g, cols.data());
    blas::gemm(false, false, g.O, g.L(), g.ckk(), 1.0, w, cols.data(), 0.0, y + n * g.O * g.L());
  }
}

void conv_dx(const double* gy, const double* w, double* dx, const Geom& g) {
  std::vector<double> cols(g.ckk() * g.L());
  std::fill(dx, dx + g.N * g.C * g.H * g.W, 0.0);
  for (std::size_t n = 0; n < g.N; ++n) {
    blas::gemm(true, false, g.ckk(), g.L(), g.O, 1.0, w, gy + n * g.O * g.L(), 0.0, cols.data());
    col2im_add(cols.data(), g, dx + n * g.C * g.H * g.W);
  }
}

void conv_dw(const double* x, const double* gy, double* dw, const Geom& g) {
  std::vector<double> cols(g.ckk() * g.L());
  std::fill(dw, dw + g.O * g.ckk(), 0.0);
  for (std::size_t n = 0; n < g.N; ++n) {
    im2col(x + n * g.C * g.H * g.W, g, cols.data());
    blas::gemm(false, true, g.O, g.ckk(), g.L(), 1.0, gy + n * g.O * g.L(), cols.data(), 1.0, dw);
  }
}
}  // namespace

void detail::im2col(const double* x, std::size_t C, std::size_t H, std::size_t W, std::size_t kh, std::size_t kw,
                    std::size_t stride, std::size_t pad, double* cols) {
  Geom g{1, C, H, W, 0, kh, kw, stride, pad, (H + 2 * pad - kh) / stride + 1, (W + 2 * pad - kw) / stride + 1};
  im2col(x, g, cols);
}

Var conv2d(Var x, Var w, Conv2dOptions opt) {
  Tape& tape = detail::tape_of("conv2d", x);
  detail::tape_of("conv2d", w);
  const Shape sx = x.shape(), sw = w.shape();
  if (sx.size() != 4 || sw.size() != 4)
    throw Error("conv2d: expects x [N, C, H, W] and w [O, C, kh, kw], got " + shape_str(sx) +
                " and " + shape_str(sw));
  if (sx[1] != sw[1])
    throw Error("conv2d: input has " + std::to_string(sx[1]) + " channels but weight " +
                shape_str(sw) + " expects " + std::to_string(sw[1]));
  if (opt.stride == 0) throw Error("conv2d: stride must be at least 1");
  Geom g{sx[0], sx[1], sx[2], sx[3], sw[0], sw[2], sw[3], opt.stride, opt.padding, 0, 0};
  if (g.H + 2 * g.p < g.kh || g.W + 2 * g.p < g.kw)
    throw Error("conv2d: kernel " + shape_str(sw) + " larger than padded input " + shape_str(sx));
  g.Ho = (g.H + 2 * g.p - g.kh) / g.s + 1;
  g.Wo = (g.W + 2 * g.p - g.kw) / g.s + 1;
  const Shape sy{g.N, g.O, g.Ho, g.Wo};
  auto fwd = [g](const double* a, const double* b, double* o) { conv_fwd(a, b, o, g); };
  auto dx = [g](const double* a, const double* b, double* o) { conv_dx(a, b, o, g); };
  auto dw = [g](const double* a, const double* b, double* o) { conv_dw(a, b, o, g); };
  Tensor v = zeros(sy);
  conv_fwd(x.value().data(), w.value().data(), v.data(), g);
  return tape.record("conv2d", {x, w}, std::move(v),
      [sy, fwd](const Ctx& c) { return bilinear(c.x(0), c.x(1), sy, fwd, false).t; },
      [sx, sw, dx, dw](Ctx& c) {
        if (c.active(0)) c.acc(0, bilinear(c.g(), c.x(1), sx, dx));
        if (c.active(1)) c.acc(1, bilinear(c.x(0), c.g(), sw, dw));
      });
}

// Bias [O] is added as a broadcast over [N, O, H, W].
Var conv2d(Var x, Var w, Var bias, Conv2dOptions opt) {
  Var y = conv2d(x, w, opt);
  if (!bias.tape) return y;
  const Shape sb = bias.shape(), sw = w.shape();
  if (sb.size() != 1 || sb[0] != sw[0])
    throw Error("conv2d: bias " + shape_str(sb) + " does not match " + std::to_string(sw[0]) +
                " output channels");
  return add(y, reshape(bias, Shape{1, sb[0], 1, 1}));
}

}  // namespace inflab::ad
