#include "datasets/idx.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace inflab::data {

namespace {
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::size_t elem_size(std::uint8_t t) {
  switch (t) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}
double decode(std::uint8_t t, const unsigned char* p) {
  switch (t) {
    case 0x08: return p[0];
    case 0x09: return static_cast<std::int8_t>(p[0]);
    case 0x0B: return static_cast<std::int16_t>((p[0] << 8) | p[1]);
    case 0x0C: return static_cast<std::int32_t>(be32(p));
    case 0x0D: { std::uint32_t u = be32(p); float f; std::memcpy(&f, &u, 4); return f; }
    default: {
      std::uint64_t u = (std::uint64_t(be32(p)) << 32) | be32(p + 4);
      double d; std::memcpy(&d, &u, 8); return d;
    }
  }
}
bool exists(const std::string& p) { return std::ifstream(p).good(); }
// prefer the .gz file, accept the raw one
std::string pick(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  if (exists(gz) || !exists(dir + "/" + stem)) return gz;
  return dir + "/" + stem;
}
}  // namespace

IdxArray parse_idx(const unsigned char* data, std::size_t size, const std::string& source) {
  if (size < 4) throw Error(source + ": too short for an IDX header (" + std::to_string(size) + " bytes)");
  if (data[0] != 0 || data[1] != 0)
    throw Error(source + ": wrong magic number (first bytes " + std::to_string(data[0]) + " " +
                std::to_string(data[1]) + ", expected 0 0): not an IDX file");
  IdxArray a;
  a.type = data[2];
  const std::size_t es = elem_size(a.type);
  if (!es) throw Error(source + ": unknown IDX data type 0x" + [&] { char b[8]; std::snprintf(b, sizeof b, "%02X", a.type); return std::string(b); }());
  const std::size_t rank = data[3];
  if (rank == 0 || rank > 4) throw Error(source + ": IDX rank " + std::to_string(rank) + " (expected 1 to 4)");
  const std::size_t header = 4 + 4 * rank;
  if (size < header) throw Error(source + ": truncated IDX header (" + std::to_string(size) + " bytes)");
  // Bound the product of the non-zero sizes too: a zero size makes the count 0, but the
  // strides of the remaining axes are still products of them (found by fuzz_idx).
  std::size_t count = 1, extent = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t d = be32(data + 4 + 4 * i);
    a.dims.push_back(d);
    if (d && extent > (std::size_t(1) << 40) / d)
      throw Error(source + ": IDX sizes " + shape_str(a.dims) + (i + 1 < rank ? "…" : "") + " are implausibly large");
    if (d) extent *= d;
    count *= d;
  }
  const std::size_t want = header + count * es;
  if (size != want)
    throw Error(source + ": IDX sizes " + shape_str(a.dims) + " need " + std::to_string(want) +
                " bytes but the file has " + std::to_string(size) + (size < want ? " (truncated)" : " (trailing bytes)"));
  a.values = Tensor::from_shape(a.dims);
  double* out = a.values.data();
  const unsigned char* in = data + header;
  if (a.type == 0x08)  // the common case (all of MNIST): a tight loop
    for (std::size_t i = 0; i < count; ++i) out[i] = in[i];
  else
    for (std::size_t i = 0; i < count; ++i) out[i] = decode(a.type, in + i * es);
  return a;
}

IdxArray read_idx(const std::string& path) {
  const auto bytes = read_file(path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

Dataset load_idx_images(const std::string& images_path, const std::string& labels_path,
                        const std::vector<std::string>& class_names, const std::string& name) {
  IdxArray im = read_idx(images_path);
  const IdxArray lb = read_idx(labels_path);
  if (im.dims.size() != 3)
    throw Error(images_path + ": expected images [n, rows, cols], got IDX sizes " + shape_str(im.dims));
  if (lb.dims.size() != 1)
    throw Error(labels_path + ": expected labels [n], got IDX sizes " + shape_str(lb.dims));
  if (im.dims[0] != lb.dims[0])
    throw Error(name + ": " + std::to_string(im.dims[0]) + " images in " + images_path + " but " +
                std::to_string(lb.dims[0]) + " labels in " + labels_path);
  Dataset d;
  d.name = name;
  d.class_names = class_names;
  d.X = std::move(im.values);  // no copy: [n, H, W] becomes [n, 1, H, W]
  d.X.reshape({im.dims[0], std::size_t{1}, im.dims[1], im.dims[2]});
  for (std::size_t i = 0; i < lb.values.size(); ++i) {
    const double v = lb.values.data()[i];
    if (v < 0 || v >= static_cast<double>(class_names.size()) || v != static_cast<double>(static_cast<std::size_t>(v)))
      throw Error(labels_path + ": label " + std::to_string(v) + " at index " + std::to_string(i) +
                  " out of range for " + std::to_string(class_names.size()) + " classes");
    d.y.push_back(static_cast<std::size_t>(v));
  }
  validate(d);
  return d;
}

std::string default_fashion_mnist_dir() {
  if (const char* env = std::getenv("INFLAB_FASHION_MNIST")) return env;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(Split split, const std::string& dir) {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  const std::string pre = split == Split::Train ? "train" : "t10k";
  const std::string im = pick(dir, pre + "-images-idx3-ubyte"), lb = pick(dir, pre + "-labels-idx1-ubyte");
  if (!exists(im))
    throw Error("Fashion-MNIST not found: cannot read '" + im +
                "' (install Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist, "
                "or set INFLAB_FASHION_MNIST to a directory with the four IDX files)");
  return load_idx_images(im, lb, names, split == Split::Train ? "fashion-mnist/train" : "fashion-mnist/test");
}

Dataset load_mnist(Split split, const std::string& dir) {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  const std::string pre = split == Split::Train ? "train" : "t10k";
  const std::string im = pick(dir, pre + "-images-idx3-ubyte"), lb = pick(dir, pre + "-labels-idx1-ubyte");
  if (!exists(im))
    throw Error("MNIST not found: cannot read '" + im + "' (put the four MNIST IDX files, raw or .gz, in that directory)");
  return load_idx_images(im, lb, names, split == Split::Train ? "mnist/train" : "mnist/test");
}

}  // namespace inflab::data
