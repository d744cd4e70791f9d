// Every op in the catalogue through the expect_ad-style harness.
#include <doctest/doctest.h>

#include <set>

#include "autodiff/op_catalogue.hpp"
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

#define OP_TEST(name) \
  TEST_CASE("op " name) { run_op_cases(name); }

OP_TEST("add") OP_TEST("sub") OP_TEST("mul") OP_TEST("div") OP_TEST("neg")
OP_TEST("add_scalar") OP_TEST("mul_scalar") OP_TEST("pow_scalar")
OP_TEST("exp") OP_TEST("log") OP_TEST("sqrt") OP_TEST("square") OP_TEST("abs")
OP_TEST("tanh") OP_TEST("sigmoid") OP_TEST("relu") OP_TEST("softplus") OP_TEST("elu")
OP_TEST("selu") OP_TEST("gelu")
OP_TEST("matmul") OP_TEST("transpose") OP_TEST("reshape") OP_TEST("concat")
OP_TEST("gather_rows") OP_TEST("slice")
OP_TEST("sum") OP_TEST("sum_axis") OP_TEST("sq_norm")
OP_TEST("log_softmax") OP_TEST("softmax") OP_TEST("cross_entropy")
OP_TEST("conv2d") OP_TEST("max_pool2d") OP_TEST("avg_pool2d")

TEST_CASE("the OP_TEST list covers the whole catalogue") {
  // 35 OP_TEST lines above; a new catalogue op needs a line here too.
  CHECK(inflab::ad::op_catalogue().size() == 35);
}
