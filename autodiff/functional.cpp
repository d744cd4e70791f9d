#include "autodiff/functional.hpp"

#include <algorithm>

namespace inflab::ad {

Recording::Recording(const Fn& f, const Tensor& theta) : tape_(std::make_unique<Tape>()) {
  if (theta.dimension() != 1)
    throw Error("Recording: θ must be a flat 1-D vector, got shape " + shape_str(shape_of(theta)));
  p_ = theta.size();
  TapeScope scope(*tape_);
  theta_ = tape_->leaf(theta, true);
  out_ = f(theta_);
  if (out_.tape != tape_.get())
    throw Error("Recording: f returned a Var that is not on the recording tape");
}

const Tensor& Recording::value() const { return out_.value(); }

double Recording::scalar_value() const {
  require_scalar("scalar_value");
  return out_.value().data()[0];
}

void Recording::require_scalar(const char* op) const {
  if (out_.value().size() != 1)
    throw Error(std::string(op) + ": f must return a scalar, got shape " +
                shape_str(out_.shape()));
}

std::size_t Recording::directions(const Tensor& v, const char* op) const {
  const Shape s = shape_of(v);
  if (s.size() == 1 && s[0] == p_) return 0;
  if (s.size() == 2 && s[1] == p_ && s[0] > 0) return s[0];
  throw Error(std::string(op) + ": direction has shape " + shape_str(s) + " but θ has shape [" +
              std::to_string(p_) + "] (expected [" + std::to_string(p_) + "] or [k, " +
              std::to_string(p_) + "])");
}

Tensor Recording::grad() {
  require_scalar("grad");
  return vjp(full(out_.shape(), 1.0));
}

Tensor Recording::vjp(const Tensor& w) {
  if (w.size() != out_.value().size())
    throw Error("vjp: cotangent has shape " + shape_str(shape_of(w)) + " but f returns " +
                shape_str(out_.shape()));
  tape_->clear_tangents();
  Tensor seed = w;
  if (out_.value().size() == 1) seed = full(out_.shape(), w.data()[0]);
  seed.reshape(out_.value().shape());
  tape_->backward(out_, Dual(std::move(seed)));
  if (!tape_->has_adjoint(theta_)) return zeros(Shape{p_});
  return tape_->adjoint(theta_).v;
}

Tensor Recording::jvp(const Tensor& v) {
  const std::size_t k = directions(v, "jvp");
  Tensor seed = v;
  if (!k) seed.reshape({std::size_t{1}, p_});
  tape_->forward_tangents({{theta_, &seed}}, k ? k : 1);
  const Dual& y = tape_->node(out_.id).val;
  const Shape so = out_.shape();
  Shape ts{k ? k : 1};
  ts.insert(ts.end(), so.begin(), so.end());
  Tensor t = y.k ? y.t : zeros(ts);  // zeros: f does not depend on θ
  if (!k) t.reshape(so);
  return t;
}

Tensor Recording::hvp(const Tensor& v) {
  require_scalar("hvp");
  const std::size_t k = directions(v, "hvp");
  Tensor seed = v;
  if (!k) seed.reshape({std::size_t{1}, p_});
  const std::size_t kk = k ? k : 1;
  tape_->forward_tangents({{theta_, &seed}}, kk);
  // the seed is always 1, so the adjoint values of the first HVP serve every later one
  tape_->backward(out_, Dual(full(out_.shape(), 1.0)), Tape::AdjointValues::Reuse);
  Tensor h;
  if (tape_->has_adjoint(theta_) && tape_->adjoint(theta_).k)
    h = tape_->adjoint(theta_).t;
  else
    h = zeros(Shape{kk, p_});  // f is at most linear in θ
  tape_->clear_tangents();
  if (!k) h.reshape({p_});
  return h;
}

ValueGrad value_and_grad(const Fn& f, const Tensor& theta) {
  Recording r(f, theta);
  Tensor g = r.grad();
  return {r.scalar_value(), std::move(g)};
}

ValueTangent jvp(const Fn& f, const Tensor& theta, const Tensor& v) {
  Recording r(f, theta);
  return {r.value(), r.jvp(v)};
}

Tensor vjp(const Fn& f, const Tensor& theta, const Tensor& w) { return Recording(f, theta).vjp(w); }

Tensor hvp(const Fn& f, const Tensor& theta, const Tensor& v) { return Recording(f, theta).hvp(v); }

Tensor dense_from_products(std::size_t p, const std::function<Tensor(const Tensor&)>& apply, std::size_t block) {
  block = std::max<std::size_t>(1, std::min(block, p));
  Tensor M = zeros(Shape{p, p});
  for (std::size_t c0 = 0; c0 < p; c0 += block) {
    const std::size_t kb = std::min(block, p - c0);
    Tensor E = zeros(Shape{kb, p});
    for (std::size_t j = 0; j < kb; ++j) E.data()[j * p + c0 + j] = 1.0;
    const Tensor ME = apply(E);  // row j is M e_j, column c0+j of M
    if (ME.size() != kb * p)
      throw Error("dense_from_products: " + std::to_string(kb) + " directions gave " + std::to_string(ME.size()) + " values for p = " + std::to_string(p));
    for (std::size_t j = 0; j < kb; ++j)
      for (std::size_t i = 0; i < p; ++i) M.data()[i * p + c0 + j] = ME.data()[j * p + i];
  }
  return M;
}

Tensor hessian(const Fn& f, const Tensor& theta, std::size_t block) {
  Recording r(f, theta);
  r.hvp(zeros(Shape{r.dim()}));  // fails early, naming hvp, when f is not scalar
  return dense_from_products(r.dim(), [&r](const Tensor& E) { return r.hvp(E); }, block);
}

}  // namespace inflab::ad
