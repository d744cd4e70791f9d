#include "datasets/synthetic.hpp"

#include <cmath>
#include <random>

#include "util/random.hpp"

namespace inflab::data {

namespace {
struct Rng {
  std::mt19937_64 g;
  explicit Rng(std::uint64_t seed) : g(seed) {}
  double uniform() { return util::uniform(g); }
  double normal() { return util::normal(g); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(uniform() * static_cast<double>(n)); }
};
std::vector<std::string> numbered(std::size_t k) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < k; ++i) v.push_back(std::to_string(i));
  return v;
}
void need(bool ok, const std::string& msg) {
  if (!ok) throw Error(msg);
}
}  // namespace

Dataset blobs(std::size_t n_per_class, std::size_t classes, std::size_t dim, double separation,
              double spread, std::uint64_t seed) {
  need(n_per_class > 0 && classes >= 2 && dim >= 1, "blobs: need n_per_class ≥ 1, classes ≥ 2, dim ≥ 1");
  need(spread > 0 && std::isfinite(spread) && std::isfinite(separation), "blobs: spread must be positive and finite");
  Rng r(seed);
  // centres: spread evenly on a circle in the first two coordinates (a line when dim = 1)
  std::vector<std::vector<double>> c(classes, std::vector<double>(dim, 0.0));
  for (std::size_t k = 0; k < classes; ++k) {
    const double a = 2 * M_PI * static_cast<double>(k) / static_cast<double>(classes);
    if (dim == 1) c[k][0] = separation * (static_cast<double>(k) - 0.5 * static_cast<double>(classes - 1));
    else { c[k][0] = separation * std::cos(a); c[k][1] = separation * std::sin(a); }
  }
  Dataset d;
  d.name = "blobs";
  d.class_names = numbered(classes);
  const std::size_t n = n_per_class * classes;
  d.X = Tensor::from_shape({n, dim});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % classes;
    d.y.push_back(k);
    for (std::size_t j = 0; j < dim; ++j) d.X(i, j) = c[k][j] + spread * r.normal();
  }
  return d;
}

Dataset two_moons(std::size_t n, double noise, std::uint64_t seed) {
  need(n >= 2, "two_moons: need n ≥ 2");
  need(noise >= 0 && std::isfinite(noise), "two_moons: noise must be ≥ 0");
  Rng r(seed);
  Dataset d;
  d.name = "two_moons";
  d.class_names = numbered(2);
  d.X = Tensor::from_shape({n, std::size_t{2}});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % 2;
    const double t = M_PI * r.uniform();
    const double x = k == 0 ? std::cos(t) : 1 - std::cos(t);
    const double y = k == 0 ? std::sin(t) : 0.5 - std::sin(t);
    d.X(i, 0) = x + noise * r.normal();
    d.X(i, 1) = y + noise * r.normal();
    d.y.push_back(k);
  }
  return d;
}

Dataset xor_data(std::size_t n, double noise, std::uint64_t seed) {
  need(n >= 1, "xor_data: need n ≥ 1");
  need(noise >= 0 && std::isfinite(noise), "xor_data: noise must be ≥ 0");
  Rng r(seed);
  Dataset d;
  d.name = "xor";
  d.class_names = numbered(2);
  d.X = Tensor::from_shape({n, std::size_t{2}});
  for (std::size_t i = 0; i < n; ++i) {
    const double a = 2 * r.uniform() - 1, b = 2 * r.uniform() - 1;
    d.y.push_back((a > 0) != (b > 0) ? 1 : 0);
    d.X(i, 0) = a + noise * r.normal();
    d.X(i, 1) = b + noise * r.normal();
  }
  return d;
}

Dataset linear_regression(std::size_t n, std::size_t dim, double noise, std::uint64_t seed, Tensor* true_w) {
  need(n >= 1 && dim >= 1, "linear_regression: need n ≥ 1 and dim ≥ 1");
  need(noise >= 0 && std::isfinite(noise), "linear_regression: noise must be ≥ 0");
  Rng r(seed);
  std::vector<double> w(dim);
  for (auto& e : w) e = r.normal();
  const double b = 0.5;
  Dataset d;
  d.name = "linear_regression";
  d.X = Tensor::from_shape({n, dim});
  d.targets = Tensor::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) {
    double t = b;
    for (std::size_t j = 0; j < dim; ++j) t += w[j] * (d.X(i, j) = r.normal());
    d.targets(i) = t + noise * r.normal();
  }
  if (true_w) {
    *true_w = Tensor::from_shape({dim + 1});
    std::copy(w.begin(), w.end(), true_w->data());
    (*true_w)(dim) = b;
  }
  return d;
}

Dataset bar_images(std::size_t n_per_class, std::size_t size, double noise, std::uint64_t seed) {
  need(n_per_class >= 1 && size >= 4, "bar_images: need n_per_class ≥ 1 and size ≥ 4");
  need(noise >= 0 && std::isfinite(noise), "bar_images: noise must be ≥ 0");
  Rng r(seed);
  Dataset d;
  d.name = "bar_images";
  d.class_names = {"horizontal", "vertical", "diagonal", "anti-diagonal"};
  const std::size_t n = 4 * n_per_class;
  d.X = Tensor::from_shape({n, std::size_t{1}, size, size});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % 4;
    const std::size_t pos = 1 + r.below(size - 2);
    const long shift = static_cast<long>(r.below(5)) - 2;
    for (std::size_t a = 0; a < size; ++a)
      for (std::size_t b = 0; b < size; ++b) {
        bool on = false;
        if (k == 0) on = a == pos;
        if (k == 1) on = b == pos;
        if (k == 2) on = static_cast<long>(a) - static_cast<long>(b) == shift;
        if (k == 3) on = static_cast<long>(a + b) - static_cast<long>(size - 1) == shift;
        d.X(i, 0, a, b) = (on ? 1.0 : 0.0) + noise * r.normal();
      }
    d.y.push_back(k);
  }
  return d;
}

}  // namespace inflab::data
