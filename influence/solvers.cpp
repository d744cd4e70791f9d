#include "influence/solvers.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include <xtensor-blas/xlinalg.hpp>

#include "influence/choices.hpp"
#include "influence/kfac.hpp"
#include "influence/spectrum.hpp"
#include "util/format.hpp"
#include "util/progress.hpp"

namespace inflab::influence {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void check_rhs(const CurvatureOperator& A, const Tensor& b, const char* op) {
  if (b.dimension() != 1 || b.size() != A.dim())
    throw Error(std::string(op) + ": right-hand side of shape " + shape_str(shape_of(b)) + " for p = " + std::to_string(A.dim()));
  if (!all_finite(b)) throw Error(std::string(op) + ": right-hand side is not finite");
}
// (A + μI) v
Tensor apply_damped(const CurvatureOperator& A, const Tensor& v, double mu) {
  Tensor y = A.apply(v);
  if (mu != 0)
    for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] += mu * v.data()[i];
  return y;
}
// finish: the residual measured with one more product
void finish(SolveResult& r, const CurvatureOperator& A, const Tensor& b, double mu, std::size_t before, Clock::time_point t0) {
  const Tensor Ax = apply_damped(A, r.x, mu);
  double num = 0;
  for (std::size_t i = 0; i < b.size(); ++i) num += (Ax(i) - b(i)) * (Ax(i) - b(i));
  r.rel_residual = std::sqrt(num) / std::max(norm2(b), 1e-300);
  r.products = A.products() - before;
  r.seconds = since(t0);
}
// The warning of every result: an iteration limit, or a measured residual above the method's
// threshold (a NaN residual counts as above).
void set_warning(SolveResult& r, double tol = 0) {
  const double th = residual_warning_threshold(r.method, tol);
  const std::string& name = solver_methods().name(r.method);
  std::string w;
  if (!r.converged) w = name + " stopped at its iteration limit (" + std::to_string(r.iterations) + ") before the tolerance " + significant(tol, 2) + "; ";
  if (!(r.rel_residual <= th))
    w += "relative residual " + significant(r.rel_residual, 2) + " > " + significant(th, 2) + " (" + name +
         "): the estimate is not the exact inverse-HVP (H + μI)⁻¹b" +
         (r.method == Method::LowRank ? " — b has weight outside the low-rank subspace; compare with cg or minres"
          : r.method == Method::Lissa ? " — the truncated series has not converged; more depth, a smaller scale or damping"
          : r.method == Method::Exact ? (r.note.empty() ? " — H + μI is nearly singular; add damping" : " — " + r.note)
                                : " — more iterations, damping, or another method");
  else if (!w.empty())
    w += "relative residual " + significant(r.rel_residual, 2);
  r.warning = w;
}
// What every iterative solver does first: check μ and b, start the clock and the product
// count, and an all-zero x.
struct Start {
  SolveResult r;
  Clock::time_point t0;
  std::size_t before;
};
Start start(const CurvatureOperator& A, const Tensor& b, double mu, Method method) {
  check_damping(mu);
  check_rhs(A, b, solver_methods().name(method).c_str());
  Start s{SolveResult(), Clock::now(), A.products()};
  s.r.method = method;
  s.r.x = zeros({A.dim()});
  return s;
}
}  // namespace

double residual_warning_threshold(Method method, double tol) {
  switch (method) {
    case Method::Cg:
    case Method::Minres: return std::max(1e-6, 10 * tol);
    case Method::Lissa:
    case Method::LowRank: return 1e-3;
    case Method::Exact: break;
  }
  return 1e-6;
}

SolveResult solve_kfac(const CurvatureOperator& A, const Tensor& b, double damping) {
  if (!A.kfac()) throw Error("solve_kfac: the curvature is not kfac or ekfac");
  Start s = start(A, b, damping, Method::Exact);
  SolveResult& r = s.r;
  r.note = std::string(A.kind() == Curvature::Ekfac ? "EK-FAC" : "K-FAC") +
           ": inverted in the Kronecker factors' eigenbases (exact for that matrix, not for H)";
  r.x = A.kfac()->solve(b, A.objective_fn().weight_decay() + damping);
  finish(r, A, b, damping, s.before, s.t0);
  set_warning(r);
  return r;
}

