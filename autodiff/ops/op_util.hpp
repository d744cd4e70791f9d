// Internal helpers shared by the op files.
#pragma once
#include <string>

#include "autodiff/kernels.hpp"
#include "autodiff/ops.hpp"

namespace inflab::ad::detail {

// The one way an op reaches a tape: the tape its input is on. Ops never consult the
// thread's current tape (current_tape()), which only variable() and constant() use.
inline Tape& tape_of(const char* op, const Var& a) {
  if (!a.tape) throw Error(std::string(op) + ": input Var is not on any tape (default-constructed?)");
  return *a.tape;
}

inline Shape with_k(std::size_t k, const Shape& s) {
  Shape out{k};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// f'(x) ⊙ ẋ for an elementwise op.
template <class D1>
Tensor scale_tangent(const Dual& x, D1 d1) {
  Tensor t = Tensor::from_shape(x.t.shape());
  const std::size_t n = x.v.size();
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = d1(x.v.data()[i]);
  for (std::size_t j = 0; j < x.k; ++j)
    for (std::size_t i = 0; i < n; ++i) t.data()[j * n + i] = d[i] * x.t.data()[j * n + i];
  return t;
}

}  // namespace inflab::ad::detail
