#include "influence/group_selection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autodiff/ops.hpp"

namespace inflab::influence {

std::vector<double> project_capped_simplex(const std::vector<double>& v, double k) {
  const double n = static_cast<double>(v.size());
  if (!(k > 0 && k < n)) throw Error("project_capped_simplex: k = " + std::to_string(k) + " must be in (0, " + std::to_string(v.size()) + ")");
  auto mass = [&](double tau) {
    double s = 0;
    for (double x : v) s += std::clamp(x - tau, 0.0, 1.0);
    return s;
  };
  // mass(τ) falls from n (τ ≤ min v − 1) to 0 (τ ≥ max v)
  double lo = *std::min_element(v.begin(), v.end()) - 1, hi = *std::max_element(v.begin(), v.end());
  for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(1.0, std::fabs(hi)); ++it) {
    const double mid = 0.5 * (lo + hi);
    (mass(mid) > k ? lo : hi) = mid;
  }
  std::vector<double> w(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) w[i] = std::clamp(v[i] - 0.5 * (lo + hi), 0.0, 1.0);
  return w;
}

Tensor train_second_directional(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                                const Tensor& s, const Tensor& a) {
  const double an = norm2(a);
  if (an == 0) return zeros({train.size()});
  // a step of ∛ε·max(1, ‖θ‖) along a: truncation O(h²) and rounding O(ε/h) balanced
  const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, norm2(theta)) / an;
  Tensor plus = theta, minus = theta;
  for (std::size_t i = 0; i < theta.size(); ++i) plus(i) += h * a(i), minus(i) -= h * a(i);
  Tensor d = train_gradient_dots(obj, train, plus, s);
  const Tensor m = train_gradient_dots(obj, train, minus, s);
  for (std::size_t i = 0; i < d.size(); ++i) d(i) = (d(i) - m(i)) / (2 * h);
  return d;
}

namespace {
// k rows with the largest key (ties: lower row first), sorted by row
std::vector<std::size_t> top_rows(const std::vector<double>& key, std::size_t k) {
  std::vector<std::size_t> idx(key.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return key[a] > key[b]; });
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}
}  // namespace

GroupSelection most_influential_group(const InverseHvp& inv, const Tensor& test_grad, std::size_t k,
                                      const SelectionOptions& o) {
  const CurvatureOperator& A = inv.op();
  const nn::Objective& obj = A.objective_fn();
  const data::Dataset& train = A.train();
  const Tensor& theta = A.theta();
  const std::size_t n = train.size();
  if (k == 0 || k >= n) throw Error("most_influential_group: k = " + std::to_string(k) + " must be in 1.." + std::to_string(n - 1));
  if (test_grad.size() != A.dim())
    throw Error("most_influential_group: test gradient of " + std::to_string(test_grad.size()) + " values for p = " + std::to_string(A.dim()));
  const std::size_t before = A.products();
  const double sgn = o.increase ? 1.0 : -1.0, nd = static_cast<double>(n), p = static_cast<double>(k) / nd;
  const double c1 = (1 - 2 * p) / ((1 - p) * (1 - p)), c2 = 1 / ((1 - p) * (1 - p));

  const Tensor s = inv(test_grad).x;
  const Tensor d1 = train_gradient_dots(obj, train, theta, s);  // sᵀ∇ℓ̃ᵢ = n Δ̂ᵢ
  if (!all_finite(d1)) throw Error("most_influential_group: non-finite influence scores (is the solve finite? " + inv(test_grad).note + ")");
  std::vector<double> key(n);
  for (std::size_t i = 0; i < n; ++i) key[i] = sgn * d1(i);
  GroupSelection r;
  r.greedy = top_rows(key, k);

  // F(w) with what its gradient reuses
  struct Point {
    std::vector<double> w;
    double F = 0;
    Tensor a, Hs;
  };
  auto evaluate = [&](std::vector<double> w) {
    Point q;
    const Tensor wt = tensor({n}, w);
    const double total = std::accumulate(w.begin(), w.end(), 0.0), lambda = obj.weight_decay();
    ad::Recording R([&](ad::Var th) {  // Σ wᵢ ℓ̃ᵢ(θ)
      ad::Var v = ad::sum(ad::mul(obj.losses(th, train), ad::constant(wt)));
      return lambda > 0 ? ad::add(v, ad::mul_scalar(ad::sq_norm(th), total * lambda / 2)) : v;
    }, theta);
    const Tensor g = R.grad();
    q.a = inv(g).x;
    q.Hs = R.hvp(s);
    q.F = c1 / nd * dot(s, g) + c2 / (nd * nd) * dot(q.Hs, q.a);
    q.w = std::move(w);
    return q;
  };
  auto gradient = [&](const Point& q) {
    const Tensor b = inv(q.Hs).x;
    const Tensor e = train_gradient_dots(obj, train, theta, b);
    const Tensor sec = train_second_directional(obj, train, theta, s, q.a);
    std::vector<double> g(n);
    for (std::size_t i = 0; i < n; ++i) g[i] = c1 / nd * d1(i) + c2 / (nd * nd) * (sec(i) + e(i));
    return g;
  };

  Point cur = evaluate(std::vector<double>(n, static_cast<double>(k) / nd));
  r.objective.push_back(cur.F);
  double step = 0;
  for (r.iterations = 0; r.iterations < o.iterations; ++r.iterations) {
    const std::vector<double> g = gradient(cur);
    double gmax = 0;
    for (double x : g) gmax = std::max(gmax, std::fabs(x));
    if (gmax == 0) break;
    if (step == 0) step = 1 / gmax;  // first step: the steepest coordinate moves by 1
    bool accepted = false, stalled = false;
    for (int halvings = 0; halvings < 40 && !accepted; ++halvings, step /= 2) {
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = cur.w[i] + sgn * step * g[i];
      std::vector<double> w = project_capped_simplex(v, static_cast<double>(k));
      double moved = 0;
      for (std::size_t i = 0; i < n; ++i) moved = std::max(moved, std::fabs(w[i] - cur.w[i]));
      if (moved < 1e-9) { stalled = true; break; }  // at a vertex the gradient points out of
      Point cand = evaluate(std::move(w));
      if (sgn * cand.F >= sgn * cur.F) {
        cur = std::move(cand);
        accepted = true;
      }
    }
    if (!accepted || stalled) break;
    step *= 4;  // undo the loop's last halving and try a longer step next time
    r.objective.push_back(cur.F);
  }
  // round: the k largest weights; ties (e.g. at 1) broken by the first-order score
  std::vector<double> wk(n);
  for (std::size_t i = 0; i < n; ++i) wk[i] = cur.w[i] + 1e-12 * key[i] / (1 + std::fabs(key[i]));
  r.second_order = top_rows(wk, k);
  r.greedy_estimate = group_influence(inv, test_grad, r.greedy, 0);
  r.second_order_estimate = group_influence(inv, test_grad, r.second_order, 0);
  r.products = A.products() - before;
  return r;
}

}  // namespace inflab::influence
