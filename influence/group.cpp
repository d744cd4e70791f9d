#include "influence/group.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"
#include "datasets/split.hpp"

namespace inflab::influence {

std::size_t group_size(std::size_t n, double fraction) {
  if (!(fraction > 0 && fraction < 1)) throw Error("group fraction must be in (0, 1), got " + std::to_string(fraction));
  const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  if (k < 1 || k >= n)
    throw Error("a group of fraction " + std::to_string(fraction) + " of " + std::to_string(n) + " rows has " + std::to_string(k) +
                " rows; it must have at least 1 and fewer than " + std::to_string(n));
  return k;
}

void check_group(const std::vector<std::size_t>& g, std::size_t n) {
  if (g.empty()) throw Error("group is empty");
  if (g.size() >= n) throw Error("group of " + std::to_string(g.size()) + " rows leaves nothing of the " + std::to_string(n) + " training rows");
  std::set<std::size_t> seen;
  for (auto r : g) {
    if (r >= n) throw Error("group row " + std::to_string(r) + " out of range for " + std::to_string(n) + " training rows");
    if (!seen.insert(r).second) throw Error("group lists row " + std::to_string(r) + " twice");
  }
}

std::vector<std::size_t> random_group(std::size_t n, std::size_t size, std::uint64_t seed) {
  if (size == 0 || size >= n) throw Error("random_group: size must be in 1.." + std::to_string(n - 1));
  auto p = data::permutation(n, seed);
  p.resize(size);
  std::sort(p.begin(), p.end());
  return p;
}

std::vector<std::size_t> class_group(const data::Dataset& d, std::size_t cls, std::size_t size, std::uint64_t seed) {
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d.y.at(i) == cls) rows.push_back(i);
  if (rows.size() < size)
    throw Error("class_group: class " + std::to_string(cls) + " has " + std::to_string(rows.size()) + " rows, fewer than " + std::to_string(size));
  const auto p = data::permutation(rows.size(), seed);
  std::vector<std::size_t> g;
  for (std::size_t i = 0; i < size; ++i) g.push_back(rows[p[i]]);
  std::sort(g.begin(), g.end());
  return g;
}

std::vector<std::size_t> knn_group(const data::Dataset& d, std::size_t anchor, std::size_t size) {
  const std::size_t n = d.size(), w = numel(d.sample_shape());
  if (anchor >= n) throw Error("knn_group: anchor row " + std::to_string(anchor) + " out of range for " + std::to_string(n));
  if (size == 0 || size >= n) throw Error("knn_group: size must be in 1.." + std::to_string(n - 1));
  std::vector<std::pair<double, std::size_t>> dist;
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < w; ++j) s += std::pow(d.X.data()[i * w + j] - d.X.data()[anchor * w + j], 2);
    dist.push_back({i == anchor ? -1.0 : s, i});  // the anchor first, even among duplicates
  }
  std::partial_sort(dist.begin(), dist.begin() + static_cast<long>(size), dist.end());
  std::vector<std::size_t> g;
  for (std::size_t i = 0; i < size; ++i) g.push_back(dist[i].second);
  std::sort(g.begin(), g.end());
  return g;
}

