// Transforms that keep train and test consistent: statistics are fit on train only.
#pragma once
#include "datasets/dataset.hpp"

namespace inflab::data {

// Per-feature standardisation x ↦ (x − mean) / std over the rows of X (each element of
// the sample shape is a feature). Constant features get std 1 (no division by zero).
struct Standardizer {
  Tensor mean, scale;  // sample-shaped
  static Standardizer fit(const Dataset& train);
  void apply(Dataset& d) const;  // throws if d's sample shape differs from the fit's
};

void scale_pixels(Dataset& d, double max_value = 255.0);  // x ↦ x / max_value
void flatten(Dataset& d);                                 // [n, ...] -> [n, prod(...)]
void to_images(Dataset& d, const Shape& chw);             // [n, d] -> [n, C, H, W]

}  // namespace inflab::data
