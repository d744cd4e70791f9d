// conv2d (NCHW, stride, zero padding) by im2col + GEMM. Convolution is bilinear in (x, w),
// so every rule is one of three bilinear maps applied to Duals:
//   y  = conv(x, w):       y_n  = W · cols(x_n)
//   x̄ += conv_dx(g, w):    x̄_n  = col2im(Wᵀ g_n)
//   w̄ += conv_dw(x, g):    w̄    = Σ_n g_n · cols(x_n)ᵀ
#include <algorithm>
#include <memory>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/ops/im2col.hpp"
#include "autodiff/ops/op_util.hpp"

namespace inflab::ad {

namespace {
struct Geom {
  std::size_t N, C, H, W, O, kh, kw, s, p, Ho, Wo;
  std::size_t ckk() const { return C * kh * kw; }
  std::size_t L() const { return Ho * Wo; }
  std::size_t image() const { return C * H * W; }
};

// Output columns [lo, hi) of one kernel offset j whose input column ow·s + j − p is inside
// the image: the rest read padding.
void valid_range(const Geom& g, std::size_t j, std::size_t& lo, std::size_t& hi) {
  const long p = static_cast<long>(g.p), jj = static_cast<long>(j), s = static_cast<long>(g.s);
  long a = p - jj > 0 ? (p - jj + s - 1) / s : 0;                              // first ow with ow·s + j ≥ p
  long b = (static_cast<long>(g.W) + p - jj + s - 1) / s;                       // first ow with ow·s + j − p ≥ W
  a = std::min<long>(a, static_cast<long>(g.Wo));
  b = std::clamp<long>(b, a, static_cast<long>(g.Wo));
  lo = static_cast<std::size_t>(a), hi = static_cast<std::size_t>(b);
}

// One image x [C, H, W] → cols rows r = (c, i, j), each L = Ho·Wo long, `ld` apart (so a
// batch of images can sit side by side: image n at column offset n·L, ld = N·L).
#if defined(__GNUC__) && !defined(__clang__)
#define INFLAB_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define INFLAB_NO_MEMCPY_CALLS
#endif
INFLAB_NO_MEMCPY_CALLS void im2col(const double* x, const Geom& g, double* cols, std::size_t ld) {
  for (std::size_t c = 0; c < g.C; ++c)
    for (std::size_t i = 0; i < g.kh; ++i)
      for (std::size_t j = 0; j < g.kw; ++j) {
        double* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        std::size_t lo, hi;
        valid_range(g, j, lo, hi);
        for (std::size_t oh = 0; oh < g.Ho; ++oh) {
          double* out = row + oh * g.Wo;
          const long h = static_cast<long>(oh * g.s + i) - static_cast<long>(g.p);
          if (h < 0 || h >= static_cast<long>(g.H)) {
            std::fill(out, out + g.Wo, 0.0);
            continue;
          }
          std::fill(out, out + lo, 0.0);
          std::fill(out + hi, out + g.Wo, 0.0);
          if (hi == lo) continue;
          const double* in = x + (c * g.H + static_cast<std::size_t>(h)) * g.W + (lo * g.s + j - g.p);
          if (g.s == 1)  // rows are short (tens of doubles): a loop, not a memmove call
            for (std::size_t t = 0; t < hi - lo; ++t) out[lo + t] = in[t];
          else
            for (std::size_t ow = lo; ow < hi; ++ow) out[ow] = in[(ow - lo) * g.s];
        }
      }
}

void col2im_add(const double* cols, const Geom& g, double* x, std::size_t ld) {
  for (std::size_t c = 0; c < g.C; ++c)
    for (std::size_t i = 0; i < g.kh; ++i)
      for (std::size_t j = 0; j < g.kw; ++j) {
        const double* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
        std::size_t lo, hi;
        valid_range(g, j, lo, hi);
        for (std::size_t oh = 0; oh < g.Ho; ++oh) {
          const long h = static_cast<long>(oh * g.s + i) - static_cast<long>(g.p);
          if (h < 0 || h >= static_cast<long>(g.H) || hi == lo) continue;
          const double* in = row + oh * g.Wo;
          double* out = x + (c * g.H + static_cast<std::size_t>(h)) * g.W + (lo * g.s + j - g.p);
          if (g.s == 1)
            for (std::size_t t = 0; t < hi - lo; ++t) out[t] += in[lo + t];
          else
            for (std::size_t ow = lo; ow < hi; ++ow) out[(ow - lo) * g.s] += in[ow];
        }
      }
}

// Scratch that every use overwrites completely: not zero-filled (a std::vector's fill of
// these megabytes measured 12% of the CNN's HVP).
struct Buffer {
  explicit Buffer(std::size_t n) : p(new double[n]) {}
  double* data() { return p.get(); }
  std::unique_ptr<double[]> p;
};

// Images are processed in chunks whose patches fill at most kChunkBytes, each chunk by one GEMM:
// the patches of its B images side by side, cols [C·kh·kw, B·L]; a GEMM per image was too
// small for BLAS to run near its peak (docs/performance.md).
constexpr std::size_t kChunkBytes = 4u << 20;  // 2–4 MB measured best (fits the cache beside BLAS's packing)
std::size_t chunk_images(const Geom& g) {
  if (g.N == 0) return 1;
  const std::size_t per = g.ckk() * g.L() * sizeof(double);
  return std::clamp<std::size_t>(kChunkBytes / std::max<std::size_t>(per, 1), 1, g.N);
}

// y_n = W · cols(x_n): [O, B·L] for a chunk, then each image's [O, L] block to its place.
void conv_fwd(const double* x, const double* w, double* y, const Geom& g) {
  const std::size_t B = chunk_images(g), L = g.L();
  Buffer cols(g.ckk() * B * L), out(g.O * B * L);
  for (std::size_t n0 = 0; n0 < g.N; n0 += B) {
    const std::size_t b = std::min(B, g.N - n0), ld = b * L;
    for (std::size_t n = 0; n < b; ++n) im2col(x + (n0 + n) * g.image(), g, cols.data() + n * L, ld);
    blas::gemm(false, false, g.O, ld, g.ckk(), 1.0, w, cols.data(), 0.0, out.data());
    for (std::size_t n = 0; n < b; ++n)
      for (std::size_t o = 0; o < g.O; ++o)
        std::copy_n(out.data() + o * ld + n * L, L, y + ((n0 + n) * g.O + o) * L);
  }
}

// gy of a chunk as [O, B·L] (image n's [O, L] block at column n·L).
void gather_chunk(const double* gy, const Geom& g, std::size_t n0, std::size_t b, double* out) {
  const std::size_t L = g.L(), ld = b * L;
  for (std::size_t n = 0; n < b; ++n)
    for (std::size_t o = 0; o < g.O; ++o) std::copy_n(gy + ((n0 + n) * g.O + o) * L, L, out + o * ld + n * L);
}

// x̄_n = col2im(Wᵀ g_n)
void conv_dx(const double* gy, const double* w, double* dx, const Geom& g) {
  const std::size_t B = chunk_images(g), L = g.L();
  Buffer cols(g.ckk() * B * L), gc(g.O * B * L);
  std::fill(dx, dx + g.N * g.image(), 0.0);
  for (std::size_t n0 = 0; n0 < g.N; n0 += B) {
    const std::size_t b = std::min(B, g.N - n0), ld = b * L;
    gather_chunk(gy, g, n0, b, gc.data());
    blas::gemm(true, false, g.ckk(), ld, g.O, 1.0, w, gc.data(), 0.0, cols.data());
    for (std::size_t n = 0; n < b; ++n) col2im_add(cols.data() + n * L, g, dx + (n0 + n) * g.image(), ld);
  }
}

// w̄ = Σ_n g_n · cols(x_n)ᵀ
void conv_dw(const double* x, const double* gy, double* dw, const Geom& g) {
  const std::size_t B = chunk_images(g), L = g.L();
  Buffer cols(g.ckk() * B * L), gc(g.O * B * L);
  for (std::size_t n0 = 0; n0 < g.N; n0 += B) {
    const std::size_t b = std::min(B, g.N - n0), ld = b * L;
    for (std::size_t n = 0; n < b; ++n) im2col(x + (n0 + n) * g.image(), g, cols.data() + n * L, ld);
    gather_chunk(gy, g, n0, b, gc.data());
    blas::gemm(false, true, g.O, g.ckk(), ld, 1.0, gc.data(), cols.data(), n0 == 0 ? 0.0 : 1.0, dw);
  }
  if (g.N == 0) std::fill(dw, dw + g.O * g.ckk(), 0.0);
}
}  // namespace

void detail::im2col(const double* x, std::size_t C, std::size_t H, std::size_t W, std::size_t kh, std::size_t kw,
                    std::size_t stride, std::size_t pad, double* cols) {
  Geom g{1, C, H, W, 0, kh, kw, stride, pad, (H + 2 * pad - kh) / stride + 1, (W + 2 * pad - kw) / stride + 1};
  im2col(x, g, cols, g.L());
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
