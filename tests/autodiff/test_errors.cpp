// Bad input: one clear inflab::Error naming the op and shapes; never a crash or a
// silent wrong answer.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"

using namespace inflab;
using namespace inflab::ad;

namespace {
// Runs fn, requires an inflab::Error whose message contains every fragment.
template <class F>
void expect_error(F fn, std::initializer_list<const char*> fragments) {
  std::string msg;
  try {
    fn();
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO("message: " << msg);
  REQUIRE_FALSE(msg.empty());
  for (const char* f : fragments) CHECK(msg.find(f) != std::string::npos);
}
}  // namespace

TEST_CASE("shape mismatches name the op and both shapes") {
  TapeScope s;
  Var a = variable(zeros({3, 4})), b = variable(zeros({5}));
  expect_error([&] { add(a, b); }, {"add", "[3, 4]", "[5]", "broadcast"});
  expect_error([&] { matmul(a, a); }, {"matmul", "[3, 4]"});
  expect_error([&] { reshape(a, {7}); }, {"reshape", "[3, 4]", "[7]"});
  expect_error([&] { cross_entropy(a, {0, 1}); }, {"cross_entropy", "2 labels", "[3, 4]"});
  expect_error([&] { cross_entropy(a, {0, 1, 4}); }, {"cross_entropy", "label 4", "row 2"});
  expect_error([&] { conv2d(variable(zeros({1, 2, 4, 4})), variable(zeros({3, 1, 3, 3}))); },
               {"conv2d", "2 channels", "[3, 1, 3, 3]"});
}

TEST_CASE("functional API: non-scalar output, wrong direction, bad θ") {
  Fn vec = [](Var th) { return mul_scalar(th, 2.0); };
  Fn scal = [](Var th) { return sq_norm(th); };
  const Tensor th = zeros({3});
  expect_error([&] { value_and_grad(vec, th); }, {"grad", "scalar", "[3]"});
  expect_error([&] { hvp(vec, th, zeros({3})); }, {"hvp", "scalar", "[3]"});
  expect_error([&] { hvp(scal, th, zeros({4})); }, {"hvp", "[4]", "[3]"});
  expect_error([&] { hvp(scal, th, zeros({2, 4})); }, {"hvp", "[2, 4]", "[3]"});
  expect_error([&] { jvp(vec, th, zeros({5})); }, {"jvp", "[5]"});
  expect_error([&] { Recording(scal, zeros({2, 2})); }, {"θ", "[2, 2]"});
  expect_error([&] { check_hvp(scal, th, zeros({2})); }, {"check_hvp", "[2]", "[3]"});
}

TEST_CASE("ops need a tape, and inputs of one op must share it") {
  expect_error([] { variable(zeros({2})); }, {"TapeScope"});
  TapeScope outer;
  Var a = variable(zeros({2}));
  Var b;
  {
    TapeScope inner;
    b = variable(zeros({2}));
    expect_error([&] { add(a, b); }, {"add", "tape"});
  }
  expect_error([&] { exp(Var{}); }, {"exp", "tape"});
}

TEST_CASE("non-finite values are reported by op when checking is on, passed through when off") {
  TapeScope s;
  Var x = variable(tensor({2}, {1.0, -1.0}));
  set_check_finite(true);
  expect_error([&] { log(x); }, {"log", "non-finite", "[2]"});
  expect_error([&] { div(x, variable(zeros({2}))); }, {"div", "non-finite"});
  // and in sweeps: sqrt at 0 has an infinite derivative
  Fn f = [](Var th) { return sum(sqrt(th)); };
  expect_error([&] { value_and_grad(f, zeros({2})); }, {"sqrt", "non-finite", "adjoint"});
  set_check_finite(false);
  CHECK(std::isnan(log(x).value()(1)));
}
