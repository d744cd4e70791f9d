// Influential examples as people look at them: for image data, an SVG gallery per test point
// (each picture a PNG data: URI upscaled by nearest neighbour, with its caption as text, so
// one file shows pictures and numbers and renders crisply in a browser and in rsvg); for
// tabular data, an HTML table of the same rows with their feature values as in the dataset
// file (before standardisation). The pixels and feature values come from the dataset file's
// row source_row (experiments::load_source), never from the model's transformed inputs.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "influence/influence.hpp"
#include "experiments/problem.hpp"

namespace inflab::cli {

class Report;
class RunDir;

struct Tile {
  bool test = false;               // a row of the test split (else of the training split)
  std::size_t row = 0, source_row = 0;
  std::vector<std::string> lines = {};  // caption; a line starting with "Δ̂" gets a drawn hat
  double value = NAN, actual = NAN;  // the numbers captioned (data-value, data-actual)
  std::string colour = {};           // its frame; "" : the strip's
};
struct Strip {
  std::string heading;
  std::string colour;  // frame of its pictures
  std::vector<Tile> tiles;
};
struct Gallery {
  std::string title;
  std::vector<Strip> strips;
};

// A training row's tile: "<list> #rank", its label, Δ̂ and (when finite) the retrained Δ.
Tile train_tile(const experiments::Problem& p, std::size_t i, const std::string& list, std::size_t rank, double predicted, double actual = NAN,
                const std::string& status = "");
// The test point: its label and the model's prediction.
Tile test_tile(const experiments::Problem& p, std::size_t t);
// Test point, then the top helpful and top harmful rows (at most `show` each) of Δ̂ [n];
// actual(i): the retrained Δ of row i, NaN where none; status(i): its retrain status ("" none).
Gallery influence_gallery(const experiments::Problem& p, std::size_t t, const Tensor& predicted, std::size_t show,
                          const std::vector<double>& actual = {}, const std::vector<std::string>& status = {});

// The `show` training rows ranked first (rows in rank order) by a score (self-influence),
// with their given label and whether it was flipped (flipped[i]; true_label(i) otherwise).
Gallery ranking_gallery(const experiments::Problem& p, const std::vector<std::size_t>& ranked, const Tensor& score, const std::vector<bool>& flipped,
                        const std::vector<std::size_t>& true_labels, std::size_t show);

class Examples {
 public:
  explicit Examples(const experiments::ProblemSpec& spec);  // reads the dataset file(s)
  bool pictures() const { return train_.X.dimension() == 4; }
  std::string svg(const Gallery& g) const;
  std::string table(const Gallery& g) const;  // HTML
  // Pictures: writes `file`.svg and adds it to the report; tables: a report section.
  void render(const Gallery& g, const RunDir& rd, const std::string& file, Report& r) const;

 private:
  data::Dataset train_, test_;
  double lo_ = 0, hi_ = 1;  // the pixel range of the file
};

}  // namespace inflab::cli
