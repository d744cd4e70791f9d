// Every op in the catalogue through the expect_ad-style harness.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "autodiff/check.hpp"
#include "autodiff/functional.hpp"
#include "autodiff/op_catalogue.hpp"
#include "autodiff/ops.hpp"
#include "tests/autodiff/op_harness.hpp"

using inflab::test::run_op_cases;

TEST_CASE("every catalogue op has registered harness cases, and every case names a real op") {
  std::set<std::string> covered;
  for (const auto& c : inflab::test::op_cases()) covered.insert(c.op);
  for (const auto& op : inflab::ad::op_catalogue()) {
    INFO("op " << op);
    CHECK(covered.count(op) == 1);
  }
  const auto& cat = inflab::ad::op_catalogue();
  for (const auto& op : covered) {
    INFO("case op " << op);
    CHECK(std::find(cat.begin(), cat.end(), op) != cat.end());
  }
}

namespace {
std::set<std::string>& op_tests() {
  static std::set<std::string> names;
  return names;
}
bool register_op_test(const char* name) { return op_tests().insert(name).second; }
}  // namespace

// One doctest case per op, so a failure names the op; each also registers its name.
#define OP_TEST_CAT(a, b) a##b
#define OP_TEST_NAME(line) OP_TEST_CAT(op_test_registered_, line)
#define OP_TEST(name)                                                      \
  static const bool OP_TEST_NAME(__LINE__) = register_op_test(name);      \
  TEST_CASE("op " name) { run_op_cases(name); }

// clang-format off
OP_TEST("add")
OP_TEST("sub")
OP_TEST("mul")
OP_TEST("div")
OP_TEST("neg")
OP_TEST("add_scalar")
OP_TEST("mul_scalar")
OP_TEST("pow_scalar")
OP_TEST("exp")
OP_TEST("log")
OP_TEST("sqrt")
OP_TEST("square")
OP_TEST("abs")
OP_TEST("tanh")
OP_TEST("sigmoid")
OP_TEST("relu")
OP_TEST("softplus")
OP_TEST("elu")
OP_TEST("selu")
OP_TEST("gelu")
OP_TEST("matmul")
OP_TEST("matmul_nt")
OP_TEST("transpose")
OP_TEST("reshape")
OP_TEST("concat")
OP_TEST("gather_rows")
OP_TEST("slice")
OP_TEST("sum")
OP_TEST("sum_axis")
OP_TEST("sq_norm")
OP_TEST("log_softmax")
OP_TEST("softmax")
OP_TEST("cross_entropy")
OP_TEST("conv2d")
OP_TEST("max_pool2d")
OP_TEST("avg_pool2d")
// clang-format on

TEST_CASE("every catalogue op has its own OP_TEST case, and no OP_TEST names an unknown op") {
  const auto& cat = inflab::ad::op_catalogue();
  CHECK(op_tests() == std::set<std::string>(cat.begin(), cat.end()));
}

TEST_CASE("the tape refuses ops that are not in the catalogue") {
  inflab::ad::TapeScope s;
  inflab::ad::Var x = inflab::ad::variable(inflab::zeros({2}));
  bool threw = false;
  try {
    x.tape->record("my_new_op", {x}, x.value(), nullptr, nullptr);
  } catch (const inflab::Error& e) {
    threw = std::string(e.what()).find("my_new_op") != std::string::npos;
  }
  CHECK(threw);
}

// conv2d runs a batch as chunks of images, one GEMM each (autodiff/ops/conv.cpp). A batch
// that spans several chunks must give, image by image, what each image gives alone: the
// value, x̄, w̄ (summed over images) and the HVP, for f = Σ (conv(x, w))² ⊙ R.
TEST_CASE("conv2d over several chunks of a batch equals each image alone") {
  using namespace inflab;
  using namespace inflab::ad;
  struct Geometry {
    std::size_t N, C, H, k, stride, pad;
  };
  for (const Geometry& geo : {Geometry{30, 2, 28, 5, 1, 2}, Geometry{25, 2, 64, 5, 2, 1}}) {
    INFO("N " << geo.N << " H " << geo.H << " stride " << geo.stride);
    const std::size_t img = geo.C * geo.H * geo.H, nw = 3 * geo.C * geo.k * geo.k;
    const std::size_t Ho = (geo.H + 2 * geo.pad - geo.k) / geo.stride + 1;
    const Tensor R = random_normal({geo.N, 3, Ho, Ho}, 7);
    auto f_for = [&](std::size_t n0, std::size_t count) {
      return [&, n0, count](Var th) {
        Var x = reshape(slice(th, 0, count * img), Shape{count, geo.C, geo.H, geo.H});
        Var w = reshape(slice(th, count * img, count * img + nw), Shape{3, geo.C, geo.k, geo.k});
        Tensor r = Tensor::from_shape({count, 3, Ho, Ho});
        std::copy_n(R.data() + n0 * 3 * Ho * Ho, r.size(), r.data());
        Var y = conv2d(x, w, Conv2dOptions{geo.stride, geo.pad});
        return sum(mul(mul(y, y), constant(r)));
      };
    };
    const Tensor theta = random_normal({geo.N * img + nw}, 8), v = random_normal({geo.N * img + nw}, 9);
    const ValueGrad all = value_and_grad(f_for(0, geo.N), theta);
    const Tensor hv_all = hvp(f_for(0, geo.N), theta, v);
    double value = 0;
    Tensor gw = zeros({nw}), hw = zeros({nw});
    double worst = 0;
    for (std::size_t n = 0; n < geo.N; ++n) {
      Tensor th1 = Tensor::from_shape({img + nw}), v1 = Tensor::from_shape({img + nw});
      std::copy_n(theta.data() + n * img, img, th1.data());
      std::copy_n(theta.data() + geo.N * img, nw, th1.data() + img);
      std::copy_n(v.data() + n * img, img, v1.data());
      std::copy_n(v.data() + geo.N * img, nw, v1.data() + img);
      const ValueGrad one = value_and_grad(f_for(n, 1), th1);
      const Tensor hv1 = hvp(f_for(n, 1), th1, v1);
      value += one.value;
      for (std::size_t i = 0; i < img; ++i) {
        worst = std::max(worst, std::abs(all.grad(n * img + i) - one.grad(i)) / (1 + std::abs(one.grad(i))));
        worst = std::max(worst, std::abs(hv_all(n * img + i) - hv1(i)) / (1 + std::abs(hv1(i))));
      }
      for (std::size_t i = 0; i < nw; ++i) gw(i) += one.grad(img + i), hw(i) += hv1(img + i);
    }
    for (std::size_t i = 0; i < nw; ++i) {
      worst = std::max(worst, std::abs(all.grad(geo.N * img + i) - gw(i)) / (1 + std::abs(gw(i))));
      worst = std::max(worst, std::abs(hv_all(geo.N * img + i) - hw(i)) / (1 + std::abs(hw(i))));
    }
    CHECK(all.value == doctest::Approx(value).epsilon(1e-12));
    CHECK(worst < 1e-11);
  }
}
