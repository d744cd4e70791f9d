#include "autodiff/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace inflab::ad {

namespace {
const double kCbrtEps = std::cbrt(std::numeric_limits<double>::epsilon());  // ≈ 6e-6
const double kEps = std::numeric_limits<double>::epsilon();

double scalar_of(const Fn& f, const Tensor& theta) { return Recording(f, theta).scalar_value(); }

double rel(const Tensor& a, const Tensor& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    n += b.data()[i] * b.data()[i];
  }
  return std::sqrt(d) / std::max(std::sqrt(n), 1e-300);
}

double inf_norm(const Tensor& x) {
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x.data()[i]));
  return m;
}

void require_direction(const char* op, const Tensor& theta, const Tensor& v) {
  if (v.size() != theta.size() || v.dimension() != 1)
    throw Error(std::string(op) + ": direction has shape " + shape_str(shape_of(v)) +
                " but θ has shape " + shape_str(shape_of(theta)));
}

double median(std::vector<double> x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(x.begin(), x.end());
  const std::size_t m = x.size() / 2;
  return x.size() % 2 ? x[m] : 0.5 * (x[m - 1] + x[m]);
}
}  // namespace

Tensor random_normal(const Shape& shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  Tensor t = Tensor::from_shape(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = n(rng);
  return t;
}

GradCheck check_gradient(const Fn& f, const Tensor& theta, std::uint64_t seed) {
  GradCheck r;
  Recording rec(f, theta);
  r.ad = rec.grad();
  r.fd = zeros(shape_of(theta));
  Tensor x = theta;
  for (std::size_t i = 0; i < theta.size(); ++i) {
    const double h = kCbrtEps * std::max(1.0, std::fabs(theta.data()[i]));
    const double xi = x.data()[i];
    x.data()[i] = xi + h;
    const double fp = scalar_of(f, x);
    x.data()[i] = xi - h;
    const double fm = scalar_of(f, x);
    x.data()[i] = xi;
    r.fd.data()[i] = (fp - fm) / (2 * h);
  }
  r.rel_err = rel(r.ad, r.fd);
  r.max_abs_err = 0;
  for (std::size_t i = 0; i < theta.size(); ++i)
    r.max_abs_err = std::max(r.max_abs_err, std::fabs(r.ad.data()[i] - r.fd.data()[i]));
  Tensor u = random_normal(shape_of(theta), seed);
  const double un = norm2(u);
  for (std::size_t i = 0; i < u.size(); ++i) u.data()[i] /= std::max(un, 1e-300);
  const double h = kCbrtEps * std::max(1.0, inf_norm(theta));
  const double fd_dir = (scalar_of(f, axpy(theta, h, u)) - scalar_of(f, axpy(theta, -h, u))) / (2 * h);
  const double ad_dir = dot(r.ad, u);
  r.dir_rel_err = std::fabs(ad_dir - fd_dir) / std::max({std::fabs(fd_dir), norm2(r.ad), 1e-300});
  return r;
}

JvpCheck check_jvp(const Fn& f, const Tensor& theta, const Tensor& v) {
  require_direction("check_jvp", theta, v);
  JvpCheck r;
  r.ad = Recording(f, theta).jvp(v);
  const double vn = std::max(norm2(v), 1e-300);
  const double h = kCbrtEps * std::max(1.0, inf_norm(theta)) / vn;
  const Tensor yp = Recording(f, axpy(theta, h, v)).value();
  const Tensor ym = Recording(f, axpy(theta, -h, v)).value();
  r.fd = Tensor::from_shape(yp.shape());
  for (std::size_t i = 0; i < yp.size(); ++i) r.fd.data()[i] = (yp.data()[i] - ym.data()[i]) / (2 * h);
  r.ad.reshape(yp.shape());
  r.rel_err = rel(r.ad, r.fd);
  return r;
}

HvpCheck check_hvp(const Fn& f, const Tensor& theta, const Tensor& v) {
  require_direction("check_hvp", theta, v);
  HvpCheck r;
  r.ad = Recording(f, theta).hvp(v);
  const double vn = norm2(v);
  Tensor vh = v;
  for (std::size_t i = 0; i < vh.size(); ++i) vh.data()[i] /= std::max(vn, 1e-300);
  const double h = kCbrtEps * std::max(1.0, inf_norm(theta));
  const Tensor gp = Recording(f, axpy(theta, h, vh)).grad();
  const Tensor gm = Recording(f, axpy(theta, -h, vh)).grad();
  r.fd = zeros(shape_of(theta));
  for (std::size_t i = 0; i < r.fd.size(); ++i)
    r.fd.data()[i] = vn * (gp.data()[i] - gm.data()[i]) / (2 * h);
  r.rel_err = rel(r.ad, r.fd);
  const Tensor gp2 = Recording(f, axpy(theta, h / 2, vh)).grad();
  const Tensor gm2 = Recording(f, axpy(theta, -h / 2, vh)).grad();
  Tensor fd2 = zeros(shape_of(theta));
  for (std::size_t i = 0; i < fd2.size(); ++i) fd2.data()[i] = vn * (gp2.data()[i] - gm2.data()[i]) / h;
  r.fd_uncertainty = rel(fd2, r.fd);
  return r;
}

SymmetryCheck check_symmetry(const Fn& f, const Tensor& theta, const Tensor& u, const Tensor& v) {
  require_direction("check_symmetry", theta, u);
  require_direction("check_symmetry", theta, v);
  Recording rec(f, theta);
  SymmetryCheck s;
  const Tensor Hv = rec.hvp(v), Hu = rec.hvp(u);
  s.uHv = dot(u, Hv);
  s.vHu = dot(v, Hu);
  const double scale = std::max({norm2(u) * norm2(Hv), norm2(v) * norm2(Hu), 1e-300});
  s.rel_diff = std::fabs(s.uHv - s.vHu) / scale;
  return s;
}

TaylorCheck taylor_test(const Fn& f, const Tensor& theta, const Tensor& v_in, double eps0, int steps, double noise_floor,
                        std::size_t min_pairs) {
  require_direction("taylor_test", theta, v_in);
  Tensor v = v_in;
  const double vn = norm2(v);
  for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] /= std::max(vn, 1e-300);
  Recording rec(f, theta);
  const double f0 = rec.scalar_value();
  const double gv = dot(rec.grad(), v);
  const double vHv = dot(v, rec.hvp(v));
  TaylorCheck t;
  std::vector<double>& floor1 = t.floor1;
  std::vector<double>& floor2 = t.floor2;
  for (int j = 0; j < steps; ++j) {
    const double e = eps0 * std::ldexp(1.0, -j);
    const double fe = scalar_of(f, axpy(theta, e, v));
    const double d1 = fe - f0 - e * gv;
    t.eps.push_back(e);
    t.r1.push_back(std::fabs(d1));
    t.r2.push_back(std::fabs(d1 - 0.5 * e * e * vHv));
    // rounding floor of each remainder: one ulp of the terms that cancel
    const double base = std::fabs(fe) + std::fabs(f0) + std::fabs(e * gv);
    floor1.push_back(kEps * base);
    floor2.push_back(kEps * (base + std::fabs(0.5 * e * e * vHv)));
  }
  // measured rounding noise: at ε ~ 1e-9 the true second remainder is ~1e-27·|f‴|, so
  // whatever is left is the noise of evaluating f (sums of many terms round far worse
  // than one ulp of |f|)
  double noise = 0;
  for (double e : {1e-9, -1.3e-9, 0.7e-9, -0.6e-9, 1.7e-9}) {
    const double fe = scalar_of(f, axpy(theta, e, v));
    noise = std::max(noise, std::fabs(fe - f0 - e * gv - 0.5 * e * e * vHv));
  }
  for (auto& x : floor1) x = std::max({x, noise, noise_floor});
  for (auto& x : floor2) x = std::max({x, noise, noise_floor});
  // a pair counts when its smaller remainder is 10× above the floor
  std::vector<double> good1, good2;
  for (int j = 0; j + 1 < steps; ++j) {
    const double a1 = std::log2(t.r1[j] / t.r1[j + 1]);
    const double a2 = std::log2(t.r2[j] / t.r2[j + 1]);
    t.rates1.push_back(a1);
    t.rates2.push_back(a2);
    if (t.r1[j + 1] > 10 * floor1[j + 1]) good1.push_back(a1);
    if (t.r2[j + 1] > 10 * floor2[j + 1]) good2.push_back(a2);
  }
  t.r1_at_noise = good1.size() < std::max<std::size_t>(2, min_pairs);
  t.r2_at_noise = good2.size() < std::max<std::size_t>(2, min_pairs);
  // the asymptotic rate: median of the (up to) three smallest-ε pairs above the floor
  auto tail = [](const std::vector<double>& g) {
    return median(std::vector<double>(g.end() - std::min<std::ptrdiff_t>(3, g.size()), g.end()));
  };
  t.order1 = t.r1_at_noise ? std::numeric_limits<double>::quiet_NaN() : tail(good1);
  t.order2 = t.r2_at_noise ? std::numeric_limits<double>::quiet_NaN() : tail(good2);
  return t;
}

