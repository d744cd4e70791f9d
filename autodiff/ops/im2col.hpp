// The conv2d op's im2col, for callers that need a convolution's patches (K-FAC's factors).
#pragma once
#include <cstddef>

namespace inflab::ad::detail {

// One image x [C, H, W] → cols [C·kh·kw, Ho·Wo] (zero padding `pad`, stride `stride`).
void im2col(const double* x, std::size_t C, std::size_t H, std::size_t W, std::size_t kh, std::size_t kw, std::size_t stride,
            std::size_t pad, double* cols);

}  // namespace inflab::ad::detail
