// Tensors: xtensor containers of double, row-major. Only <xtensor/xarray.hpp> is
// included here; heavier xtensor/BLAS headers stay in .cpp files.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "util/error.hpp"  // inflab::Error

namespace inflab {

// Tensor storage: blocks of 64 MiB and more are 2 MiB-aligned and marked for transparent
// huge pages. On these (virtualised) machines a first touch of a 4 KiB page costs ~13 µs,
// so a fresh 376 MB buffer took 1.2 s to fill; with huge pages 0.05–0.7 s
// (docs/performance.md).
template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}
  T* allocate(std::size_t n);
  void deallocate(T* p, std::size_t n) noexcept;
  // default-initialise (no zero fill), as xtensor does with std::allocator
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const BigAllocator<U>&) const noexcept { return false; }
};
void* big_alloc(std::size_t bytes);
void big_free(void* p) noexcept;
template <class T>
T* BigAllocator<T>::allocate(std::size_t n) {
  return static_cast<T*>(big_alloc(n * sizeof(T)));
}
template <class T>
void BigAllocator<T>::deallocate(T* p, std::size_t) noexcept {
  big_free(p);
}

using Tensor = xt::xarray<double, xt::layout_type::row_major, BigAllocator<double>>;
using Shape = std::vector<std::size_t>;

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
// y ← y + a·x elementwise (same size; an Error otherwise); the one axpy of the library.
void axpy_inplace(Tensor& y, double a, const Tensor& x);
// x + a·y as a new tensor (y ← x, then axpy_inplace).
Tensor axpy(const Tensor& x, double a, const Tensor& y);

}  // namespace inflab
