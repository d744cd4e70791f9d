#include "influence/influence.hpp"

#include <algorithm>
#include <cmath>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "datasets/split.hpp"
#include "influence/kfac.hpp"

namespace inflab::influence {

SolveResult solve(const CurvatureOperator& A, const Tensor& b, const SolverChoice& c) {
  check_damping(c.damping);
  if (c.method == Method::Exact && A.kfac()) return solve_kfac(A, b, c.damping);  // factored: no dense matrix
  switch (c.method) {
    case Method::Exact: { auto o = c.exact; o.damping = c.damping; return solve_exact(A, b, o); }
    case Method::Cg: { auto o = c.cg; o.damping = c.damping; return solve_cg(A, b, o); }
    case Method::Minres: { auto o = c.cg; o.damping = c.damping; return solve_minres(A, b, o); }
    case Method::Lissa: { auto o = c.lissa; o.damping = c.damping; return solve_lissa(A, b, o); }
    case Method::LowRank: { auto o = c.lowrank; o.damping = c.damping; return solve_lowrank(A, b, o); }
  }
  throw Error("solve: a method without a solver");
}

InverseHvp::InverseHvp(const CurvatureOperator& A, SolverChoice c) : A_(A), c_(std::move(c)) { check_damping(c_.damping); }

SolveResult InverseHvp::operator()(const Tensor& b) const {
  if (c_.method != Method::Exact || A_.kfac()) return solve(A_, b, c_);
  const std::size_t before = A_.products();
  if (!eigen_) eigen_ = std::make_shared<const Eigen>(dense_eigen(A_, c_.exact.max_gib, c_.exact.max_seconds, c_.exact.progress));
  auto o = c_.exact;
  o.damping = c_.damping;
  SolveResult r = solve_exact(A_, *eigen_, b, o);
  r.products = A_.products() - before;
  return r;
}

Tensor test_loss_gradient(const nn::Objective& obj, const data::Dataset& test, const std::vector<std::size_t>& rows,
                          const Tensor& theta, double* loss) {
  if (rows.empty()) throw Error("test_loss_gradient: no test points given");
  for (auto r : rows)
    if (r >= test.size())
      throw Error("test index " + std::to_string(r) + " out of range for " + std::to_string(test.size()) +
                  " test points in '" + test.name + "'");
  const data::Dataset t = data::subset(test, rows);
  ad::Recording rec([&](ad::Var th) { return ad::sum(obj.losses(th, t)); }, theta);
  if (loss) *loss = rec.scalar_value();
  return rec.grad();
}

Tensor row_losses(const nn::Objective& obj, const data::Dataset& d, const Tensor& theta) {
  return ad::Recording([&](ad::Var th) { return obj.losses(th, d); }, theta).value();
}

Tensor train_gradient_dots(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const Tensor& S,
                           std::size_t batch) {
  const std::size_t p = theta.size(), n = train.size();
  const bool single = S.dimension() == 1;
  if ((single && S.size() != p) || (!single && (S.dimension() != 2 || S.shape(1) != p)))
    throw Error("train_gradient_dots: directions of shape " + shape_str(shape_of(S)) + " for p = " + std::to_string(p));
  const std::size_t k = single ? 1 : S.shape(0);
  Tensor V = S;
  if (single) V.reshape({std::size_t{1}, p});
  // λ θᵀs: the regulariser's part of ∇ℓ̃(zᵢ)ᵀs, the same for every row
  std::vector<double> reg(k, 0.0);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t i = 0; i < p; ++i) reg[j] += obj.weight_decay() * theta(i) * V(j, i);
  Tensor out = zeros({k, n});
  data::for_row_batches(train, batch, [&](std::size_t start, const data::Dataset& part) {
    ad::Recording rec([&](ad::Var th) { return obj.losses(th, part); }, theta);
    const Tensor J = rec.jvp(V);  // [k, rows]: ∇ℓ(zᵢ)ᵀ s_j
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i < part.size(); ++i) out(j, start + i) = J(j, i) + reg[j];
  });
  if (single) out.reshape({n});
  return out;
}

Tensor per_example_gradient(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, std::size_t row) {
  if (row >= train.size())
    throw Error("training index " + std::to_string(row) + " out of range for " + std::to_string(train.size()) + " rows");
  const data::Dataset one = data::subset(train, {row});
  ad::Recording rec(obj.fn(one), theta);  // ℓ̃(zᵢ) = ℓ(zᵢ) + (λ/2)‖θ‖² for a one-row set
  return rec.grad();
}

Tensor train_gradient_dots_explicit(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                                    const Tensor& s) {
  Tensor out = zeros({train.size()});
  for (std::size_t i = 0; i < train.size(); ++i) out(i) = dot(per_example_gradient(obj, train, theta, i), s);
  return out;
}

namespace {
Influence finish(const CurvatureOperator& A, const Tensor& g, double value, const SolverChoice& c, double tol) {
  Influence r;
  r.test_value = value;
  r.grad_norm = A.grad_norm();
  if (r.grad_norm > tol)
    r.warning = "θ is not a stationary point of the training objective: ‖∇R(θ)‖ = " + std::to_string(r.grad_norm) +
                " (influence functions assume ≈ 0; train to a gradient tolerance first)";
  r.solve = solve(A, g, c);
  r.s = r.solve.x;
  const double n = static_cast<double>(A.train().size());
  const Tensor dots = train_gradient_dots(A.objective_fn(), A.train(), A.theta(), r.s, 2048);
  r.predicted_change = zeros({A.train().size()});
  r.influence = zeros({A.train().size()});
  for (std::size_t i = 0; i < dots.size(); ++i) {
    r.predicted_change(i) = dots(i) / n;
    r.influence(i) = -dots(i);
  }
  return r;
}
}  // namespace

