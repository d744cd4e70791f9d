// Loaders on the real bundled/installed files and on small generated ones, including
// every bad input: one clear Error each, naming the file (and line/column or index).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "tests/test_util.hpp"
#include "datasets/cifar.hpp"
#include "datasets/csv.hpp"
#include "datasets/idx.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace inflab;
using inflab::test::error_of;
using namespace inflab::data;
using inflab::test::TempDir;
using inflab::test::idx_u8;

namespace {
#define CHECK_ERROR(expr, ...)                                         \
  do {                                                                 \
    const std::string msg_ = error_of([&] { (void)(expr); });          \
    INFO("message: " << msg_);                                         \
    REQUIRE_FALSE(msg_.empty());                                       \
    for (const char* frag : {__VA_ARGS__}) CHECK(msg_.find(frag) != std::string::npos); \
  } while (0)
}  // namespace

TEST_CASE("Iris: 150 × 4, three classes of 50, first and last rows as published") {
  const Dataset d = load_iris();
  REQUIRE(shape_of(d.X) == Shape{150, 4});
  CHECK(d.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(d.class_counts() == std::vector<std::size_t>{50, 50, 50});
  CHECK(d.feature_names[2] == "petal_length_cm");
  CHECK(d.X(0, 0) == 5.1);
  CHECK(d.X(0, 3) == 0.2);
  CHECK(d.y[0] == 0);
  CHECK(d.X(149, 0) == 5.9);
  CHECK(d.X(149, 2) == 5.1);
  CHECK(d.y[149] == 2);
  // published column means: 5.843, 3.057, 3.758, 1.199
  const double means[4] = {5.8433, 3.0573, 3.7580, 1.1993};
  for (std::size_t j = 0; j < 4; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < 150; ++i) s += d.X(i, j);
    CHECK(s / 150 == doctest::Approx(means[j]).epsilon(1e-4));
  }
}

TEST_CASE("the other bundled tables: wine, breast cancer, digits") {
  const Dataset w = load_wine();
  CHECK(shape_of(w.X) == Shape{178, 13});
  CHECK(w.class_counts() == std::vector<std::size_t>{59, 71, 48});
  const Dataset b = load_breast_cancer();
  CHECK(shape_of(b.X) == Shape{569, 30});
  CHECK(b.class_names == std::vector<std::string>{"benign", "malignant"});
  CHECK(b.class_counts() == std::vector<std::size_t>{357, 212});
  const Dataset g = load_digits();
  CHECK(shape_of(g.X) == Shape{1797, 64});
  CHECK(g.num_classes() == 10);
  double mx = 0;
  for (auto v : g.X) mx = std::max(mx, v);
  CHECK(mx == 16);
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist") {
  const Dataset test = load_fashion_mnist(Split::Test);
  REQUIRE(shape_of(test.X) == Shape{10000, 1, 28, 28});
  CHECK(test.class_counts() == std::vector<std::size_t>(10, 1000));
  CHECK(test.class_names[9] == "Ankle boot");
  CHECK(test.y[0] == 9);  // the first test image is an ankle boot
  double mn = 1e9, mx = -1e9;
  for (auto v : test.X) mn = std::min(mn, v), mx = std::max(mx, v);
  CHECK(mn == 0);
  CHECK(mx == 255);
  const Dataset train = load_fashion_mnist(Split::Train);
  CHECK(shape_of(train.X) == Shape{60000, 1, 28, 28});
  CHECK(train.class_counts() == std::vector<std::size_t>(10, 6000));
  CHECK(train.y[0] == 9);
  CHECK_ERROR(load_fashion_mnist(Split::Train, "/nonexistent/dir"), "/nonexistent/dir",
              "dataset-fashion-mnist");
}

TEST_CASE("IDX: generated raw and gzip files round-trip; MNIST layout loads") {
  TempDir t;
  std::vector<unsigned char> px(3 * 2 * 2);
  std::iota(px.begin(), px.end(), 1);
  t.write("train-images-idx3-ubyte", idx_u8({3, 2, 2}, px));
  t.write("train-labels-idx1-ubyte.gz", idx_u8({3}, {7, 0, 9}));
  const IdxArray a = read_idx(t.file("train-images-idx3-ubyte"));
  CHECK(a.dims == Shape{3, 2, 2});
  CHECK(a.values(1, 0, 1) == 6);
  const Dataset m = load_mnist(Split::Train, t.dir());
  CHECK(shape_of(m.X) == Shape{3, 1, 2, 2});
  CHECK(m.y == std::vector<std::size_t>{7, 0, 9});
  CHECK(m.X(2, 0, 1, 1) == 12);
  // other element types decode big-endian
  std::vector<unsigned char> i16{0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x00};
  const IdxArray b = parse_idx(i16.data(), i16.size());
  CHECK(b.values(0) == -2);
  CHECK(b.values(1) == 256);
}

