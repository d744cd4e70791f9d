#include "cli/plot.hpp"

#include "cli/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "cli/run_dir.hpp"

namespace inflab::cli {

namespace {
const char* dash_attr(const Series& se) {
  return se.dotted ? " stroke-dasharray=\"2,3\"" : se.dashed ? " stroke-dasharray=\"7,4\"" : "";
}
}  // namespace

namespace {
constexpr double W = 640, H = 480, L = 78, R = 20, T = 44, B = 58;  // canvas and margins
const char* colour(std::size_t i) {
  static const char* c[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"};
  return c[i % 7];
}
// text for SVG: "Δ̂" spelled out (a combining hat renders badly at plot size), then escaped
std::string esc(const std::string& text) {
  std::string s = text;
  for (std::size_t k; (k = s.find("Δ̂")) != std::string::npos;) s.replace(k, std::string("Δ̂").size(), "predicted Δ");
  return html_escape(s);
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
    for (const auto* vs : {xaxis ? &s.x : &s.y, xaxis ? &s.x : &s.lo, xaxis ? &s.x : &s.hi})
      for (double v : *vs)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-300 + 1e-12 * std::fabs(hi)) lo -= 0.5 + std::fabs(lo) * 0.05, hi += 0.5 + std::fabs(hi) * 0.05;
  const double pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;
}
}  // namespace

namespace {
std::string colour_of(const Series& se, std::size_t s) { return se.colour.empty() ? colour(s) : se.colour; }

struct Frame {  // data → canvas coordinates
  double x0, x1, y0, y1;
  double X(double v) const { return L + (v - x0) / (x1 - x0) * (W - L - R); }
  double Y(double v) const { return H - B - (v - y0) / (y1 - y0) * (H - T - B); }
};

void draw_series(std::ostream& o, const Frame& f, const Series& se, std::size_t s) {
  const std::string c = colour_of(se, s);
  if (se.line) {  // a non-finite y breaks the line: a gap, not a bridge over missing values
    std::string pts;
    auto flush = [&] {
      if (!pts.empty())
        o << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\"" << dash_attr(se)
          << " points=\"" << pts << "\"/>\n";
      pts.clear();
    };
    for (std::size_t i = 0; i < se.x.size(); ++i) {
      if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) { flush(); continue; }
      std::ostringstream pt;
      pt << f.X(se.x[i]) << "," << f.Y(se.y[i]) << " ";
      pts += pt.str();
    }
    flush();
  }
  for (std::size_t i = 0; i < se.x.size() && i < se.lo.size() && i < se.hi.size(); ++i)
    if (std::isfinite(se.x[i]) && std::isfinite(se.lo[i]) && std::isfinite(se.hi[i])) {
      const double x = f.X(se.x[i]), a = f.Y(se.lo[i]), b = f.Y(se.hi[i]);
      o << "<path d=\"M" << x << "," << a << "V" << b << "M" << x - 4 << "," << a << "h8M" << x - 4 << "," << b << "h8\" stroke=\"" << c
        << "\" stroke-width=\"1.5\" stroke-opacity=\"0.7\" fill=\"none\"/>\n";
    }
  for (std::size_t i = 0; i < se.x.size(); ++i)
    if (std::isfinite(se.x[i]) && std::isfinite(se.y[i]))
      o << "<circle cx=\"" << f.X(se.x[i]) << "\" cy=\"" << f.Y(se.y[i]) << "\" r=\"" << (se.line ? 3 : 3.5) << "\" fill=\"" << c
        << "\" fill-opacity=\"0.75\"/>\n";
}

// does the box cover a point, or a segment of a line series (sampled along it)?
bool covers(const Plot& p, const Frame& f, double cx, double cy, double lw, double lh) {
  auto in = [&](double px, double py) { return px >= cx - 4 && px <= cx + lw + 4 && py >= cy - 4 && py <= cy + lh + 4; };
  for (const auto& se : p.series)
    for (std::size_t i = 0; i < se.x.size(); ++i) {
      if (in(f.X(se.x[i]), f.Y(se.y[i]))) return true;
      if (i < se.lo.size() && i < se.hi.size() && std::isfinite(se.lo[i]) && std::isfinite(se.hi[i]))  // an interval bar
        for (double u = 0; u <= 1; u += 0.05)
          if (in(f.X(se.x[i]), f.Y(se.lo[i] + u * (se.hi[i] - se.lo[i])))) return true;
      if (se.line && i + 1 < se.x.size())
        for (double u = 0.05; u < 1; u += 0.05)
          if (in(f.X(se.x[i] + u * (se.x[i + 1] - se.x[i])), f.Y(se.y[i] + u * (se.y[i + 1] - se.y[i])))) return true;
    }
  return false;
}

// the legend; returns the extra canvas width it needed (0 when it fits inside)
double draw_legend(std::ostream& o, const Plot& p, const Frame& f) {
  std::size_t labelled = 0, longest = 0;
  for (const auto& se : p.series)
    if (!se.label.empty()) ++labelled, longest = std::max(longest, se.label.size());
  if (!labelled) return 0;
  const double lw = 40 + 6.6 * static_cast<double>(longest), lh = 8 + 18 * static_cast<double>(labelled);
  double bx = W + 8, by = T, extra = lw + 16;
  for (const double cx : {L + 6, W - R - 6 - lw})
    for (const double cy : {T + 6, H - B - 6 - lh})
      if (extra > 0 && !covers(p, f, cx, cy, lw, lh)) bx = cx, by = cy, extra = 0;
  o << "<rect x=\"" << bx << "\" y=\"" << by << "\" width=\"" << lw << "\" height=\"" << lh << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  std::size_t row = 0;
  for (std::size_t s = 0; s < p.series.size(); ++s) {
    const Series& se = p.series[s];
    if (se.label.empty()) continue;
    const double ly = by + 18 + 18 * static_cast<double>(row++);
    if (se.line)
      o << "<line x1=\"" << bx + 6 << "\" y1=\"" << ly - 4 << "\" x2=\"" << bx + 30 << "\" y2=\"" << ly - 4 << "\" stroke=\"" << colour_of(se, s)
        << "\" stroke-width=\"2\"" << dash_attr(se) << "/>";
    else
      o << "<rect x=\"" << bx + 12 << "\" y=\"" << ly - 10 << "\" width=\"12\" height=\"12\" fill=\"" << colour_of(se, s) << "\"/>";
    o << "<text x=\"" << bx + 34 << "\" y=\"" << ly << "\">" << esc(se.label) << "</text>\n";
  }
  return extra;
}
}  // namespace

