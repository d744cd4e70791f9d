// Seeded synthetic datasets: the same seed gives the same data on every machine
// (std::mt19937_64 plus our own Box–Muller, not the library's distributions).
#pragma once
#include <cstdint>

#include "datasets/dataset.hpp"

namespace inflab::data {

// `classes` isotropic Gaussian blobs in R^dim, centres on a circle/sphere of radius
// `separation`, standard deviation `spread`; n_per_class points each.
Dataset blobs(std::size_t n_per_class, std::size_t classes, std::size_t dim, double separation,
              double spread, std::uint64_t seed);
// Two interleaving half circles (classes 0, 1) with Gaussian noise.
Dataset two_moons(std::size_t n, double noise, std::uint64_t seed);
// Points uniform in [-1, 1]²; class = sign(x₀) xor sign(x₁); Gaussian noise on inputs.
Dataset xor_data(std::size_t n, double noise, std::uint64_t seed);
// y = X w + b + noise; w ~ N(0, I), b = 0.5; `true_w` receives [w, b] if given.
Dataset linear_regression(std::size_t n, std::size_t dim, double noise, std::uint64_t seed,
                          Tensor* true_w = nullptr);
// 1×size×size images of one bar on a noisy background; classes: horizontal, vertical,
// diagonal, anti-diagonal (position random). Pixels in about [0, 1].
Dataset bar_images(std::size_t n_per_class, std::size_t size, double noise, std::uint64_t seed);

}  // namespace inflab::data
