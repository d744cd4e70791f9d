// A dataset in memory: inputs X [n, ...sample shape] and either class labels y (with
// class names) or regression targets. Every loader returns one, fully validated.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace inflab::data {

struct Dataset {
  std::string name;
  Tensor X;                                // [n, ...]: tabular [n, d], images [n, C, H, W]
  std::vector<std::size_t> y;              // class labels in [0, classes); empty for regression
  std::vector<std::string> class_names;    // one per class
  Tensor targets;                          // regression targets [n] (when y is empty)
  std::vector<std::string> feature_names;  // tabular data only (may be empty)
  // Provenance: row i of this dataset is row source_rows[i] of the file it was loaded from
  // (empty: the identity, as loaders return). subset() and every split keep it.
  std::vector<std::size_t> source_rows;

  std::size_t source_row(std::size_t i) const { return source_rows.empty() ? i : source_rows.at(i); }

  std::size_t size() const;                // n
  std::size_t num_classes() const { return class_names.size(); }
  bool is_classification() const { return !class_names.empty(); }
  Shape sample_shape() const;              // shape of one X row
  std::vector<std::size_t> class_counts() const;
};

// "name n=N hash": the data a result depends on (inputs, labels or targets, class names),
// for resume checks and for telling a rebuilt dataset from the one a checkpoint saw.
std::string fingerprint(const Dataset& d);

// Throws Error (naming the dataset) if X, y, targets and class names disagree.
void validate(const Dataset& d);

// Rows by index, in the given order (duplicates allowed). Influence needs "all but i".
Dataset subset(const Dataset& d, const std::vector<std::size_t>& rows);
Dataset all_but(const Dataset& d, std::size_t row);

// The class labels y as doubles [n] (to write beside X, e.g. as .npy for another program).
Tensor labels_as_tensor(const Dataset& d);

// The whole file as bytes; paths ending in .gz are decompressed (zlib). A missing file
// names the path tried and, if given, how to get the data.
std::vector<unsigned char> read_file(const std::string& path, const std::string& how_to_get = "");

}  // namespace inflab::data
