// Splits, selections, transforms, batching and synthetic data.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "tests/test_util.hpp"
#include "datasets/batching.hpp"
#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"

using namespace inflab;
using inflab::test::error_of;
using namespace inflab::data;

TEST_CASE("stratified split: exact class proportions, disjoint, covering, seeded") {
  const Dataset iris = load_iris();
  const TrainTest a = stratified_split(iris, 0.2, 7);
  CHECK(a.train.class_counts() == std::vector<std::size_t>{40, 40, 40});
  CHECK(a.test.class_counts() == std::vector<std::size_t>{10, 10, 10});
  std::set<std::size_t> all(a.train_rows.begin(), a.train_rows.end());
  for (auto r : a.test_rows) CHECK(all.insert(r).second);
  CHECK(all.size() == 150);
  // rows carry their data along
  CHECK(a.test.X(0, 0) == iris.X(a.test_rows[0], 0));
  CHECK(stratified_split(iris, 0.2, 7).test_rows == a.test_rows);
  CHECK(stratified_split(iris, 0.2, 8).test_rows != a.test_rows);
  CHECK(error_of([&] { stratified_split(iris, 1.0, 1); }).find("test fraction") != std::string::npos);
}

TEST_CASE("class subsets, n per class, first and random n, all-but-one") {
  const Dataset iris = load_iris();
  const Dataset two = select_classes(iris, {2, 0});
  CHECK(two.size() == 100);
  CHECK(two.class_names == std::vector<std::string>{"virginica", "setosa"});
  CHECK(two.y.front() == 1);  // setosa rows come first in the file, now labelled 1
  CHECK(two.y.back() == 0);
  CHECK(error_of([&] { select_classes(iris, {3}); }).find("class 3 does not exist") != std::string::npos);
  const Dataset five = per_class(iris, 5, 3);
  CHECK(five.class_counts() == std::vector<std::size_t>{5, 5, 5});
  CHECK(error_of([&] { per_class(iris, 51, 3); }).find("fewer than 51") != std::string::npos);
  CHECK(first_n(iris, 3).X(2, 0) == iris.X(2, 0));
  const Dataset r = random_n(iris, 150, 5);
  std::multiset<double> a(iris.X.begin(), iris.X.end()), b(r.X.begin(), r.X.end());
  CHECK(a == b);  // a permutation: nothing lost, nothing repeated
  CHECK(error_of([&] { random_n(iris, 151, 5); }).find("151") != std::string::npos);
  const Dataset loo = all_but(iris, 0);
  CHECK(loo.size() == 149);
  CHECK(loo.X(0, 0) == iris.X(1, 0));
  CHECK(error_of([&] { all_but(iris, 150); }).find("row 150") != std::string::npos);
}

TEST_CASE("standardise: fit on train gives mean 0, std 1 there; test uses train's statistics") {
  const TrainTest tt = stratified_split(load_iris(), 0.3, 1);
  Dataset train = tt.train, test = tt.test;
  const Standardizer s = Standardizer::fit(train);
  s.apply(train);
  s.apply(test);
  for (std::size_t j = 0; j < 4; ++j) {
    double m = 0, v = 0;
    for (std::size_t i = 0; i < train.size(); ++i) m += train.X(i, j);
    m /= static_cast<double>(train.size());
    for (std::size_t i = 0; i < train.size(); ++i) v += std::pow(train.X(i, j) - m, 2);
    CHECK(std::fabs(m) < 1e-12);
    CHECK(std::sqrt(v / static_cast<double>(train.size())) == doctest::Approx(1.0).epsilon(1e-12));
  }
  CHECK(test.X(0, 0) == doctest::Approx((tt.test.X(0, 0) - s.mean(0)) / s.scale(0)));
  // a constant feature stays finite
  Dataset c = blobs(5, 2, 2, 3.0, 0.5, 1);
  for (std::size_t i = 0; i < c.size(); ++i) c.X(i, 1) = 4.0;
  const Standardizer sc = Standardizer::fit(c);
  sc.apply(c);
  for (auto x : c.X) CHECK(std::isfinite(x));
  Dataset img = bar_images(2, 6, 0.0, 1);
  CHECK(error_of([&] { sc.apply(img); }).find("[1, 6, 6]") != std::string::npos);
}

TEST_CASE("pixels to [0,1], flatten and back to NCHW") {
  Dataset img = bar_images(3, 8, 0.0, 2);
  scale_pixels(img, 2.0);
  double mx = 0;
  for (auto x : img.X) mx = std::max(mx, x);
  CHECK(mx == 0.5);
  const double v = img.X(5, 0, 3, 4);
  flatten(img);
  CHECK(shape_of(img.X) == Shape{12, 64});
  CHECK(img.X(5, 3 * 8 + 4) == v);
  to_images(img, {1, 8, 8});
  CHECK(img.X(5, 0, 3, 4) == v);
  CHECK(error_of([&] { to_images(img, {3, 8, 8}); }).find("[3, 8, 8]") != std::string::npos);
  CHECK(error_of([&] { scale_pixels(img, 0); }).find("max_value") != std::string::npos);
}