TEST_CASE("IDX: bad magic, unknown type, bad rank, truncated, trailing bytes, label range, count mismatch") {
  TempDir t;
  auto good = idx_u8({2, 2, 2}, std::vector<unsigned char>(8, 1));
  auto bad = good;
  bad[0] = 0x1f;
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "x.idx", "magic");
  bad = good;
  bad[2] = 0x07;
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "x.idx", "type");
  bad = good;
  bad[3] = 0;
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "rank 0");
  bad.assign(good.begin(), good.end() - 3);
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "x.idx", "[2, 2, 2]", "truncated");
  bad = good;
  bad.push_back(0);
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "trailing");
  // found by fuzz_idx: a zero size next to huge ones must not overflow the strides
  const std::vector<unsigned char> zero_huge{0, 0, 0x0B, 4, 0, 0, 0, 0, 0x41, 0, 0, 0x64, 0, 0, 2, 0, 2, 0xfd, 1, 0x2c};
  CHECK_ERROR(parse_idx(zero_huge.data(), zero_huge.size(), "x.idx"), "implausibly large");
  bad.assign(good.begin(), good.begin() + 6);
  CHECK_ERROR(parse_idx(bad.data(), bad.size(), "x.idx"), "truncated IDX header");
  const std::string im = t.write("im.idx", good);
  const std::string lb = t.write("lb.idx", idx_u8({2}, {3, 12}));
  CHECK_ERROR(load_idx_images(im, lb, {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, "x"), "lb.idx",
              "label 12", "index 1");
  const std::string lb3 = t.write("lb3.idx", idx_u8({3}, {0, 1, 2}));
  CHECK_ERROR(load_idx_images(im, lb3, {"a", "b", "c"}, "x"), "2 images", "3 labels");
  CHECK_ERROR(read_idx(t.file("missing.idx")), "missing.idx", "No such file");
  // a gzip file cut in half
  t.write("cut.gz", std::vector<unsigned char>(4000, 7));
  auto bytes = inflab::data::read_file(t.file("cut.gz"));
  CHECK(bytes.size() == 4000);
  std::ifstream f(t.file("cut.gz"), std::ios::binary);
  std::vector<char> gz((std::istreambuf_iterator<char>(f)), {});
  std::ofstream(t.file("half.idx.gz"), std::ios::binary).write(gz.data(), static_cast<long>(gz.size() / 2));
  CHECK_ERROR(read_idx(t.file("half.idx.gz")), "half.idx.gz");
}

