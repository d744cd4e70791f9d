// Seeded selections of rows: stratified train/test splits, class subsets, n per class,
// first or random n. Every selection keeps the original row order within its result
// unless it is random by nature.
#pragma once
#include <cstdint>
#include <functional>

#include "datasets/dataset.hpp"

namespace inflab::data {

struct TrainTest {
  Dataset train = {}, test = {};
  std::vector<std::size_t> train_rows = {}, test_rows = {};  // indices into the input
};

// Each class contributes round(test_fraction · its count) rows to test (at least one row
// stays in train). Deterministic in `seed`.
TrainTest stratified_split(const Dataset& d, double test_fraction, std::uint64_t seed);

// Rows of the given classes; with relabel, classes become 0..k−1 in the order given.
Dataset select_classes(const Dataset& d, const std::vector<std::size_t>& classes, bool relabel = true);

// n random rows of every class (error naming the class if it has fewer).
Dataset per_class(const Dataset& d, std::size_t n, std::uint64_t seed);

Dataset first_n(const Dataset& d, std::size_t n);
Dataset random_n(const Dataset& d, std::size_t n, std::uint64_t seed);  // without replacement

// f(first row, rows) for consecutive batches of at most `size` rows (0: one batch, which is d
// itself, not a copy).
void for_row_batches(const Dataset& d, std::size_t size, const std::function<void(std::size_t, const Dataset&)>& f);

// A seeded permutation of 0..n−1 (Fisher–Yates over mt19937_64, portable).
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed);

}  // namespace inflab::data
