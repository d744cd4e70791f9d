// CIFAR-10 binary format: records of 1 label byte + 3072 pixel bytes (1024 red, 1024
// green, 1024 blue, each 32×32 row-major) — so a record is already CHW.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "datasets/idx.hpp"

namespace inflab::data {

constexpr std::size_t kCifarRecord = 1 + 3 * 32 * 32;

const std::vector<std::string>& cifar10_classes();
// X [n, 3, 32, 32] with raw values 0..255; validates the size and every label.
Dataset parse_cifar10(const unsigned char* data, std::size_t size, const std::string& source = "<cifar>");
Dataset read_cifar10(const std::vector<std::string>& paths);
// data_batch_1..5.bin (train) or test_batch.bin (test) from `dir`.
Dataset load_cifar10(Split split, const std::string& dir);

}  // namespace inflab::data
