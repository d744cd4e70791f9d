#include "datasets/batching.hpp"

#include "autodiff/tensor.hpp"
#include "datasets/split.hpp"

namespace inflab::data {

BatchIterator::BatchIterator(std::size_t n, std::size_t batch_size, std::uint64_t seed, bool shuffle,
                             bool drop_last)
    : n_(n), batch_(batch_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch_size == 0) throw Error("BatchIterator: batch size must be at least 1");
  if (n == 0) throw Error("BatchIterator: no rows to iterate over");
  if (drop_last && batch_size > n)
    throw Error("BatchIterator: batch size " + std::to_string(batch_size) + " exceeds " + std::to_string(n) +
                " rows and drop_last would leave no batch");
  reshuffle();
}

void BatchIterator::reshuffle() {
  if (shuffle_) {
    order_ = permutation(n_, seed_ * 0x9E3779B97F4A7C15ull + epoch_);
  } else {
    order_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) order_[i] = i;
  }
  pos_ = 0;
}

std::size_t BatchIterator::batches_per_epoch() const {
  return drop_last_ ? n_ / batch_ : (n_ + batch_ - 1) / batch_;
}

bool BatchIterator::next(std::vector<std::size_t>& rows) {
  rows.clear();
  const std::size_t left = n_ - pos_;
  if (left == 0 || (drop_last_ && left < batch_)) {
    ++epoch_;
    reshuffle();
    return false;
  }
  const std::size_t take = std::min(batch_, left);
  rows.assign(order_.begin() + static_cast<long>(pos_), order_.begin() + static_cast<long>(pos_ + take));
  pos_ += take;
  return true;
}

}  // namespace inflab::data