Tensor dense_solve(Tensor H, Tensor b) {
  const std::size_t p = b.size();
  if (b.dimension() != 1 || H.dimension() != 2 || H.shape(0) != p || H.shape(1) != p)
    throw Error("dense_solve: matrix " + shape_str(shape_of(H)) + " for a right-hand side of " + shape_str(shape_of(b)));
  if (p == 0) return zeros({0});
  if (!all_finite(H) || !all_finite(b)) throw Error("dense_solve: the matrix or right-hand side is not finite");
  // LAPACK dgesv on column-major copies (one right-hand side; xt::linalg::solve)
  xt::xarray<double> M = H, rhs = b;
  xt::xarray<double> x;
  try {
    x = xt::linalg::solve(M, rhs);
  } catch (const std::exception&) {
    throw Error("dense_solve: the " + std::to_string(p) + " × " + std::to_string(p) + " matrix is singular (LAPACK dgesv)");
  }
  Tensor out = zeros({p});
  for (std::size_t i = 0; i < p; ++i) out(i) = x(i);
  if (!all_finite(out)) throw Error("dense_solve: the matrix is numerically singular (non-finite solution)");
  return out;
}

DenseCost dense_cost(std::size_t p, double seconds_per_product) {
  const double P = static_cast<double>(p);
  DenseCost c;
  c.gib = 4 * 8 * P * P / double(1 << 30);
  c.seconds = P * seconds_per_product + 6 * P * P * P / dense_flops_per_second;
  return c;
}

void check_damping(double mu) {
  if (!(mu >= 0) || !std::isfinite(mu)) throw Error("damping μ must be a finite number ≥ 0, got " + std::to_string(mu));
}

namespace {
std::string fixed(double v, int digits) {
  char s[32];
  std::snprintf(s, sizeof s, "%.*f", digits, v);
  return s;
}
std::string dense_refusal(std::size_t p, const DenseCost& c, double max_gib, double max_seconds, const char* what) {
  return "exact solve: a dense eigendecomposition of the " + std::to_string(p) + " × " + std::to_string(p) +
         " curvature matrix needs ~" + fixed(c.gib, 2) + " GiB (limit " + fixed(max_gib, 2) + ") and ~" + fixed(c.seconds, 0) +
         " s (limit " + fixed(max_seconds, 0) + ", " + what + "); use cg (positive definite), minres (indefinite) or lowrank";
}
}  // namespace

void check_dense_feasible(std::size_t p, double max_gib, double max_seconds) {
  const DenseCost before = dense_cost(p);
  if (before.gib > max_gib || before.seconds > max_seconds)
    throw Error(dense_refusal(p, before, max_gib, max_seconds, "the decomposition alone"));
}

Eigen dense_eigen(const CurvatureOperator& A, double max_gib, double max_seconds, bool progress) {
  const std::size_t p = A.dim();
  check_dense_feasible(p, max_gib, max_seconds);
  // the products: dense_matrix's first block of 64 directions is timed, and the estimate
  // is checked again with that rate before the others are computed
  const Clock::time_point t0 = Clock::now();
  util::Progress line("dense H, columns", p, progress);
  Tensor H = dense_matrix(A, 64, [&](std::size_t done) {
    while (line.count() < done) line.tick();
    if (done == std::min<std::size_t>(64, p) && p > done) {
      const DenseCost c = dense_cost(p, since(t0) / static_cast<double>(done));
      if (c.seconds > max_seconds) throw Error(dense_refusal(p, c, max_gib, max_seconds, "products timed on the first block"));
    }
  });
  line.done();
  return symmetric_eigen(std::move(H));
}

Eigen symmetric_eigen(Tensor H) {
  const std::size_t p = H.shape(0);
  const auto [w, v] = xt::linalg::eigh(H);  // LAPACK dsyevd: ascending values, vectors in columns
  H = Tensor();
  Eigen e{zeros({p}), zeros({p, p})};
  for (std::size_t i = 0; i < p; ++i) e.values(i) = w(i);
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < p; ++j) e.vectors(i, j) = v(i, j);
  return e;
}

SolveResult solve_exact(const CurvatureOperator& A, const Tensor& b, const ExactOptions& opt) {
  check_damping(opt.damping);
  check_rhs(A, b, "exact solve");
  const auto t0 = Clock::now();
  const std::size_t before = A.products();
  SolveResult r = solve_exact(A, dense_eigen(A, opt.max_gib, opt.max_seconds, opt.progress), b, opt);
  r.products = A.products() - before;  // the dense matrix's products and the residual check
  r.seconds = since(t0);
  return r;
}

