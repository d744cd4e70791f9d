#include "cli/image.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace inflab::cli {

Image picture(const Tensor& X, std::size_t row, double lo, double hi, std::size_t scale) {
  if (X.dimension() != 4 || (X.shape(1) != 1 && X.shape(1) != 3) || row >= X.shape(0))
    throw Error("picture: row " + std::to_string(row) + " of " + shape_str(Shape(X.shape().begin(), X.shape().end())) + " is not a grey or RGB image");
  const std::size_t C = X.shape(1), h = X.shape(2), w = X.shape(3), s = std::max<std::size_t>(scale, 1);
  Image img{w * s, h * s, std::vector<unsigned char>(w * s * h * s * 3)};
  const double* x = X.data() + row * C * h * w;
  const double span = hi > lo ? hi - lo : 1;
  for (std::size_t y = 0; y < h * s; ++y)
    for (std::size_t xx = 0; xx < w * s; ++xx)
      for (std::size_t k = 0; k < 3; ++k) {
        const double v = x[(C == 1 ? 0 : k) * h * w + (y / s) * w + xx / s];
        img.rgb[(y * w * s + xx) * 3 + k] = static_cast<unsigned char>(std::lround(std::clamp((v - lo) / span, 0.0, 1.0) * 255));
      }
  return img;
}

std::size_t upscale_factor(std::size_t side, std::size_t target) {
  return std::max<std::size_t>(1, (target + side / 2) / std::max<std::size_t>(side, 1));
}

namespace {
void put32(std::string& s, std::uint32_t v) {
  for (int sh = 24; sh >= 0; sh -= 8) s += static_cast<char>((v >> sh) & 0xff);
}
void chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}
}  // namespace

std::string encode_png(const Image& img) {
  std::string raw;  // each scanline: filter byte 0 (none), then RGB
  raw.reserve((img.width * 3 + 1) * img.height);
  for (std::size_t y = 0; y < img.height; ++y)
    raw += '\0', raw.append(reinterpret_cast<const char*>(img.rgb.data() + y * img.width * 3), img.width * 3);
  uLongf len = compressBound(static_cast<uLong>(raw.size()));
  std::string z(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw Error("encode_png: zlib failed");
  z.resize(len);
  std::string ihdr;
  put32(ihdr, static_cast<std::uint32_t>(img.width)), put32(ihdr, static_cast<std::uint32_t>(img.height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filter 0, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  chunk(png, "IHDR", ihdr), chunk(png, "IDAT", z), chunk(png, "IEND", "");
  return png;
}

std::string base64(const std::string& b) {
  static const char* A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  for (std::size_t i = 0; i < b.size(); i += 3) {
    const std::uint32_t n = static_cast<unsigned char>(b[i]) << 16 | (i + 1 < b.size() ? static_cast<unsigned char>(b[i + 1]) << 8 : 0) |
                            (i + 2 < b.size() ? static_cast<unsigned char>(b[i + 2]) : 0);
    o += A[n >> 18 & 63], o += A[n >> 12 & 63];
    o += i + 1 < b.size() ? A[n >> 6 & 63] : '=';
    o += i + 2 < b.size() ? A[n & 63] : '=';
  }
  return o;
}

std::string png_data_uri(const Image& img) { return "data:image/png;base64," + base64(encode_png(img)); }

}  // namespace inflab::cli
