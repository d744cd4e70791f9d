// Seeded shuffled mini-batches over n rows: every epoch visits each row exactly once,
// in an order fixed by (seed, epoch).
#pragma once
#include <cstdint>
#include <vector>

namespace inflab::data {

class BatchIterator {
 public:
  BatchIterator(std::size_t n, std::size_t batch_size, std::uint64_t seed, bool shuffle = true,
                bool drop_last = false);
  // The next batch's row indices; false (and no rows) at the end of the epoch, after
  // which the next call starts the next epoch.
  bool next(std::vector<std::size_t>& rows);
  std::size_t epoch() const { return epoch_; }
  std::size_t batches_per_epoch() const;

 private:
  void reshuffle();
  std::size_t n_, batch_;
  std::uint64_t seed_;
  bool shuffle_, drop_last_;
  std::size_t epoch_ = 0, pos_ = 0;
  std::vector<std::size_t> order_;
};

}  // namespace inflab::data