EigenSigns eigen_signs(const Eigen& e, double damping, Curvature kind) {
  // LAPACK's eigenvalues are accurate to about p·ε·max|λ|: within that of 0 an eigenvalue's sign
  // is rounding. The Gauss–Newton matrix is positive semi-definite by construction, so all its
  // negative eigenvalues are rounding (of the products it is built from): on a saturated
  // network it shows dozens, down to −1e-19, which are not curvature.
  const std::size_t p = e.values.size();
  double largest = 0;
  for (std::size_t k = 0; k < p; ++k) largest = std::max(largest, std::fabs(e.values(k)));
  EigenSigns s;
  s.rounding = static_cast<double>(p) * std::numeric_limits<double>::epsilon() * largest;
  if (kind != Curvature::Hessian)
    for (std::size_t k = 0; k < p; ++k) s.rounding = std::max(s.rounding, -e.values(k));
  for (std::size_t k = 0; k < p; ++k) {
    const double lam = e.values(k) + damping;
    if (lam < -s.rounding) ++s.negative;
    else if (std::fabs(lam) <= s.rounding) ++s.zero;
  }
  return s;
}

SolveResult solve_exact(const CurvatureOperator& A, const Eigen& e, const Tensor& b, const ExactOptions& opt) {
  check_damping(opt.damping);
  check_rhs(A, b, "exact solve");
  const auto t0 = Clock::now();
  const std::size_t before = A.products(), p = A.dim();
  SolveResult r;
  r.method = Method::Exact;
  r.x = zeros({p});
  const EigenSigns signs = eigen_signs(e, opt.damping, A.kind());
  const std::size_t zero = signs.zero;
  const double rounding = signs.rounding;
  r.negative = signs.negative;
  for (std::size_t k = 0; k < p; ++k) {
    const double lam = e.values(k) + opt.damping;
    r.eigenvalues.push_back(e.values(k));
    double f;
    if (opt.indefinite == ExactOptions::Abs) f = std::fabs(lam);
    else if (opt.indefinite == ExactOptions::Drop) {
      if (std::fabs(lam) < opt.drop_below) continue;
      f = lam;
    } else {
      if (lam == 0) throw Error("exact solve: H + μI is singular (an eigenvalue is exactly 0); add damping (--damping) or leave such directions out (--indefinite drop)");
      f = lam;
    }
    if (f == 0) continue;  // Abs or Drop with an exactly zero eigenvalue: no finite inverse there
    double c = 0;
    for (std::size_t i = 0; i < p; ++i) c += e.vectors(i, k) * b(i);
    c /= f;
    for (std::size_t i = 0; i < p; ++i) r.x(i) += c * e.vectors(i, k);
  }
  if (r.negative)
    r.note = std::to_string(r.negative) + " of " + std::to_string(p) + " eigenvalues of H + μI are negative; " +
             (opt.indefinite == ExactOptions::Abs ? "inverted |λ + μ|" : opt.indefinite == ExactOptions::Drop ? "small |λ + μ| dropped" : "inverted as they are");
  if (zero && !(opt.indefinite == ExactOptions::Drop && rounding < opt.drop_below))
    r.note += (r.note.empty() ? "" : "; ") + std::to_string(zero) + " of " + std::to_string(p) + " are 0 to rounding (|λ + μ| ≤ " +
              significant(rounding, 2) + "): H + μI is singular to working precision — add damping (--damping)";
  finish(r, A, b, opt.damping, before, t0);
  // the residual of Abs/Drop is not that of the plain system; it is reported as measured
  set_warning(r);
  return r;
}

SolveResult solve_cg(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt) {
  auto [r, t0, before] = start(A, b, opt.damping, Method::Cg);
  const std::size_t p = A.dim();
  Tensor res = b, dir = b;
  double rr = dot(res, res);
  const double bn = std::sqrt(rr);
  if (bn == 0) {
    finish(r, A, b, opt.damping, before, t0);
    return r;
  }
  for (r.iterations = 0; r.iterations < opt.max_iterations; ++r.iterations) {
    if (std::sqrt(rr) / bn <= opt.tol) break;
    const Tensor Ad = apply_damped(A, dir, opt.damping);
    const double dAd = dot(dir, Ad);
    if (!(dAd > 0))
      throw Error("cg: negative curvature pᵀ(H + μI)p = " + std::to_string(dAd / dot(dir, dir)) + "·‖p‖² at iteration " +
                  std::to_string(r.iterations) + ": H + μI is not positive definite (μ = " + std::to_string(opt.damping) +
                  "); use minres, the Gauss-Newton curvature, or more damping");
    const double alpha = rr / dAd;
    axpy_inplace(r.x, alpha, dir);
    axpy_inplace(res, -alpha, Ad);
    const double rr_new = dot(res, res);
    for (std::size_t i = 0; i < p; ++i) dir(i) = res(i) + (rr_new / rr) * dir(i);
    rr = rr_new;
  }
  if (std::sqrt(rr) / bn > opt.tol) {
    r.note = "iteration limit reached before the tolerance";
    r.converged = false;
  }
  finish(r, A, b, opt.damping, before, t0);
  set_warning(r, opt.tol);
  return r;
}