TEST_CASE("batches: every epoch covers each row once, seeded, reshuffled per epoch") {
  BatchIterator it(10, 4, 42);
  CHECK(it.batches_per_epoch() == 3);
  std::vector<std::size_t> rows, epoch0, epoch1;
  std::vector<std::size_t> sizes;
  while (it.next(rows)) {
    sizes.push_back(rows.size());
    epoch0.insert(epoch0.end(), rows.begin(), rows.end());
  }
  CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
  while (it.next(rows)) epoch1.insert(epoch1.end(), rows.begin(), rows.end());
  CHECK(std::set<std::size_t>(epoch0.begin(), epoch0.end()).size() == 10);
  CHECK(std::set<std::size_t>(epoch1.begin(), epoch1.end()).size() == 10);
  CHECK(epoch0 != epoch1);
  BatchIterator again(10, 4, 42);
  std::vector<std::size_t> replay;
  while (again.next(rows)) replay.insert(replay.end(), rows.begin(), rows.end());
  CHECK(replay == epoch0);
  BatchIterator dl(10, 4, 1, true, true);
  std::size_t count = 0;
  while (dl.next(rows)) count += rows.size();
  CHECK(count == 8);
  CHECK(error_of([] { BatchIterator(10, 0, 1); }).find("batch size") != std::string::npos);
}

TEST_CASE("synthetic data: shapes, balance, determinism and the structure each promises") {
  const Dataset b = blobs(30, 3, 4, 5.0, 0.5, 9);
  CHECK(shape_of(b.X) == Shape{90, 4});
  CHECK(b.class_counts() == std::vector<std::size_t>{30, 30, 30});
  CHECK(blobs(30, 3, 4, 5.0, 0.5, 9).X == b.X);
  // well separated: nearest class centre (by class mean) recovers every label
  std::vector<std::vector<double>> mu(3, std::vector<double>(4, 0));
  for (std::size_t i = 0; i < 90; ++i)
    for (std::size_t j = 0; j < 4; ++j) mu[b.y[i]][j] += b.X(i, j) / 30;
  std::size_t right = 0;
  for (std::size_t i = 0; i < 90; ++i) {
    std::size_t best = 0;
    double bd = 1e300;
    for (std::size_t k = 0; k < 3; ++k) {
      double dd = 0;
      for (std::size_t j = 0; j < 4; ++j) dd += std::pow(b.X(i, j) - mu[k][j], 2);
      if (dd < bd) bd = dd, best = k;
    }
    right += best == b.y[i];
  }
  CHECK(right == 90);
  // moons without noise lie on their unit half circles
  const Dataset m = two_moons(40, 0.0, 3);
  for (std::size_t i = 0; i < 40; ++i) {
    const double cx = m.y[i] == 0 ? 0.0 : 1.0, cy = m.y[i] == 0 ? 0.0 : 0.5;
    CHECK(std::hypot(m.X(i, 0) - cx, m.X(i, 1) - cy) == doctest::Approx(1.0));
  }
  // xor labels follow the quadrant when noise is zero
  const Dataset x = xor_data(50, 0.0, 4);
  for (std::size_t i = 0; i < 50; ++i) CHECK(x.y[i] == ((x.X(i, 0) > 0) != (x.X(i, 1) > 0) ? 1u : 0u));
  // regression: residuals against the true weights have the noise's standard deviation
  Tensor w;
  const Dataset r = linear_regression(4000, 3, 0.1, 5, &w);
  double ss = 0;
  for (std::size_t i = 0; i < 4000; ++i) {
    double pred = w(3);
    for (std::size_t j = 0; j < 3; ++j) pred += w(j) * r.X(i, j);
    ss += std::pow(r.targets(i) - pred, 2);
  }
  CHECK(std::sqrt(ss / 4000) == doctest::Approx(0.1).epsilon(0.05));
  // bar images: without noise, a horizontal bar is one full row of ones
  const Dataset im = bar_images(2, 6, 0.0, 6);
  CHECK(shape_of(im.X) == Shape{8, 1, 6, 6});
  double row_max = 0;
  for (std::size_t a = 0; a < 6; ++a) {
    double s = 0;
    for (std::size_t c = 0; c < 6; ++c) s += im.X(0, 0, a, c);
    row_max = std::max(row_max, s);
  }
  CHECK(row_max == 6);
  CHECK(error_of([] { blobs(5, 1, 2, 1.0, 1.0, 1); }).find("classes") != std::string::npos);
}
