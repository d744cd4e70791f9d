#include "cli/gallery.hpp"

#include <algorithm>
#include <sstream>

#include "cli/common.hpp"
#include "cli/image.hpp"
#include "cli/report.hpp"
#include "cli/run_dir.hpp"

namespace inflab::cli {

namespace ex = experiments;

Tile train_tile(const ex::Problem& p, std::size_t i, const std::string& list, std::size_t rank, double predicted, double actual,
                const std::string& status) {
  Tile t{false, i, p.train.source_row(i), {list + " #" + std::to_string(rank), "label " + label_of(p.train, i)}, predicted, actual, ""};
  if (std::isfinite(predicted)) t.lines.push_back("Δ̂ " + fmt("%+.3g", predicted));
  // a retrain that did not end at a minimum says so beside its Δ
  if (std::isfinite(actual))
    t.lines.push_back("Δ " + fmt("%+.3g", actual) + " retrained" + (status.empty() || status == "converged" ? "" : " (" + status + ")"));
  return t;
}

Tile test_tile(const ex::Problem& p, std::size_t t) {
  const data::Dataset one = data::subset(p.test, {t});
  const std::size_t pred = p.obj->predict(p.theta, one).at(0);
  return {.test = true, .row = t, .source_row = p.test.source_row(t), .lines = {"test row " + std::to_string(t), "label " + label_of(p.test, t), "predicted " + p.test.class_names.at(pred)}};
}

Gallery influence_gallery(const ex::Problem& p, std::size_t t, const Tensor& predicted, std::size_t show, const std::vector<double>& actual,
                          const std::vector<std::string>& status) {
  const std::size_t src = p.test.source_row(t);
  Gallery g{"Test row " + std::to_string(t) + " (source row " + std::to_string(src) + ") and the training rows that helped and hurt it most",
            {{"test point", "#1f77b4", {test_tile(p, t)}}}};
  for (const bool helpful : {true, false}) {
    Strip s{helpful ? "most helpful: removing the row is predicted to raise the test loss (predicted Δ > 0)"
                    : "most harmful: removing the row is predicted to lower the test loss (predicted Δ < 0)",
            helpful ? "#2ca02c" : "#d62728", {}};
    const auto tk = ex::top_k(predicted, show, helpful);
    for (std::size_t r = 0; r < tk.size(); ++r)
      s.tiles.push_back(train_tile(p, tk[r].index, helpful ? "helpful" : "harmful", r + 1, tk[r].value,
                                   tk[r].index < actual.size() ? actual[tk[r].index] : NAN,
                                   tk[r].index < status.size() ? status[tk[r].index] : ""));
    if (tk.empty()) s.heading += " — no row has this sign";
    g.strips.push_back(s);
  }
  return g;
}

Gallery ranking_gallery(const ex::Problem& p, const std::vector<std::size_t>& ranked, const Tensor& score, const std::vector<bool>& flipped,
                        const std::vector<std::size_t>& true_labels, std::size_t show) {
  Gallery g{"The " + std::to_string(std::min(show, ranked.size())) + " training rows with the largest self-influence, with their given labels", {}};
  for (std::size_t r = 0; r < std::min(show, ranked.size()); ++r) {
    const std::size_t last = std::min({r + 10, show, ranked.size()});
    if (r % 10 == 0) g.strips.push_back({"ranks " + std::to_string(r + 1) + "–" + std::to_string(last) + " (red frame: a flipped label)", "#555", {}});
    const std::size_t i = ranked[r];
    Tile t{false, i, p.train.source_row(i), {"rank " + std::to_string(r + 1), "given " + label_of(p.train, i)}, score(i), NAN,
           flipped[i] ? "#d62728" : ""};
    t.lines.push_back(flipped[i] ? "flipped; was " + p.train.class_names.at(true_labels[i]) : "label as in the file");
    t.lines.push_back("self-inf. " + fmt("%.3g", score(i)));
    g.strips.back().tiles.push_back(t);
  }
  return g;
}

Examples::Examples(const ex::ProblemSpec& spec) : train_(ex::load_source(spec, true)), test_(ex::load_source(spec, false)) {
  if (pictures() && train_.X.size()) {
    lo_ = *std::min_element(train_.X.begin(), train_.X.end());
    hi_ = *std::max_element(train_.X.begin(), train_.X.end());
  }
}

namespace {
constexpr double kLine = 14, kHead = 22, kPad = 10;
// one caption line; "Δ̂ …" is drawn as Δ with a chevron above it (a combining circumflex is
// lost or misplaced by many fonts at this size)
std::string caption_line(double x, double y, const std::string& line) {
  std::ostringstream o;
  const std::string hat = "Δ̂";
  if (line.rfind(hat, 0) == 0) {
    o << "<text x=\"" << x << "\" y=\"" << y << "\">Δ" << html_escape(line.substr(hat.size())) << "</text>"
      << "<path d=\"M" << x + 1.2 << "," << y - 9.6 << " l2.6,-2.6 l2.6,2.6\" fill=\"none\" stroke=\"#222\" stroke-width=\"1\"/>\n";
  } else {
    o << "<text x=\"" << x << "\" y=\"" << y << "\">" << html_escape(line) << "</text>\n";
  }
  return o.str();
}
std::string attr(double v) { return std::isfinite(v) ? CsvLog::cell(v) : "nan"; }
}  // namespace

std::string Examples::svg(const Gallery& g) const {
  const std::size_t side = train_.X.shape(2), scale = upscale_factor(side);
  const double px = static_cast<double>(side * scale), cw = std::max(px, 112.0) + 12;
  std::size_t most = 1, lines = 1;
  for (const auto& s : g.strips) {
    most = std::max(most, s.tiles.size());
    for (const auto& t : s.tiles) lines = std::max(lines, t.lines.size() + 1);
  }
  const double sh = kHead + px + 8 + kLine * static_cast<double>(lines) + kPad;
  const double W = 2 * kPad + cw * static_cast<double>(most), H = 36 + sh * static_cast<double>(g.strips.size());
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " " << H
    << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << kPad << "\" y=\"22\" font-size=\"14\" font-weight=\"bold\">" << html_escape(g.title) << "</text>\n";
  double y = 36;
  for (const auto& s : g.strips) {
    o << "<text x=\"" << kPad << "\" y=\"" << y + 15 << "\" font-size=\"12\" fill=\"" << s.colour << "\">" << html_escape(s.heading) << "</text>\n";
    for (std::size_t k = 0; k < s.tiles.size(); ++k) {
      const Tile& t = s.tiles[k];
      const double x = kPad + cw * static_cast<double>(k), iy = y + kHead;
      const Image img = picture((t.test ? test_ : train_).X, t.source_row, lo_, hi_, scale);
      o << "<g class=\"tile\" data-split=\"" << (t.test ? "test" : "train") << "\" data-row=\"" << t.row << "\" data-source-row=\"" << t.source_row
        << "\" data-value=\"" << attr(t.value) << "\" data-actual=\"" << attr(t.actual) << "\">\n"
        << "<image x=\"" << x << "\" y=\"" << iy << "\" width=\"" << img.width << "\" height=\"" << img.height
        << "\" style=\"image-rendering:pixelated\" href=\"" << png_data_uri(img) << "\"/>\n"
        << "<rect x=\"" << x - 1.5 << "\" y=\"" << iy - 1.5 << "\" width=\"" << img.width + 3 << "\" height=\"" << img.height + 3
        << "\" fill=\"none\" stroke=\"" << (t.colour.empty() ? s.colour : t.colour) << "\" stroke-width=\"3\"/>\n";
      std::vector<std::string> cap = t.lines;
      cap.push_back("source row " + std::to_string(t.source_row));
      for (std::size_t l = 0; l < cap.size(); ++l) o << caption_line(x, iy + px + 16 + kLine * static_cast<double>(l), cap[l]);
      o << "</g>\n";
    }
    y += sh;
  }
  o << "</svg>\n";
  return o.str();
}

std::string Examples::table(const Gallery& g) const {
  std::ostringstream o;
  o << "<table><tr><th>caption</th><th>split</th><th>row</th><th>source row</th>";
  for (std::size_t f = 0; f < train_.X.shape(1); ++f)
    o << "<th>" << html_escape(f < train_.feature_names.size() ? train_.feature_names[f] : "x" + std::to_string(f)) << "</th>";
  o << "</tr>\n";
  for (const auto& s : g.strips) {
    o << "<tr><td colspan=\"" << 4 + train_.X.shape(1) << "\" class=\"strip\" style=\"color:" << s.colour << "\">" << html_escape(s.heading) << "</td></tr>\n";
    for (const auto& t : s.tiles) {
      std::string cap;
      for (const auto& l : t.lines) cap += (cap.empty() ? "" : "; ") + l;
      o << "<tr><td class=\"key\">" << html_escape(cap) << "</td><td>" << (t.test ? "test" : "train") << "</td><td>" << t.row << "</td><td>" << t.source_row << "</td>";
      const data::Dataset& d = t.test ? test_ : train_;
      for (std::size_t f = 0; f < d.X.shape(1); ++f) o << "<td>" << fmt("%.4g", d.X(t.source_row, f)) << "</td>";
      o << "</tr>\n";
    }
  }
  o << "</table>\n";
  return o.str();
}

void Examples::render(const Gallery& g, const RunDir& rd, const std::string& file, Report& r) const {
  if (pictures()) {
    write_file(rd.path(file + ".svg"), svg(g));
    r.figure(file + ".svg", g.title);
  } else {
    r.section(g.title, "<p>Feature values as in the dataset file (row source_row), before standardisation.</p>\n" + table(g));
  }
}

}  // namespace inflab::cli
