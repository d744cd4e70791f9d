#include "cli/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "cli/run_dir.hpp"

namespace inflab::cli {

namespace {
constexpr double W = 640, H = 480, L = 78, R = 20, T = 44, B = 58;  // canvas and margins
const char* colour(std::size_t i) {
  static const char* c[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};
  return c[i % 7];
}
std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '&') o += "&amp;";
    else if (ch == '<') o += "&lt;";
    else if (ch == '>') o += "&gt;";
    else o += ch;
  }
  return o;
}
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}
// ticks at 1, 2 or 5 × 10^k covering [lo, hi]
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo, raw = span / 6, mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) t.push_back(std::fabs(v) < 1e-12 * span ? 0 : v);
  return t;
}
void range(const Plot& p, bool xaxis, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : p.series)
    for (double v : xaxis ? s.x : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-300 + 1e-12 * std::fabs(hi)) lo -= 0.5 + std::fabs(lo) * 0.05, hi += 0.5 + std::fabs(hi) * 0.05;
  const double pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;
}
}  // namespace

std::string render_svg(const Plot& p) {
  double x0, x1, y0, y1;
  range(p, true, x0, x1);
  range(p, false, y0, y1);
  if (p.diagonal) {  // one square range so y = x is the 45° line of the data
    const double lo = std::min(x0, y0), hi = std::max(x1, y1);
    x0 = y0 = lo, x1 = y1 = hi;
  }
  auto X = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " " << H
    << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << esc(p.title) << "</text>\n";
  for (double t : ticks(x0, x1))
    o << "<line x1=\"" << X(t) << "\" y1=\"" << T << "\" x2=\"" << X(t) << "\" y2=\"" << H - B << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << X(t) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << num(t) << "</text>\n";
  for (double t : ticks(y0, y1))
    o << "<line x1=\"" << L << "\" y1=\"" << Y(t) << "\" x2=\"" << W - R << "\" y2=\"" << Y(t) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << L - 6 << "\" y=\"" << Y(t) + 4 << "\" text-anchor=\"end\">" << num(t) << "</text>\n";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 14 << "\" text-anchor=\"middle\">" << esc(p.xlabel) << "</text>\n";
  o << "<text transform=\"translate(18," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << esc(p.ylabel)
    << "</text>\n";
  if (p.diagonal)
    o << "<line x1=\"" << X(x0) << "\" y1=\"" << Y(x0) << "\" x2=\"" << X(x1) << "\" y2=\"" << Y(x1)
      << "\" stroke=\"#777\" stroke-dasharray=\"6,4\"/>\n";
  for (std::size_t s = 0; s < p.series.size(); ++s) {
    const Series& se = p.series[s];
    if (se.line) {  // a non-finite y breaks the line: a gap, not a bridge over missing values
      std::string pts;
      auto flush = [&] {
        if (!pts.empty()) o << "<polyline fill=\"none\" stroke=\"" << colour(s) << "\" stroke-width=\"2\" points=\"" << pts << "\"/>\n";
        pts.clear();
      };
      for (std::size_t i = 0; i < se.x.size(); ++i) {
        if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) { flush(); continue; }
        std::ostringstream pt;
        pt << X(se.x[i]) << "," << Y(se.y[i]) << " ";
        pts += pt.str();
      }
      flush();
    }
    for (std::size_t i = 0; i < se.x.size(); ++i)
      if (std::isfinite(se.x[i]) && std::isfinite(se.y[i]))
        o << "<circle cx=\"" << X(se.x[i]) << "\" cy=\"" << Y(se.y[i]) << "\" r=\"" << (se.line ? 3 : 3.5) << "\" fill=\""
          << colour(s) << "\" fill-opacity=\"0.75\"/>\n";
  }
  // legend: in the inside corner that covers the fewest data points, on a white box
  std::size_t labelled = 0, longest = 0;
  for (const auto& se : p.series)
    if (!se.label.empty()) ++labelled, longest = std::max(longest, se.label.size());
  if (labelled) {
    const double lw = 34 + 6.6 * static_cast<double>(longest), lh = 8 + 18 * static_cast<double>(labelled);
    double best_x = L + 6, best_y = T + 6;
    std::size_t best = SIZE_MAX;
    for (const double cx : {L + 6, W - R - 6 - lw})
      for (const double cy : {T + 6, H - B - 6 - lh}) {
        std::size_t covered = 0;
        for (const auto& se : p.series)
          for (std::size_t i = 0; i < se.x.size(); ++i) {
            const double px = X(se.x[i]), py = Y(se.y[i]);
            covered += px >= cx && px <= cx + lw && py >= cy && py <= cy + lh;
          }
        if (covered < best) best = covered, best_x = cx, best_y = cy;
      }
    o << "<rect x=\"" << best_x << "\" y=\"" << best_y << "\" width=\"" << lw << "\" height=\"" << lh
      << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
    std::size_t row = 0;
    for (std::size_t s = 0; s < p.series.size(); ++s) {
      if (p.series[s].label.empty()) continue;
      const double ly = best_y + 18 + 18 * static_cast<double>(row++);
      o << "<rect x=\"" << best_x + 8 << "\" y=\"" << ly - 10 << "\" width=\"12\" height=\"12\" fill=\"" << colour(s) << "\"/>"
        << "<text x=\"" << best_x + 26 << "\" y=\"" << ly << "\">" << esc(p.series[s].label) << "</text>\n";
    }
  }
  o << "</svg>\n";
  return o.str();
}

void write_svg(const std::string& path, const Plot& p) { write_file(path, render_svg(p)); }

}  // namespace inflab::cli
