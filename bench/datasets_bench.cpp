// Loading benchmark (a program, not a test): the full Fashion-MNIST training set
// (60000 × 28 × 28) — gunzip only (the baseline: bytes off disk through zlib), parse into
// a Dataset, and per-pixel standardisation (fit + apply) — median of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "datasets/idx.hpp"
#include "datasets/transforms.hpp"

using namespace inflab;
using namespace inflab::data;

namespace {
template <class F>
double median_seconds(F f, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const std::string dir = default_fashion_mnist_dir();
  std::size_t bytes = 0;
  const double t_gunzip = median_seconds([&] {
    bytes = read_file(dir + "/train-images-idx3-ubyte.gz").size() + read_file(dir + "/train-labels-idx1-ubyte.gz").size();
  }, reps);
  Dataset d;
  const double t_load = median_seconds([&] { d = load_fashion_mnist(Split::Train, dir); }, reps);
  Standardizer s;
  const double t_fit = median_seconds([&] { s = Standardizer::fit(d); }, reps);
  const double t_apply = median_seconds([&] { Dataset c = d; s.apply(c); }, reps);
  const double t_copy = median_seconds([&] { Dataset c = d; }, reps);
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
