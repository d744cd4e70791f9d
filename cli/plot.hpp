// A small SVG plot writer: scatter and line series, linear axes with round ticks, an
// optional y = x line, a legend (inside, in a corner that covers no point; else to the
// right of the axes, widening the canvas, so it never covers data). Text is drawn as given
// except "Δ̂", which becomes "predicted Δ": a combining hat is lost at 12 px in many fonts. Our own instead of gnuplot: one more Debian package
// (and its fonts) for three plot kinds is more than 150 lines, and the output must be
// byte-for-byte repeatable for the run directory.
#pragma once
#include <string>
#include <vector>

namespace inflab::cli {

// Every member has a default, so an initialiser names only what it sets ({.label = …, .line = true}).
struct Series {
  std::string label = {};
  std::vector<double> x = {}, y = {};
  bool line = false;  // joined by lines (in x order given) instead of points
  std::string colour = {};  // "" : the palette's next colour
  bool dashed = false;  // a dashed line (pairs of series: same colour, solid and dashed)
  bool dotted = false;  // a dotted line (a third member of such a family)
  std::vector<double> lo = {}, hi = {};  // optional vertical bars from lo[i] to hi[i] at x[i] (an interval)
};

struct Plot {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool diagonal = false;  // draw y = x across the visible range
};

std::string render_svg(const Plot& p);
// Writes render_svg(p) to path (atomically); Error if it cannot.
void write_svg(const std::string& path, const Plot& p);

}  // namespace inflab::cli