std::string render_svg(const Plot& p) {
  Frame f{};
  range(p, true, f.x0, f.x1);
  range(p, false, f.y0, f.y1);
  if (p.diagonal) {  // one square range so y = x is the 45° line of the data
    const double lo = std::min(f.x0, f.y0), hi = std::max(f.x1, f.y1);
    f.x0 = f.y0 = lo, f.x1 = f.y1 = hi;
  }
  std::ostringstream o;
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::size_t chars = 0;  // UTF-8 characters: a long title gets a smaller font, not clipped
  for (unsigned char ch : p.title) chars += (ch & 0xC0) != 0x80;
  const double title_size = std::min(15.0, (W - 16) / (0.6 * static_cast<double>(std::max<std::size_t>(chars, 1))));
  o << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"" << num(title_size) << "\">" << esc(p.title) << "</text>\n";
  for (double t : ticks(f.x0, f.x1))
    o << "<line x1=\"" << f.X(t) << "\" y1=\"" << T << "\" x2=\"" << f.X(t) << "\" y2=\"" << H - B << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << f.X(t) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << num(t) << "</text>\n";
  for (double t : ticks(f.y0, f.y1))
    o << "<line x1=\"" << L << "\" y1=\"" << f.Y(t) << "\" x2=\"" << W - R << "\" y2=\"" << f.Y(t) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << L - 6 << "\" y=\"" << f.Y(t) + 4 << "\" text-anchor=\"end\">" << num(t) << "</text>\n";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B << "\" fill=\"none\" stroke=\"black\"/>\n";
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 14 << "\" text-anchor=\"middle\">" << esc(p.xlabel) << "</text>\n";
  o << "<text transform=\"translate(18," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << esc(p.ylabel) << "</text>\n";
  if (p.diagonal)
    o << "<line x1=\"" << f.X(f.x0) << "\" y1=\"" << f.Y(f.x0) << "\" x2=\"" << f.X(f.x1) << "\" y2=\"" << f.Y(f.x1)
      << "\" stroke=\"#777\" stroke-dasharray=\"6,4\"/>\n";
  for (std::size_t s = 0; s < p.series.size(); ++s) draw_series(o, f, p.series[s], s);
  const double width = W + draw_legend(o, p, f);
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << H << "\" viewBox=\"0 0 " << width << " " << H
      << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n" << o.str() << "</svg>\n";
  return svg.str();
}

void write_svg(const std::string& path, const Plot& p) { write_file(path, render_svg(p)); }

}  // namespace inflab::cli
