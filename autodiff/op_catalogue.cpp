#include "autodiff/op_catalogue.hpp"

#include <algorithm>
#include <string_view>

#include "autodiff/tensor.hpp"

namespace inflab::ad {

const std::vector<std::string>& op_catalogue() {
  static const std::vector<std::string> names = {
      // elementwise arithmetic (numpy broadcasting)
      "add", "sub", "mul", "div", "neg", "add_scalar", "mul_scalar", "pow_scalar",
      // elementwise functions and activations
      "exp", "log", "sqrt", "square", "abs", "tanh", "sigmoid", "relu", "softplus", "elu",
      "selu", "gelu",
      // linear algebra and shape
      "matmul", "matmul_nt", "transpose", "reshape", "concat", "gather_rows", "slice",
      // reductions
      "sum", "sum_axis", "sq_norm",
      // softmax family and losses
      "log_softmax", "softmax", "cross_entropy",
      // convolution and pooling (NCHW)
      "conv2d", "max_pool2d", "avg_pool2d"};
  return names;
}

void require_catalogued(const char* op) {
  const auto& names = op_catalogue();
  if (std::find(names.begin(), names.end(), std::string_view(op)) == names.end())
    throw Error(std::string("op '") + op + "' is not in the op catalogue (autodiff/op_catalogue.cpp)");
}

}  // namespace inflab::ad