std::vector<std::vector<std::size_t>> gradient_cluster_groups(const nn::Objective& obj, const data::Dataset& train,
                                                              const Tensor& theta, std::size_t size, std::size_t count,
                                                              std::uint64_t seed, std::size_t sketch) {
  const std::size_t n = train.size(), P = theta.size();
  if (size == 0 || size >= n) throw Error("gradient_cluster_groups: size must be in 1.." + std::to_string(n - 1));
  const std::size_t K = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(static_cast<double>(n) / size)));
  if (count == 0 || count > K)
    throw Error("gradient_cluster_groups: " + std::to_string(count) + " groups asked, but groups of " + std::to_string(size) +
                " rows from " + std::to_string(n) + " give " + std::to_string(K) + " clusters");
  // rows of G: per-example gradients, exact (identity directions) or sketched
  const std::size_t dim = P <= sketch ? P : sketch;
  Tensor S = zeros({dim, P});
  if (P <= sketch) {
    for (std::size_t i = 0; i < P; ++i) S(i, i) = 1;
  } else {
    S = ad::random_normal({dim, P}, seed);
    for (auto& e : S) e /= std::sqrt(static_cast<double>(dim));
  }
  const Tensor D = train_gradient_dots(obj, train, theta, S);  // [dim, n]
  auto dist2 = [&](std::size_t i, const std::vector<double>& c) {
    double s = 0;
    for (std::size_t a = 0; a < dim; ++a) s += (D(a, i) - c[a]) * (D(a, i) - c[a]);
    return s;
  };
  auto row = [&](std::size_t i) {
    std::vector<double> c(dim);
    for (std::size_t a = 0; a < dim; ++a) c[a] = D(a, i);
    return c;
  };
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest
  std::mt19937_64 rng(seed);
  std::vector<std::vector<double>> centre{row(rng() % n)};
  std::vector<double> near(n);
  while (centre.size() < K) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      near[i] = std::numeric_limits<double>::infinity();
      for (const auto& c : centre) near[i] = std::min(near[i], dist2(i, c));
      total += near[i];
    }
    std::size_t pick = rng() % n;  // all gradients equal: any row
    if (total > 0) {
      double u = std::uniform_real_distribution<double>(0, total)(rng);
      for (std::size_t i = 0; i < n; ++i)
        if ((u -= near[i]) < 0) { pick = i; break; }
    }
    centre.push_back(row(pick));
  }
  std::vector<std::size_t> label(n, 0);
  for (int it = 0; it < 100; ++it) {  // Lloyd
    bool moved = false;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < K; ++c)
        if (dist2(i, centre[c]) < dist2(i, centre[best])) best = c;
      moved |= best != label[i] || it == 0;
      label[i] = best;
    }
    if (!moved) break;
    for (std::size_t c = 0; c < K; ++c) {
      std::vector<double> m(dim, 0.0);
      std::size_t cnt = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (label[i] == c) { ++cnt; for (std::size_t a = 0; a < dim; ++a) m[a] += D(a, i); }
      if (cnt) { for (auto& e : m) e /= static_cast<double>(cnt); centre[c] = m; }
    }
  }
  std::vector<std::size_t> members(K, 0), order(K);
  for (auto l : label) ++members[l];
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return members[a] > members[b]; });
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t c = order[j];
    std::vector<std::pair<double, std::size_t>> key;  // (distance, row)
    for (std::size_t i = 0; i < n; ++i) key.emplace_back(dist2(i, centre[c]), i);
    std::partial_sort(key.begin(), key.begin() + static_cast<long>(size), key.end());
    std::vector<std::size_t> g;
    for (std::size_t i = 0; i < size; ++i) g.push_back(key[i].second);
    std::sort(g.begin(), g.end());
    groups.push_back(g);
  }
  return groups;
}

GroupPrediction group_influence(const InverseHvp& inv, const Tensor& test_grad, const std::vector<std::size_t>& group,
                                std::size_t newton_max_p) {
  const CurvatureOperator& A = inv.op();
  const data::Dataset& train = A.train();
  const nn::Objective& obj = A.objective_fn();
  const std::size_t n = train.size(), m = group.size(), P = A.dim();
  check_group(group, n);
  if (test_grad.size() != P) throw Error("group_influence: test gradient of " + std::to_string(test_grad.size()) + " values for p = " + std::to_string(P));
  const data::Dataset dU = data::subset(train, group);
  const double nd = static_cast<double>(n), md = static_cast<double>(m), p = md / nd;
  // R_U = mean over U of ℓ̃, so g_U = m ∇R_U and H_U = m ∇²R_U
  ad::Recording RU(obj.fn(dU), A.theta());
  Tensor gU = RU.grad();
  for (auto& e : gU) e *= md;
  const std::size_t before = A.products();
  const SolveResult a = inv(gU);  // H⁻¹ g_U
  Tensor HUa = RU.hvp(a.x);
  for (auto& e : HUa) e *= md;
  const SolveResult b = inv(HUa);  // H⁻¹ H_U H⁻¹ g_U
  GroupPrediction r;
  r.size = m;
  r.fraction = p;
  r.products = A.products() - before;
  r.rel_residual = std::max(a.rel_residual, b.rel_residual);
  r.warning = !a.warning.empty() ? a.warning : b.warning;
  const double ta = dot(test_grad, a.x), tb = dot(test_grad, b.x);
  r.first_order = ta / nd;
  r.second_order = (1 - 2 * p) / ((1 - p) * (1 - p)) * ta / nd + 1 / ((1 - p) * (1 - p)) * tb / (nd * nd);
  r.newton = std::numeric_limits<double>::quiet_NaN();
  if (P <= newton_max_p) {
    // (n(H + μI) − H_U) Δθ = g_U, dense
    Tensor M = ad::hessian(obj.fn(train), A.theta());
    const Tensor HU = ad::hessian(obj.fn(dU), A.theta());
    for (std::size_t i = 0; i < P; ++i)
      for (std::size_t j = 0; j < P; ++j) M(i, j) = nd * (M(i, j) + (i == j ? inv.choice().damping : 0.0)) - md * HU(i, j);
    r.newton = dot(test_grad, dense_solve(M, gU));
  }
  return r;
}

}  // namespace inflab::influence
