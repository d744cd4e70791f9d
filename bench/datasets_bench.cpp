// Loading benchmark (a program, not a test): the full Fashion-MNIST training set
// (60000 × 28 × 28) — gunzip only (the baseline: bytes off disk through zlib), parse into
// a Dataset, and per-pixel standardisation (fit + apply) — median of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench/timing.hpp"
#include "datasets/idx.hpp"
#include "datasets/transforms.hpp"

using namespace inflab;
using namespace inflab::data;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string dir = default_fashion_mnist_dir();
  std::size_t bytes = 0;
  const double t_gunzip = bench::median_seconds([&] {
    bytes = read_file(dir + "/train-images-idx3-ubyte.gz").size() + read_file(dir + "/train-labels-idx1-ubyte.gz").size();
  }, static_cast<std::size_t>(reps));
  Dataset d;
  const double t_load = bench::median_seconds([&] { d = load_fashion_mnist(Split::Train, dir); }, static_cast<std::size_t>(reps));
  Standardizer s;
  const double t_fit = bench::median_seconds([&] { s = Standardizer::fit(d); }, static_cast<std::size_t>(reps));
  const double t_apply = bench::median_seconds([&] { Dataset c = d; s.apply(c); }, static_cast<std::size_t>(reps));
  const double t_copy = bench::median_seconds([&] { Dataset c = d; }, static_cast<std::size_t>(reps));
  std::printf("Fashion-MNIST train: %zu images, %.1f MB decompressed, median of %d runs\n", d.size(), bytes / 1e6, reps);
  std::printf("| step | ms | vs gunzip only |\n|---|---|---|\n");
  std::printf("| gunzip only (zlib, baseline) | %.1f | 1.00 |\n", 1e3 * t_gunzip);
  std::printf("| load_fashion_mnist (gunzip + parse + validate) | %.1f | %.2f |\n", 1e3 * t_load, t_load / t_gunzip);
  std::printf("| Standardizer::fit (784 features) | %.1f | %.2f |\n", 1e3 * t_fit, t_fit / t_gunzip);
  std::printf("| copy + Standardizer::apply | %.1f (copy alone %.1f) | %.2f |\n", 1e3 * t_apply, 1e3 * t_copy, t_apply / t_gunzip);
  std::printf("| load + fit + apply | %.1f | %.2f |\n", 1e3 * (t_load + t_fit + t_apply - t_copy),
              (t_load + t_fit + t_apply - t_copy) / t_gunzip);
  return 0;
}
