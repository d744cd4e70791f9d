#include "datasets/cifar.hpp"

namespace inflab::data {

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> c = {"airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"};
  return c;
}

Dataset parse_cifar10(const unsigned char* data, std::size_t size, const std::string& source) {
  if (size == 0) throw Error(source + ": empty CIFAR-10 file");
  if (size % kCifarRecord)
    throw Error(source + ": " + std::to_string(size) + " bytes is not a whole number of " +
                std::to_string(kCifarRecord) + "-byte CIFAR-10 records (truncated or not CIFAR-10 binary)");
  const std::size_t n = size / kCifarRecord;
  Dataset d;
  d.name = source;
  d.class_names = cifar10_classes();
  d.X = Tensor::from_shape({n, std::size_t{3}, std::size_t{32}, std::size_t{32}});
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* rec = data + i * kCifarRecord;
    if (rec[0] >= 10)
      throw Error(source + ": label " + std::to_string(rec[0]) + " in record " + std::to_string(i) +
                  " out of range for 10 classes");
    d.y.push_back(rec[0]);
    for (std::size_t j = 0; j < kCifarRecord - 1; ++j) d.X.data()[i * (kCifarRecord - 1) + j] = rec[1 + j];
  }
  return d;
}

Dataset read_cifar10(const std::vector<std::string>& paths) {
  if (paths.empty()) throw Error("read_cifar10: no files given");
  std::vector<Dataset> parts;
  std::size_t n = 0;
  for (const auto& p : paths) {
    const auto bytes = read_file(p, "CIFAR-10 binary version: data_batch_1..5.bin and test_batch.bin");
    parts.push_back(parse_cifar10(bytes.data(), bytes.size(), p));
    n += parts.back().size();
  }
  Dataset d;
  d.name = parts.size() == 1 ? parts[0].name : "cifar10";
  d.class_names = cifar10_classes();
  d.X = Tensor::from_shape({n, std::size_t{3}, std::size_t{32}, std::size_t{32}});
  std::size_t off = 0;
  for (const auto& p : parts) {
    std::copy(p.X.data(), p.X.data() + p.X.size(), d.X.data() + off);
    off += p.X.size();
    d.y.insert(d.y.end(), p.y.begin(), p.y.end());
  }
  validate(d);
  return d;
}

Dataset load_cifar10(Split split, const std::string& dir) {
  std::vector<std::string> paths;
  if (split == Split::Test)
    paths.push_back(dir + "/test_batch.bin");
  else
    for (int i = 1; i <= 5; ++i) paths.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  Dataset d = read_cifar10(paths);
  d.name = split == Split::Train ? "cifar10/train" : "cifar10/test";
  return d;
}

}  // namespace inflab::data