Influence influence_on_test(const CurvatureOperator& A, const data::Dataset& test, const std::vector<std::size_t>& rows,
                            const SolverChoice& c, double tol) {
  double loss = 0;
  const Tensor g = test_loss_gradient(A.objective_fn(), test, rows, A.theta(), &loss);
  return finish(A, g, loss, c, tol);
}

Tensor predicted_changes_each(const CurvatureOperator& A, const data::Dataset& test, const std::vector<std::size_t>& rows,
                              const SolverChoice& c, std::vector<SolveResult>* solves) {
  if (rows.empty()) throw Error("predicted_changes_each: no test points given");
  const std::size_t p = A.dim(), m = rows.size();
  Tensor S = zeros({m, p});
  for (std::size_t j = 0; j < m; ++j) {
    const SolveResult r = solve(A, test_loss_gradient(A.objective_fn(), test, {rows[j]}, A.theta()), c);
    std::copy(r.x.data(), r.x.data() + p, S.data() + j * p);
    if (solves) solves->push_back(r);
  }
  Tensor out = train_gradient_dots(A.objective_fn(), A.train(), A.theta(), S, 2048);
  for (auto& e : out) e /= static_cast<double>(A.train().size());
  return out;
}

Influence influence_on_function(const CurvatureOperator& A, const ad::Fn& f, const SolverChoice& c, double tol) {
  ad::Recording rec(f, A.theta());
  const Tensor g = rec.grad();
  return finish(A, g, rec.scalar_value(), c, tol);
}

Tensor parameter_change(const CurvatureOperator& A, std::size_t row, const SolverChoice& c) {
  Tensor x = solve(A, per_example_gradient(A.objective_fn(), A.train(), A.theta(), row), c).x;
  for (auto& e : x) e /= static_cast<double>(A.train().size());
  return x;
}

Tensor self_influence(const CurvatureOperator& A, const SolverChoice& c, std::string* warning) {
  const std::size_t n = A.train().size(), p = A.dim();
  Tensor out = zeros({n});
  if (c.method == Method::Exact && !A.kfac()) {
    check_damping(c.damping);
    const Eigen e = dense_eigen(A, c.exact.max_gib, c.exact.max_seconds, c.exact.progress);
    if (warning) {  // as solve_exact reads them: negative, and 0 to rounding (unbounded 1/λ)
      const EigenSigns s = eigen_signs(e, c.damping, A.kind());
      const bool drops = c.exact.indefinite == ExactOptions::Drop && s.rounding < c.exact.drop_below;
      const std::size_t negative = c.exact.indefinite == ExactOptions::Invert ? s.negative : 0, zero = drops ? 0 : s.zero;
      if (negative || zero)
        *warning = std::to_string(negative + zero) + " of " + std::to_string(p) + " eigenvalues of H + μI are ≤ 0 (" +
                   std::to_string(negative) + " negative, " + std::to_string(zero) + " 0 to rounding): a row's self-influence " +
                   "gᵀ(H + μI)⁻¹g can be negative or unbounded — add damping";
    }
    // s_i = Σ_k (vₖᵀgᵢ)² / λₖ: the coordinates of a block of gradients in the eigenbasis by
    // one GEMM (U = G V), not a p × p loop per row
    constexpr std::size_t kBlock = 64;
    Tensor G = zeros({kBlock, p}), U = zeros({kBlock, p});
    for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::size_t b = std::min(kBlock, n - i0);
      for (std::size_t r = 0; r < b; ++r) {
        const Tensor g = per_example_gradient(A.objective_fn(), A.train(), A.theta(), i0 + r);
        std::copy(g.data(), g.data() + p, G.data() + r * p);
      }
      blas::gemm(false, false, b, p, p, 1.0, G.data(), e.vectors.data(), 0.0, U.data());
      for (std::size_t r = 0; r < b; ++r) {
        double s = 0;
        for (std::size_t k = 0; k < p; ++k) {
          const double u = U(r, k), lam = e.values(k) + c.damping;
          if (c.exact.indefinite == ExactOptions::Drop && std::fabs(lam) < c.exact.drop_below) continue;
          if (lam != 0) s += u * u / (c.exact.indefinite == ExactOptions::Abs ? std::fabs(lam) : lam);
        }
        out(i0 + r) = s;
      }
    }
    return out;
  }
  std::size_t warned = 0;
  std::string first;
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor g = per_example_gradient(A.objective_fn(), A.train(), A.theta(), i);
    const SolveResult r = solve(A, g, c);
    if (!r.warning.empty() && warned++ == 0) first = "row " + std::to_string(i) + ": " + r.warning;
    out(i) = dot(g, r.x);
  }
  if (warning && warned) *warning = std::to_string(warned) + " of " + std::to_string(n) + " rows' solves warned; the first, " + first;
  return out;
}

std::vector<Ranked> top_k(const Tensor& v, std::size_t k, bool helpful) {
  std::vector<Ranked> all;  // only the rows of the asked sign: a list may hold fewer than k
  for (std::size_t i = 0; i < v.size(); ++i)
    if (helpful ? v(i) > 0 : v(i) < 0) all.push_back({i, v(i)});
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end(), [helpful](const Ranked& a, const Ranked& b) {
    return helpful ? a.value > b.value : a.value < b.value;
  });
  all.resize(k);
  return all;
}

std::vector<std::size_t> largest_magnitude(const Tensor& v, std::size_t k) {
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return std::fabs(v(x)) > std::fabs(v(y)); });
  order.resize(std::min(k, order.size()));
  return order;
}

}  // namespace inflab::influence
