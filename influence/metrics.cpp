#include "influence/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "util/format.hpp"

namespace inflab::influence {

namespace {
void same_size(const Tensor& a, const Tensor& b, const char* op, std::size_t at_least) {
  if (a.size() != b.size())
    throw Error(std::string(op) + ": " + std::to_string(a.size()) + " predicted values against " + std::to_string(b.size()) + " actual");
  if (a.size() < at_least)
    throw Error(std::string(op) + ": needs at least " + std::to_string(at_least) + " values, got n = " + std::to_string(a.size()));
  if (!all_finite(a) || !all_finite(b)) throw Error(std::string(op) + ": values must be finite");
}
}  // namespace

double pearson(const Tensor& a, const Tensor& b) {
  same_size(a, b, "pearson", 3);
  const std::size_t n = a.size();
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = a.data()[i] - ma, y = b.data()[i] - mb;
    sab += x * y, saa += x * x, sbb += y * y;
  }
  if (saa == 0 || sbb == 0) throw Error("pearson: one side is constant; the correlation is undefined");
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> average_ranks(const Tensor& a) {
  const std::size_t n = a.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](auto i, auto j) { return a.data()[i] < a.data()[j]; });
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && a.data()[idx[j + 1]] == a.data()[idx[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + j) + 1;
    for (std::size_t k = i; k <= j; ++k) r[idx[k]] = mean_rank;
    i = j + 1;
  }
  return r;
}

double spearman(const Tensor& a, const Tensor& b) {
  same_size(a, b, "spearman", 3);
  const auto ra = average_ranks(a), rb = average_ranks(b);
  return pearson(tensor({ra.size()}, ra), tensor({rb.size()}, rb));
}

double kendall_tau(const Tensor& a, const Tensor& b) {
  same_size(a, b, "kendall_tau", 3);
  const std::size_t n = a.size();
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      const double da = a.data()[i] - a.data()[j], db = b.data()[i] - b.data()[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) ++ties_a;
      else if (db == 0) ++ties_b;
      else if ((da > 0) == (db > 0)) ++concordant;
      else ++discordant;
    }
  const double denom = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  if (denom == 0) throw Error("kendall_tau: one side is constant; τ is undefined");
  return (concordant - discordant) / denom;
}

double top_k_overlap(const Tensor& a, const Tensor& b, std::size_t k, bool by_magnitude) {
  same_size(a, b, "top_k_overlap", 1);
  if (k == 0 || k > a.size()) throw Error("top_k_overlap: k must be in 1.." + std::to_string(a.size()));
  auto top = [&](const Tensor& v) {
    std::vector<std::size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    auto key = [&](std::size_t i) { return by_magnitude ? std::fabs(v.data()[i]) : v.data()[i]; };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(), [&](auto i, auto j) { return key(i) > key(j); });
    return std::set<std::size_t>(idx.begin(), idx.begin() + static_cast<long>(k));
  };
  const auto ta = top(a), tb = top(b);
  std::size_t common = 0;
  for (auto i : ta) common += tb.count(i);
  return static_cast<double>(common) / static_cast<double>(k);
}

double relative_error(const Tensor& p, const Tensor& a) {
  same_size(p, a, "relative_error", 1);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < p.size(); ++i) num += std::fabs(p.data()[i] - a.data()[i]), den += std::fabs(a.data()[i]);
  if (den == 0) throw Error("relative_error: the actual changes are all zero");
  return num / den;
}

double or_nan(double (*metric)(const Tensor&, const Tensor&), const Tensor& a, const Tensor& b) {
  try {
    return metric(a, b);
  } catch (const Error&) {
    return std::nan("");
  }
}

std::string undefined_reason(const Tensor& p, const Tensor& a) {
  if (p.size() != a.size())
    throw Error("undefined_reason: " + std::to_string(p.size()) + " predicted values against " + std::to_string(a.size()) + " actual");
  if (p.size() < 3) return "fewer than 3 points (n = " + std::to_string(p.size()) + ")";
  if (!all_finite(p) || !all_finite(a)) {  // named: one bad retrain must not hide behind "n/a"
    std::string at;
    std::size_t bad = 0;
    for (std::size_t i = 0; i < p.size(); ++i)
      for (const auto& [v, what] : {std::pair<double, const char*>{p.data()[i], "predicted"}, {a.data()[i], "actual"}})
        if (!std::isfinite(v) && ++bad <= 5)
          at += (at.empty() ? "" : ", ") + std::string(what) + " " + shortest(v) + " at row " + std::to_string(i) + " of the table";
    return "non-finite values (" + at + (bad > 5 ? ", and " + std::to_string(bad - 5) + " more" : "") + ")";
  }
  auto constant = [](const Tensor& v) {
    for (std::size_t i = 1; i < v.size(); ++i)
      if (v.data()[i] != v.data()[0]) return false;
    return true;
  };
  if (constant(a))
    return a.data()[0] == 0 ? "every actual change is 0 (the retrained models did not move: with λ = 0 the objective may have no "
                              "unique minimiser, or the tolerance is too loose)"
                            : "the actual changes are constant";
  if (constant(p)) return "the predictions are constant";
  return "";
}

std::size_t sign_agreements(const Tensor& p, const Tensor& a) {
  if (p.size() != a.size())
    throw Error("sign_agreements: " + std::to_string(p.size()) + " predicted values against " + std::to_string(a.size()) + " actual");
  std::size_t n = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double x = p.data()[i], y = a.data()[i];
    n += (x > 0 && y > 0) || (x < 0 && y < 0);
  }
  return n;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) throw Error("quantile of no values");
  if (!(q >= 0 && q <= 1)) throw Error("quantile: q = " + std::to_string(q) + " is not in [0, 1]");
  for (double x : v)
    if (std::isnan(x)) throw Error("quantile of values with a NaN (leave undefined values out first)");
  std::sort(v.begin(), v.end());
  const double h = q * static_cast<double>(v.size() - 1);  // position between order statistics
  const std::size_t i = static_cast<std::size_t>(std::floor(h));
  return i + 1 < v.size() ? v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]) : v[i];
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  std::vector<double> v;
  for (double x : values) (std::isfinite(x) ? v.push_back(x) : void(++s.undefined));
  s.n = v.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.ci_low = s.ci_high = nan;
  if (v.empty()) {
    s.median = s.q25 = s.q75 = nan;
    return s;
  }
  s.median = quantile(v, 0.5), s.q25 = quantile(v, 0.25), s.q75 = quantile(v, 0.75);
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  // P(B ≤ i) for B ~ Binomial(n, ½), summed in log space (2⁻ⁿ underflows for n > 1074)
  double cdf = 0;
  std::size_t j = 0;  // order statistics x₍ⱼ₎, x₍ₙ₋ⱼ₊₁₎ (1-based); 0: none
  for (std::size_t i = 0; 2 * i < n; ++i) {
    const double dn = static_cast<double>(n), di = static_cast<double>(i);
    cdf += std::exp(std::lgamma(dn + 1) - std::lgamma(di + 1) - std::lgamma(dn - di + 1) - dn * std::log(2.0));
    if (2 * cdf > 0.05) break;
    j = i + 1;
  }
  if (j) s.ci_low = v[j - 1], s.ci_high = v[n - j];
  return s;
}

}  // namespace inflab::influence
