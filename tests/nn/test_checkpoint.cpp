// Checkpoints: bit-exact round trips through model.json + .npy files, atomic writes, and
// one clear error for each kind of broken checkpoint.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/test_util.hpp"
#include "nn/builders.hpp"
#include "nn/checkpoint.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace inflab;
using inflab::test::error_of;
using namespace inflab::nn;
namespace fs = std::filesystem;

namespace {
bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
}  // namespace

TEST_CASE("round trip is bit-exact for every kind of layer") {
  inflab::test::TempDir t;
  for (const Model& m : {small_resnet(10, Activation::Gelu), small_cnn({1, 28, 28}, 10, Activation::Tanh),
                         small_vgg(10), mlp(4, 3, 5, Activation::Selu, 3), logistic_regression(7)}) {
    Tensor th = m.init(3);
    th(0) = 1.0 / 3.0;  // a value with a full mantissa
    const std::string dir = t.file("ck");
    save_checkpoint(dir, m, th);
    const Checkpoint c = load_checkpoint(dir);
    CHECK(bit_equal(c.theta, th));
    CHECK(c.model.summary() == m.summary());
    CHECK(fs::exists(fs::path(dir) / (m.params()[0].name + ".npy")));
  }
  // overwriting replaces the whole directory and leaves no temporary behind
  save_checkpoint(t.file("ck"), logistic_regression(2), logistic_regression(2).init(1));
  CHECK(load_checkpoint(t.file("ck")).theta.size() == 3);
  for (const auto& e : fs::directory_iterator(t.dir())) CHECK(e.path().filename() == "ck");
}

TEST_CASE("the .npy files are standard: float64, C order, PyTorch layout") {
  inflab::test::TempDir t;
  const Model m = mlp(3, 1, 2, Activation::Tanh, 2);
  Tensor th = m.init(1);
  save_checkpoint(t.file("ck"), m, th);
  std::ifstream f(t.file("ck/0.weight.npy"), std::ios::binary);
  std::string head(128, '\0');
  f.read(head.data(), 128);
  CHECK(head.substr(1, 5) == "NUMPY");
  CHECK(head.find("'descr': '<f8'") != std::string::npos);
  CHECK(head.find("'fortran_order': False") != std::string::npos);
  CHECK(head.find("'shape': (2, 3)") != std::string::npos);  // Linear weight [out, in]
}

TEST_CASE("broken checkpoints: missing files, wrong shape or dtype, unknown layer, foreign JSON") {
  inflab::test::TempDir t;
  const Model m = mlp(3, 1, 2, Activation::Tanh, 2);
  const std::string dir = t.file("ck");
  save_checkpoint(dir, m, m.init(1));
  CHECK(error_of([&] { load_checkpoint(t.file("nothing")); }).find("missing") != std::string::npos);
  fs::remove(fs::path(dir) / "2.bias.npy");
  std::string msg = error_of([&] { load_checkpoint(dir); });
  CHECK(msg.find("missing parameter file '2.bias.npy'") != std::string::npos);
  save_npy(dir + "/2.bias.npy", zeros({3}));
  msg = error_of([&] { load_checkpoint(dir); });
  CHECK(msg.find("'2.bias.npy' has shape [3], the architecture needs [2]") != std::string::npos);
  save_checkpoint(dir, m, m.init(1));
  std::ofstream(dir + "/0.bias.npy", std::ios::trunc) << "not numpy";
  CHECK(error_of([&] { load_checkpoint(dir); }).find("0.bias.npy") != std::string::npos);
  save_checkpoint(dir, m, m.init(1));
  {
    std::ifstream in(dir + "/model.json");
    std::string js((std::istreambuf_iterator<char>(in)), {});
    js.replace(js.find("\"Linear\""), 8, "\"Bilinear\"");
    std::ofstream(dir + "/model.json", std::ios::trunc) << js;
  }
  msg = error_of([&] { load_checkpoint(dir); });
  CHECK(msg.find("unknown layer kind 'Bilinear'") != std::string::npos);
  std::ofstream(dir + "/model.json", std::ios::trunc) << "{\"hello\": 1}";
  CHECK(error_of([&] { load_checkpoint(dir); }).find("not an inflab checkpoint") != std::string::npos);
  std::ofstream(dir + "/model.json", std::ios::trunc) << "{broken";
  CHECK(error_of([&] { load_checkpoint(dir); }).find("not valid JSON") != std::string::npos);
  CHECK(error_of([&] { save_checkpoint(dir, m, zeros({4})); }).find("expected") != std::string::npos);
}

namespace {
std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
void spit(const std::string& p, const std::string& bytes) { std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes; }
}  // namespace

TEST_CASE("load_npy refuses truncated, header-only, non-float64, Fortran-order and over-long .npy files") {
  inflab::test::TempDir t;
  const Model m = mlp(4, 1, 16, Activation::Tanh, 3);  // 0.weight [16, 4] = 512 bytes, 0.bias [16] = 128 bytes
  const std::string dir = t.file("ck");
  save_checkpoint(dir, m, m.init(7));
  const std::string w = dir + "/0.weight.npy", b = dir + "/0.bias.npy";
  const std::string good_w = slurp(w), good_b = slurp(b);
  const std::size_t w_head = good_w.size() - 512, b_head = good_b.size() - 128;

  spit(w, good_w.substr(0, w_head + 100));  // data cut short
  std::string msg = inflab::test::error_of([&] { load_checkpoint(dir); });
  INFO(msg);
  CHECK(msg.find("0.weight.npy") != std::string::npos);
  CHECK(msg.find("header says shape [16, 4] float64 = 512 bytes of data, the file holds 100") != std::string::npos);
  spit(w, good_w);

  spit(b, good_b.substr(0, b_head));  // header only
  msg = inflab::test::error_of([&] { load_checkpoint(dir); });
  CHECK(msg.find("0.bias.npy") != std::string::npos);
  CHECK(msg.find("header says shape [16] float64 = 128 bytes of data, the file holds 0") != std::string::npos);

  spit(b, good_b + std::string(8, '\0'));  // one value too many
  msg = inflab::test::error_of([&] { load_npy(b); });
  CHECK(msg.find("0.bias.npy") != std::string::npos);
  CHECK(msg.find("128 bytes of data, the file holds 136 (trailing bytes)") != std::string::npos);

  std::string f4 = good_b;
  f4.replace(f4.find("'<f8'"), 5, "'<f4'");
  spit(b, f4);
  msg = inflab::test::error_of([&] { load_npy(b); });
  CHECK(msg.find("0.bias.npy") != std::string::npos);
  CHECK(msg.find("dtype '<f4' is not little-endian float64") != std::string::npos);

  std::string fo = good_w;
  fo.replace(fo.find("False"), 5, "True ");
  spit(w, fo);
  msg = inflab::test::error_of([&] { load_npy(w); });
  CHECK(msg.find("0.weight.npy") != std::string::npos);
  CHECK(msg.find("fortran_order is True") != std::string::npos);

  spit(w, "\x93NUMP");
  CHECK(inflab::test::error_of([&] { load_npy(w); }).find("not a .npy file") != std::string::npos);

  // the intact files still load, bit for bit
  spit(w, good_w);
  spit(b, good_b);
  CHECK(load_checkpoint(dir).theta.size() == m.param_count());
}
