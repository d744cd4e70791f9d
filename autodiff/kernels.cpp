#include "autodiff/kernels.hpp"

namespace inflab::kern {

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const std::size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::size_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const std::size_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                  " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::ptrdiff_t> aligned_strides(const Operand& x, const Shape& out, bool batched) {
  std::vector<std::ptrdiff_t> s;
  if (batched) s.push_back(x.k ? static_cast<std::ptrdiff_t>(numel(x.shape)) : 0);
  const std::size_t off = out.size() - x.shape.size();
  // contiguous strides of x's own shape
  std::vector<std::ptrdiff_t> own(x.shape.size());
  std::ptrdiff_t acc = 1;
  for (std::size_t j = x.shape.size(); j-- > 0;) {
    own[j] = acc;
    acc *= static_cast<std::ptrdiff_t>(x.shape[j]);
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i < off || x.shape[i - off] == 1)
      s.push_back(0);
    else
      s.push_back(own[i - off]);
  }
  return s;
}

Tensor sum_to(const double* x, const Shape& xshape, std::size_t k, const Shape& target) {
  Shape out_dims;
  if (k) out_dims.push_back(k);
  for (auto d : target) out_dims.push_back(d);
  Tensor out = zeros(out_dims);
  if (target.size() > xshape.size())
    throw Error("sum_to: cannot reduce " + shape_str(xshape) + " to " + shape_str(target));
  for (std::size_t i = 0; i < target.size(); ++i) {
    const std::size_t d = xshape[i + xshape.size() - target.size()];
    if (target[i] != 1 && target[i] != d)
      throw Error("sum_to: cannot reduce " + shape_str(xshape) + " to " + shape_str(target));
  }
  Shape dims;
  if (k) dims.push_back(k);
  for (auto d : xshape) dims.push_back(d);  // (insert() trips a GCC 12 -Warray-bounds false positive)
  if (target == xshape) {
    double* o = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) o[i] = x[i];
    return out;
  }
  // Strides of out inside x's iteration space (0 where summed away).
  Operand o{out.data(), target, k};
  auto so = aligned_strides(o, xshape, k > 0);
  const std::size_t r = dims.size();
  if (r == 0) {
    out.data()[0] = x[0];
    return out;
  }
  for (auto d : dims)
    if (d == 0) return out;
  std::vector<std::size_t> idx(r, 0);
  std::ptrdiff_t oo = 0;
  const std::size_t inner = dims[r - 1];
  const std::ptrdiff_t io = so[r - 1];
  double* po = out.data();
  for (;;) {
    if (io == 0) {
      double s = 0;
      for (std::size_t i = 0; i < inner; ++i) s += x[i];
      po[oo] += s;
    } else {
      for (std::size_t i = 0; i < inner; ++i) po[oo + static_cast<std::ptrdiff_t>(i) * io] += x[i];
    }
    x += inner;
    std::ptrdiff_t d = static_cast<std::ptrdiff_t>(r) - 2;
    for (; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        oo += so[d];
        break;
      }
      oo -= so[d] * static_cast<std::ptrdiff_t>(dims[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}

}  // namespace inflab::kern
