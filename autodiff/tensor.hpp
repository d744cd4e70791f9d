// Tensors: xtensor containers of double, row-major. Only <xtensor/xarray.hpp> is
// included here; heavier xtensor/BLAS headers stay in .cpp files.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace inflab {

using Tensor = xt::xarray<double>;
using Shape = std::vector<std::size_t>;

// Every error inflab raises on bad input: the message names the operation and shapes.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Shape shape_of(const Tensor& t);
std::string shape_str(const Shape& s);  // "[3, 4]"
std::size_t numel(const Shape& s);
Tensor zeros(const Shape& s);
Tensor full(const Shape& s, double value);
Tensor scalar(double value);  // a 0-d tensor
Tensor tensor(const Shape& s, const std::vector<double>& data);
Tensor with_leading(std::size_t k, const Shape& s);  // zeros of shape [k, ...s]
double dot(const Tensor& a, const Tensor& b);  // sum of a*b over all elements
double norm2(const Tensor& a);                 // Euclidean norm of all elements
bool all_finite(const Tensor& a);

}  // namespace inflab
