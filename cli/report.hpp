// index.html of a run directory: what the run was (the command that repeats it, the
// settings), what it found (the screen summary, warnings, scores from summary.json), the
// command's own sections (galleries, example tables), every plot inline, the first rows of
// every CSV with a link to the whole file, the study tables, and links to the other files.
// Self-contained and offline: inline CSS, no script, no network; pictures are the run's
// own files (or data: URIs inside them); prints on A4 (figures do not split across pages).
// Commands add only their own sections; the rest is found in the run directory.
#pragma once
#include <string>
#include <vector>

namespace inflab::cli {

class RunDir;

class Report {
 public:
  // A section of the command's own (html: already escaped), shown after the summary.
  void section(const std::string& heading, const std::string& html);
  // A picture file of the run directory, shown in the command's sections (not again among the plots).
  void figure(const std::string& file, const std::string& caption);
  // Writes rd/index.html; `screen` is the summary printed on screen.
  void write(const RunDir& rd, const std::string& title, const std::string& screen) const;

 private:
  struct Part {
    std::string heading, html, file;
  };
  std::vector<Part> parts_;
};

std::string html_escape(const std::string& s);
// A CSV file's first `rows` data rows as an HTML table (cells escaped); total: its row count.
std::string csv_table(const std::string& path, std::size_t rows, std::size_t* total = nullptr);

}  // namespace inflab::cli