SolveResult solve_minres(const CurvatureOperator& A, const Tensor& b, const CgOptions& opt) {
  auto [r, t0, before] = start(A, b, opt.damping, Method::Minres);
  const std::size_t p = A.dim();
  const double beta1 = norm2(b);
  if (beta1 == 0) {
    finish(r, A, b, opt.damping, before, t0);
    return r;
  }
  // Paige & Saunders, unpreconditioned (as in SciPy's minres)
  Tensor r1 = b, r2 = b, y = b, w = zeros({p}), w1, w2 = zeros({p});
  double oldb = 0, beta = beta1, dbar = 0, epsln = 0, phibar = beta1, cs = -1, sn = 0, rnorm = beta1;
  for (r.iterations = 0; r.iterations < opt.max_iterations; ) {
    ++r.iterations;
    Tensor v = y;
    for (auto& e : v) e /= beta;
    y = apply_damped(A, v, opt.damping);
    if (r.iterations >= 2) axpy_inplace(y, -beta / oldb, r1);
    const double alfa = dot(v, y);
    axpy_inplace(y, -alfa / beta, r2);
    r1 = r2;
    r2 = y;
    oldb = beta;
    beta = norm2(r2);
    const double oldeps = epsln;
    const double delta = cs * dbar + sn * alfa;
    const double gbar = sn * dbar - cs * alfa;
    epsln = sn * beta;
    dbar = -cs * beta;
    const double gamma = std::max(std::hypot(gbar, beta), std::numeric_limits<double>::epsilon());
    cs = gbar / gamma;
    sn = beta / gamma;
    const double phi = cs * phibar;
    phibar = sn * phibar;
    w1 = w2;
    w2 = w;
    for (std::size_t i = 0; i < p; ++i) w(i) = (v(i) - oldeps * w1(i) - delta * w2(i)) / gamma;
    axpy_inplace(r.x, phi, w);
    rnorm = phibar;
    if (rnorm / beta1 <= opt.tol || beta == 0) break;
  }
  if (rnorm / beta1 > opt.tol) {
    r.note = "iteration limit reached before the tolerance";
    r.converged = false;
  }
  finish(r, A, b, opt.damping, before, t0);
  set_warning(r, opt.tol);
  return r;
}