TEST_CASE("CSV: generated tables, labels by name or integer, gzip") {
  TempDir t;
  const Dataset d = parse_csv("a,b,label\n1,2,cat\n3.5,-4e2,dog\n\n5,6,cat\n", {}, "t.csv");
  CHECK(shape_of(d.X) == Shape{3, 2});
  CHECK(d.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(d.y == std::vector<std::size_t>{0, 1, 0});
  CHECK(d.X(1, 1) == -400);
  CsvOptions o;
  o.header = false;
  o.label_column = 0;
  const Dataset e = parse_csv("2,1.5\r\n0,2.5\r\n1,3\r\n", o, "t.csv");
  CHECK(e.num_classes() == 3);
  CHECK(e.y == std::vector<std::size_t>{2, 0, 1});
  CHECK(e.X(1, 0) == 2.5);
  const std::string p = t.write("t.csv.gz", std::string("x,y\n1,0\n2,1\n"));
  CHECK(read_csv(p).size() == 2);
  CsvOptions r;
  r.regression = true;
  const Dataset g = parse_csv("x,t\n1,0.5\n2,1.5\n", r);
  CHECK(!g.is_classification());
  CHECK(g.targets(1) == 1.5);
}

TEST_CASE("CSV: bad cells, ragged rows, unknown or out-of-range labels, empty, missing file") {
  CHECK_ERROR(parse_csv("a,b,l\n1,2,0\n1,x2,1\n", {}, "t.csv"), "t.csv", "line 3", "column 2", "'x2'");
  CHECK_ERROR(parse_csv("a,b,l\n1,2,0\n1,nan,1\n", {}, "t.csv"), "line 3", "column 2", "finite");
  CHECK_ERROR(parse_csv("a,b,l\n1,2,0\n1,2\n", {}, "t.csv"), "line 3", "2 fields, expected 3");
  CsvOptions o;
  o.class_names = {"a", "b"};
  CHECK_ERROR(parse_csv("x,l\n1,0\n1,2\n", o, "t.csv"), "line 3", "label 2", "2 classes");
  CHECK_ERROR(parse_csv("x,l\n1,a\n1,zebra\n", o, "t.csv"), "line 3", "unknown class 'zebra'");
  CHECK_ERROR(parse_csv("", {}, "t.csv"), "t.csv", "empty");
  CHECK_ERROR(parse_csv("x,l\n", {}, "t.csv"), "no data rows");
  CsvOptions lc;
  lc.label_column = 5;
  CHECK_ERROR(parse_csv("x,l\n1,0\n", lc, "t.csv"), "label column 5");
  CHECK_ERROR(read_csv("/no/such/file.csv"), "/no/such/file.csv", "No such file");
  // found by fuzz_csv: a huge integer label must not allocate a class per integer
  CsvOptions nh;
  nh.header = false;
  CHECK_ERROR(parse_csv("0,15,545553349\n", nh, "t.csv"), "545553349", "classes");
}

TEST_CASE("CSV: a file without a header line is refused, not read minus its first row") {
  TempDir t;
  const std::string p = t.write("nohead.csv", std::string("5.1,3.5,0\n4.9,3.0,1\n6.2,2.9,1\n"));
  CHECK_ERROR(read_csv(p), p.c_str(), "line 1", "looks like data", "start with a header line naming the columns",
              "header = false");
  // labels given as names: the first line's label also occurs below it
  CHECK_ERROR(parse_csv("5.1,3.5,setosa\n4.9,3.0,setosa\n6.2,2.9,virginica\n", {}, "n.csv"), "n.csv", "line 1",
              "looks like data");
  // with header = false the same file loads, all three rows
  CsvOptions nh;
  nh.header = false;
  const Dataset d = read_csv(p, nh);
  CHECK(d.size() == 3);
  CHECK(d.y == std::vector<std::size_t>{0, 1, 1});
  // a real header (even one with numeric feature names) is still accepted
  CHECK(parse_csv("0,1,label\n1,2,0\n3,4,1\n", {}, "t.csv").size() == 2);
}

TEST_CASE("CSV: integer labels with a gap or a single class are refused at load") {
  TempDir t;
  const std::string p = t.write("gap.csv", std::string("x,y,kind\n1,2,0\n3,4,2\n5,6,2\n"));
  CHECK_ERROR(read_csv(p), p.c_str(), "label column 'kind'", "0..2", "class 1 never occurs");
  CHECK_ERROR(parse_csv("x,kind\n1,0\n2,3\n3,5\n", {}, "t.csv"), "classes 1, 2, 4 never occur");
  // declared classes may be absent from a file (e.g. a test split)
  CsvOptions o;
  o.class_names = {"a", "b", "c"};
  const Dataset d = parse_csv("x,kind\n1,0\n3,2\n", o, "t.csv");
  CHECK(d.num_classes() == 3);
  CHECK(d.y == std::vector<std::size_t>{0, 2});

  const std::string one = t.write("one.csv", std::string("x,species\n1,setosa\n2,setosa\n"));
  const std::string want = one + ": the label column 'species' has only one class ('setosa'); a classifier needs at least two";
  CHECK_ERROR(read_csv(one), want.c_str());
  CHECK_ERROR(parse_csv("x,kind\n1,1\n2,1\n", {}, "t.csv"), "label column 'kind' has only one class ('1')");
  CHECK_ERROR(parse_csv("x,kind\n1,0\n2,0\n", {}, "t.csv"), "has only one class ('0')");
  // regression targets are not classes: one distinct value is fine
  CsvOptions r;
  r.regression = true;
  CHECK(parse_csv("x,t\n1,0\n2,0\n", r, "t.csv").size() == 2);
}

TEST_CASE("CIFAR-10 binary: generated records, channel planes, truncation, bad labels") {
  TempDir t;
  std::vector<unsigned char> b(3 * kCifarRecord);
  for (std::size_t r = 0; r < 3; ++r) {
    b[r * kCifarRecord] = static_cast<unsigned char>(r * 4);  // labels 0, 4, 8
    for (std::size_t j = 0; j < 3072; ++j) b[r * kCifarRecord + 1 + j] = static_cast<unsigned char>((j / 1024) * 100 + r);
  }
  const std::string p = t.write("data_batch_1.bin", b);
  const Dataset d = read_cifar10({p, p});
  REQUIRE(shape_of(d.X) == Shape{6, 3, 32, 32});
  CHECK(d.y == std::vector<std::size_t>{0, 4, 8, 0, 4, 8});
  CHECK(d.X(1, 0, 31, 31) == 1);    // red plane
  CHECK(d.X(2, 2, 0, 0) == 202);    // blue plane
  CHECK(d.class_names[8] == "ship");
  auto cut = b;
  cut.pop_back();
  CHECK_ERROR(parse_cifar10(cut.data(), cut.size(), "c.bin"), "c.bin", "3073", "truncated");
  auto lab = b;
  lab[kCifarRecord] = 10;
  CHECK_ERROR(parse_cifar10(lab.data(), lab.size(), "c.bin"), "label 10", "record 1");
  CHECK_ERROR(load_cifar10(Split::Test, t.dir()), "test_batch.bin", "CIFAR-10");
}
