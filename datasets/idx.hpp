// IDX files (the MNIST family): magic 0 0 <type> <rank>, rank big-endian uint32 sizes,
// then the values big-endian. Raw or gzip-compressed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace inflab::data {

struct IdxArray {
  std::uint8_t type = 0;  // 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
  Shape dims;
  Tensor values;          // shape dims, decoded to double
};

// Validates the magic number, type, rank and that the sizes match the byte count.
IdxArray parse_idx(const unsigned char* data, std::size_t size, const std::string& source = "<idx>");
IdxArray read_idx(const std::string& path);

enum class Split { Train, Test };

// Images [n, 1, H, W] with raw pixel values and labels in [0, classes) from an IDX pair.
Dataset load_idx_images(const std::string& images_path, const std::string& labels_path,
                        const std::vector<std::string>& class_names, const std::string& name);

// Fashion-MNIST from `dir`, default $INFLAB_FASHION_MNIST or Debian's
// /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).
std::string default_fashion_mnist_dir();
Dataset load_fashion_mnist(Split split, const std::string& dir = default_fashion_mnist_dir());
// Classic MNIST from a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
Dataset load_mnist(Split split, const std::string& dir);

}  // namespace inflab::data
