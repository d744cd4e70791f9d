// Pictures of data rows: 8-bit RGB images, nearest-neighbour upscaling, PNG encoding and
// data: URIs (for SVG galleries that carry their pictures inside).
//
// PNG through zlib, not libpng: zlib1g-dev is already a dependency (the .gz loaders); a PNG
// of an image we made ourselves is the signature, IHDR, one IDAT holding the zlib stream of
// the scanlines (filter 0) and IEND, each chunk with zlib's crc32 — about 40 lines. libpng
// would add a package and its setjmp error handling for no feature we use (we never read
// PNGs, and write only 8-bit RGB).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace inflab::cli {

struct Image {
  std::size_t width = 0, height = 0;
  std::vector<unsigned char> rgb;  // row-major, 3 bytes a pixel
};

// Row `row` of X [n, C, H, W] (C = 1 grey or 3 RGB) as a picture: values mapped linearly
// from [lo, hi] to 0..255 (clamped), each pixel a scale × scale block (nearest neighbour,
// so edges stay crisp when the page shows it at its own size).
Image picture(const Tensor& X, std::size_t row, double lo, double hi, std::size_t scale);
// The whole-number factor that brings a side of `side` pixels to about `target` (≥ 1).
std::size_t upscale_factor(std::size_t side, std::size_t target = 84);

std::string encode_png(const Image& img);  // the bytes of a PNG file
std::string base64(const std::string& bytes);
std::string png_data_uri(const Image& img);  // "data:image/png;base64,…"

}  // namespace inflab::cli
