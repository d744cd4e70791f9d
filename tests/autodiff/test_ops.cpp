// Every op in the catalogue through the expect_ad-style harness.
#include <doctest/doctest.h>

#include <algorithm>
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