const char* verdict_name(Verdict v) { return v == Verdict::Pass ? "PASS" : v == Verdict::Fail ? "FAIL" : "INCONCLUSIVE"; }

bool DerivativeChecks::pass() const {
  return std::none_of(checks.begin(), checks.end(), [](const DerivativeCheck& c) { return c.verdict == Verdict::Fail; });
}

DerivativeChecks check_derivatives(const Fn& f, const Tensor& theta, std::uint64_t seed) {
  const std::size_t P = theta.size();
  const Tensor u = random_normal({P}, seed + 11), v = random_normal({P}, seed + 12);
  const auto g = check_gradient(f, theta, seed + 1);
  const auto h = check_hvp(f, theta, v);
  const auto s = check_symmetry(f, theta, u, v);
  // a classifier's loss near 0 rounds in absolute terms: that floor, and three pairs above it
  const double f0 = Recording(f, theta).scalar_value();
  DerivativeChecks out;
  out.taylor = taylor_test(f, theta, v, 1e-2, 10, 2 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(f0)), 3);
  const TaylorCheck& t = out.taylor;
  auto at_least = [](double x, double bound, bool at_noise) { return at_noise ? Verdict::Inconclusive : x >= bound ? Verdict::Pass : Verdict::Fail; };
  // near θ̂ the gradient is ≈ 0 and a relative error is all rounding: scale by max(‖fd‖, 1)
  const double gerr = norm2(g.ad - g.fd) / std::max(norm2(g.fd), 1.0);
  // the HVP against differences of gradients, within what those differences can tell: their own
  // change from step h to h/2 (truncation and rounding of the quotient) bounds the comparison
  const double hwide = std::max(1e-5, 10 * h.fd_uncertainty);
  const Verdict hv = h.rel_err <= 1e-5 ? Verdict::Pass : h.rel_err <= hwide ? Verdict::Inconclusive : Verdict::Fail;
  out.checks = {
      {"gradient vs central differences, ‖ad − fd‖ / max(‖fd‖, 1)", gerr, 1e-6, gerr <= 1e-6 ? Verdict::Pass : Verdict::Fail, ""},
      {"HVP vs differences of gradients, relative error", h.rel_err, h.rel_err <= 1e-5 ? 1e-5 : hwide, hv, ""},
      // a saturated network's products are quantised in absolute terms: 1e-8 of ‖u‖‖Hv‖ is
      // still far below any wrong rule's asymmetry, which is of the products' own size
      {"symmetry |uᵀHv − vᵀHu| / (‖u‖‖Hv‖)", s.rel_diff, 1e-8, s.rel_diff <= 1e-8 ? Verdict::Pass : Verdict::Fail, ""},
      {"Taylor order of the gradient remainder (2 if right)", t.order1, 1.8, at_least(t.order1, 1.8, t.r1_at_noise), ""},
      {"Taylor order of the HVP remainder (3 if right)", t.order2, 2.8, at_least(t.order2, 2.8, t.r2_at_noise), ""}};
  auto g3 = [](double x, const char* f) {
    char b[32];
    std::snprintf(b, sizeof b, f, x);
    return std::string(b);
  };
  for (auto& c : out.checks) {
    const bool rate = c.name.rfind("Taylor", 0) == 0;
    c.why = c.verdict != Verdict::Inconclusive ? g3(c.value, "%.3g") + " (bound " + g3(c.bound, "%.3g") + ")"
            : rate ? std::string("the remainder is below the loss's rounding noise at this point (rounding): no rate to read")
                   : g3(c.value, "%.3g") + ", within what finite differences can tell here (their own change from h to h/2 allows " +
                         g3(c.bound, "%.2g") + "; rounding)";
  }
  return out;
}

}  // namespace inflab::ad
