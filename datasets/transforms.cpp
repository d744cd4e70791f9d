#include "datasets/transforms.hpp"

#include <cmath>

namespace inflab::data {

Standardizer Standardizer::fit(const Dataset& train) {
  const std::size_t n = train.size();
  if (n == 0) throw Error("Standardizer: cannot fit on an empty dataset '" + train.name + "'");
  const Shape ss = train.sample_shape();
  const std::size_t w = numel(ss);
  Standardizer s{zeros(ss), zeros(ss)};
  std::vector<double> m(w, 0.0), m2(w, 0.0);
  for (std::size_t i = 0; i < n; ++i)  // Welford, per feature
    for (std::size_t j = 0; j < w; ++j) {
      const double x = train.X.data()[i * w + j], dlt = x - m[j];
      m[j] += dlt / static_cast<double>(i + 1);
      m2[j] += dlt * (x - m[j]);
    }
  for (std::size_t j = 0; j < w; ++j) {
    const double sd = std::sqrt(m2[j] / static_cast<double>(n));
    s.mean.data()[j] = m[j];
    s.scale.data()[j] = sd > 1e-12 * std::max(1.0, std::fabs(m[j])) ? sd : 1.0;
  }
  return s;
}

void Standardizer::apply(Dataset& d) const {
  if (d.sample_shape() != shape_of(mean))
    throw Error("Standardizer: fitted on samples of shape " + shape_str(shape_of(mean)) + ", '" +
                d.name + "' has " + shape_str(d.sample_shape()));
  const std::size_t w = mean.size(), n = d.size();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < w; ++j) {
      double& x = d.X.data()[i * w + j];
      x = (x - mean.data()[j]) / scale.data()[j];
    }
}

void scale_pixels(Dataset& d, double max_value) {
  if (!(max_value > 0) || !std::isfinite(max_value))
    throw Error("scale_pixels: max_value must be positive, got " + std::to_string(max_value));
  for (auto& x : d.X) x /= max_value;
}

void flatten(Dataset& d) {
  const std::size_t n = d.size();
  d.X.reshape({n, numel(d.sample_shape())});
}

void to_images(Dataset& d, const Shape& chw) {
  if (chw.size() != 3 || numel(chw) != numel(d.sample_shape()))
    throw Error("to_images: samples of shape " + shape_str(d.sample_shape()) + " cannot become " +
                shape_str(chw));
  d.X.reshape({d.size(), chw[0], chw[1], chw[2]});
  d.feature_names.clear();
}

}  // namespace inflab::data