SolveResult solve_lissa(const CurvatureOperator& A, const Tensor& b, const LissaOptions& opt) {
  check_damping(opt.damping);
  check_rhs(A, b, "lissa");
  if (!(opt.scale > 0) || !std::isfinite(opt.scale)) throw Error("lissa: scale must be > 0, got " + std::to_string(opt.scale));
  if (opt.depth == 0 || opt.repeats == 0) throw Error("lissa: depth and repeats must be at least 1");
  const auto t0 = Clock::now();
  const std::size_t before = A.products(), p = A.dim();
  const double top = power_iteration(A, opt.damping, 100, opt.seed + 17);
  if (top <= 0)
    throw Error("lissa: the largest-magnitude eigenvalue of H + μI is " + std::to_string(top) +
                " < 0, so the recursion diverges; add damping > " + std::to_string(-top) + " or use minres");
  if (opt.scale <= top)
    throw Error("lissa: scale " + std::to_string(opt.scale) + " does not exceed the largest eigenvalue " + std::to_string(top) +
                " of H + μI (power iteration); use scale ≥ " + std::to_string(1.1 * top));
  // The recursion contracts only if every eigenvalue of H + μI is in (0, 2·scale), and after
  // `depth` steps the component along eigenvalue λ keeps (1 − λ/scale)^depth of its error.
  // λmin(H + μI) = top − λmax(top·I − (H + μI)), by shifted power iteration. The Rayleigh
  // quotient never overshoots, so `low` is an upper bound of λmin; below 1e-6·top power
  // iteration cannot tell it from 0 (and the recursion would need depth ≳ 1e6·scale/top).
  const double low = top - power_iteration(A, top - opt.damping, 300, opt.seed + 29, 1e-10, -1);
  const double lam_min_A = low - opt.damping;  // of A itself
  if (low <= 1e-6 * top) {
    const double suggest = std::max(-lam_min_A, 0.0) + 1e-3 * top;
    throw Error("lissa: λmin(H + μI) ≈ " + significant(low, 2) + " (power iteration; λmax ≈ " + significant(top, 2) + ", μ = " + significant(opt.damping, 2) +
                "): H + μI has a negative or zero eigenvalue (or one too small to tell from 0), so the recursion cannot converge; " +
                (lam_min_A < 0 ? "add damping μ > −λmin(H) ≈ " + significant(-lam_min_A, 2) + " (e.g. --damping " + significant(suggest, 2) + ")"
                                : "add damping (e.g. --damping " + significant(suggest, 2) + ")") +
                ", use the Gauss-Newton curvature (--curvature ggn), or use minres");
  }
  if (static_cast<double>(opt.depth) * low / opt.scale < 1)
    throw Error("lissa: with scale " + significant(opt.scale, 2) + " and depth " + std::to_string(opt.depth) +
                " the recursion leaves more than e⁻¹ of the error along λmin(H + μI) ≈ " + significant(low, 2) +
                " (power iteration): use depth ≥ " + significant(5 * opt.scale / low, 2) + ", a scale nearer λmax ≈ " + significant(top, 2) +
                " (≥ " + significant(1.1 * top, 2) + "), or add damping");
  SolveResult r;
  r.method = Method::Lissa;
  r.x = zeros({p});
  const double bn = norm2(b);
  for (std::size_t rep = 0; rep < opt.repeats; ++rep) {
    Tensor x = b;
    for (std::size_t j = 1; j <= opt.depth; ++j) {
      Tensor Ax = opt.batch ? A.apply_sample(x, opt.batch, opt.seed * 1000003 + rep * 100003 + j) : A.apply(x);
      for (std::size_t i = 0; i < p; ++i) x(i) = b(i) + x(i) - (Ax(i) + opt.damping * x(i)) / opt.scale;
      const double xn = norm2(x);
      if (!std::isfinite(xn) || xn > 1e8 * bn)
        throw Error("lissa: the recursion diverged at depth " + std::to_string(j) + " (‖x‖ = " + std::to_string(xn) +
                    " for ‖b‖ = " + std::to_string(bn) + "): H + μI has eigenvalues ≤ 0 or above 2·scale; use a larger scale or more damping");
    }
    for (std::size_t i = 0; i < p; ++i) r.x(i) += x(i) / opt.scale / static_cast<double>(opt.repeats);
  }
  r.iterations = opt.depth * opt.repeats;
  finish(r, A, b, opt.damping, before, t0);
  set_warning(r);
  return r;
}

SolveResult solve_lowrank(const CurvatureOperator& A, const Tensor& b, const LowRankOptions& opt) {
  check_damping(opt.damping);
  check_rhs(A, b, "lowrank");
  const std::size_t p = A.dim();
  if (opt.rank == 0 || opt.rank > p) throw Error("lowrank: rank must be in 1.." + std::to_string(p));
  const auto t0 = Clock::now();
  const std::size_t before = A.products();
  const std::size_t steps = std::min(p, opt.lanczos_steps ? opt.lanczos_steps : 2 * opt.rank + 10);
  const Lanczos l = lanczos(A, steps, opt.seed, true);
  // the rank Ritz pairs of largest magnitude
  std::vector<std::size_t> order(l.steps);
  for (std::size_t i = 0; i < l.steps; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto c) { return std::fabs(l.ritz_values(a)) > std::fabs(l.ritz_values(c)); });
  SolveResult r;
  r.method = Method::LowRank;
  r.x = zeros({p});
  for (std::size_t q = 0; q < std::min(opt.rank, l.steps); ++q) {
    const std::size_t k = order[q];
    const double lam = l.ritz_values(k) + opt.damping;
    r.eigenvalues.push_back(l.ritz_values(k));
    if (lam == 0) continue;
    double c = 0;
    for (std::size_t i = 0; i < p; ++i) c += l.ritz_vectors(k, i) * b(i);
    for (std::size_t i = 0; i < p; ++i) r.x(i) += c / lam * l.ritz_vectors(k, i);
  }
  std::sort(r.eigenvalues.begin(), r.eigenvalues.end());
  r.iterations = l.steps;
  finish(r, A, b, opt.damping, before, t0);
  set_warning(r);
  return r;
}

}  // namespace inflab::influence
