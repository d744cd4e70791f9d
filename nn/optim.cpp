#include "nn/optim.hpp"

#include "autodiff/blas.hpp"
#include "util/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <vector>

namespace inflab::nn {

void check_learning_rate(double lr) {
  if (!(lr > 0) || !std::isfinite(lr)) throw Error("learning rate must be a finite number > 0, got " + std::to_string(lr));
}

namespace {
double* d(Tensor& t) { return t.data(); }
const double* d(const Tensor& t) { return t.data(); }
void need_same(const Tensor& a, const Tensor& b, const char* op) {
  if (a.size() != b.size())
    throw Error(std::string(op) + ": gradient has " + std::to_string(b.size()) + " values for θ of " + std::to_string(a.size()));
}
}  // namespace

// v ← μ v + g;  θ ← θ − lr (g + μ v) (Nesterov) or θ − lr v
void Sgd::step(Tensor& theta, const Tensor& g, double lr) {
  check_learning_rate(lr);
  need_same(theta, g, "sgd");
  const std::size_t p = theta.size();
  if (momentum == 0) {
    for (std::size_t i = 0; i < p; ++i) d(theta)[i] -= lr * d(g)[i];
    return;
  }
  if (velocity.size() != p) velocity = zeros({p});
  for (std::size_t i = 0; i < p; ++i) {
    double& v = d(velocity)[i];
    v = momentum * v + d(g)[i];
    d(theta)[i] -= lr * (nesterov ? d(g)[i] + momentum * v : v);
  }
}

// Kingma & Ba with bias correction
void Adam::step(Tensor& theta, const Tensor& g, double lr) {
  check_learning_rate(lr);
  need_same(theta, g, "adam");
  const std::size_t p = theta.size();
  if (m.size() != p) m = zeros({p}), v = zeros({p}), t = 0;
  ++t;
  const double c1 = 1 - std::pow(beta1, static_cast<double>(t)), c2 = 1 - std::pow(beta2, static_cast<double>(t));
  for (std::size_t i = 0; i < p; ++i) {
    d(m)[i] = beta1 * d(m)[i] + (1 - beta1) * d(g)[i];
    d(v)[i] = beta2 * d(v)[i] + (1 - beta2) * d(g)[i] * d(g)[i];
    d(theta)[i] -= lr * (d(m)[i] / c1) / (std::sqrt(d(v)[i] / c2) + eps);
  }
}

namespace {
double dotp(const Tensor& a, const Tensor& b) { return dot(a, b); }

// The stopping rules shared by the full-batch optimizers, checked before each iteration.
bool should_stop(MinimizeResult& res, bool go_on, double grad_tol, std::size_t max_iterations) {
  if (res.grad_norm <= grad_tol) {
    res.converged = true;
    res.message = "‖∇R‖ ≤ tolerance";
  } else if (res.iterations >= max_iterations) {
    res.message = "iteration budget reached";
  } else if (!go_on) {
    res.message = "stopped by callback";
  } else {
    return false;
  }
  return true;
}

struct LineSearch {
  double step, value;
  Tensor theta, grad;
  std::size_t evals;
  bool ok;
};

// Strong Wolfe (Nocedal & Wright, Alg. 3.5/3.6) with safeguarded cubic interpolation.
LineSearch wolfe(const ValueGradFn& f, const Tensor& x, double f0, double d0, const Tensor& dir, double a1) {
  const double c1 = 1e-4, c2 = 0.9;
  LineSearch r{0, f0, x, Tensor(), 0, false};
  // Armijo, or — once f changes by less than its rounding — the approximate-Wolfe test of
  // Hager & Zhang (2005): near the optimum f(θ + a d) − f(θ) is rounding noise, but the
  // directional derivative still tells whether the step went too far.
  auto decrease = [&](double a, double fa, double da) {
    return fa <= f0 + c1 * a * d0 || (fa <= f0 + 1e-12 * std::fabs(f0) && da <= (1 - 2 * c1) * -d0);
  };
  auto eval = [&](double a, double& fa, double& da, Tensor& xa, Tensor& ga) {
    xa = axpy(x, a, dir);
    ga = zeros({x.size()});
    fa = f(xa, ga);
    da = dotp(ga, dir);
    ++r.evals;
  };
  auto zoom = [&](double lo, double hi, double flo, double dlo, double fhi, double dhi) {
    for (int it = 0; it < 40; ++it) {
      // cubic interpolation between lo and hi, safeguarded into the middle 80%
      const double d1 = dlo + dhi - 3 * (flo - fhi) / (lo - hi);
      const double s2 = d1 * d1 - dlo * dhi;
      double a = 0.5 * (lo + hi);
      if (s2 >= 0) {
        const double d2 = std::copysign(std::sqrt(s2), hi - lo);
        a = hi - (hi - lo) * (dhi + d2 - d1) / (dhi - dlo + 2 * d2);
      }
      const double left = std::min(lo, hi), right = std::max(lo, hi), w = right - left;
      if (!std::isfinite(a) || a < left + 0.1 * w || a > right - 0.1 * w) a = 0.5 * (lo + hi);
      double fa, da;
      Tensor xa, ga;
      eval(a, fa, da, xa, ga);
      if (!std::isfinite(fa) || !decrease(a, fa, da) || fa >= flo) {
        hi = a, fhi = fa, dhi = da;
      } else {
        if (std::fabs(da) <= -c2 * d0) return LineSearch{a, fa, xa, ga, r.evals, true};
        if (da * (hi - lo) >= 0) hi = lo, fhi = flo, dhi = dlo;
        lo = a, flo = fa, dlo = da;
        r = LineSearch{a, fa, xa, ga, r.evals, true};  // best so far (sufficient decrease holds)
      }
      if (std::fabs(hi - lo) < 1e-16 * std::max(1.0, std::fabs(lo))) break;
    }
    return r;
  };
  double a_prev = 0, f_prev = f0, d_prev = d0, a = a1;
  for (int it = 0; it < 30; ++it) {
    double fa, da;
    Tensor xa, ga;
    eval(a, fa, da, xa, ga);
    if (!std::isfinite(fa) || !decrease(a, fa, da) || (it > 0 && fa >= f_prev))
      return zoom(a_prev, a, f_prev, d_prev, fa, da);
    if (std::fabs(da) <= -c2 * d0) return LineSearch{a, fa, xa, ga, r.evals, true};
    if (da >= 0) return zoom(a, a_prev, fa, da, f_prev, d_prev);
    a_prev = a, f_prev = fa, d_prev = da;
    a *= 2;
  }
  return r;
}
}  // namespace

MinimizeResult lbfgs(const ValueGradFn& f, Tensor theta, const LbfgsOptions& opt) {
  MinimizeResult res;
  const std::size_t p = theta.size();
  Tensor g = zeros({p});
  double fx = f(theta, g);
  res.evaluations = 1;
  if (!std::isfinite(fx)) throw Error("lbfgs: objective is not finite at the start (" + std::to_string(fx) + ")");
  std::deque<Tensor> S, Y;
  std::deque<double> rho;
  for (res.iterations = 0;; ++res.iterations) {
    res.grad_norm = norm2(g);
    const bool go_on = !opt.on_iteration || opt.on_iteration(res.iterations, fx, res.grad_norm);
    if (should_stop(res, go_on, opt.grad_tol, opt.max_iterations)) break;
    // two-loop recursion: dir = −H_k g
    Tensor q = g;
    std::vector<double> alpha(S.size());
    for (std::size_t i = S.size(); i-- > 0;) {
      alpha[i] = rho[i] * dotp(S[i], q);
      q = axpy(q, -alpha[i], Y[i]);
    }
    const double gamma = S.empty() ? 1.0 / std::max(res.grad_norm, 1e-300) : dotp(S.back(), Y.back()) / dotp(Y.back(), Y.back());
    for (auto& e : q) e *= gamma;
    for (std::size_t i = 0; i < S.size(); ++i) {
      const double b = rho[i] * dotp(Y[i], q);
      q = axpy(q, alpha[i] - b, S[i]);
    }
    Tensor dir = q;
    for (auto& e : dir) e = -e;
    double d0 = dotp(g, dir);
    if (!(d0 < 0)) {  // not a descent direction: restart from steepest descent
      S.clear(), Y.clear(), rho.clear();
      dir = g;
      for (auto& e : dir) e = -e / std::max(res.grad_norm, 1e-300);
      d0 = dotp(g, dir);
    }
    const LineSearch ls = wolfe(f, theta, fx, d0, dir, 1.0);
    res.evaluations += ls.evals;
    if (!ls.ok || ls.step == 0) {
      if (!S.empty()) {  // near the rounding floor a stale curvature model misleads: forget it, retry from steepest descent
        S.clear(), Y.clear(), rho.clear();
        continue;
      }
      res.message = "line search failed at ‖∇R‖ = " + significant(res.grad_norm) + " (the limit of double precision for this problem?)";
      break;
    }
    Tensor s = axpy(ls.theta, -1.0, theta), y = axpy(ls.grad, -1.0, g);
    const double sy = dotp(s, y);
    theta = ls.theta;
    g = ls.grad;
    fx = ls.value;
    if (sy > 1e-12 * norm2(s) * norm2(y)) {
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
      if (S.size() > opt.history) S.pop_front(), Y.pop_front(), rho.pop_front();
    }
  }
  res.theta = std::move(theta);
  res.value = fx;
  return res;
}

MinimizeResult newton(const ad::Fn& f, Tensor theta, const NewtonOptions& opt) {
  if (!(opt.damping >= 0)) throw Error("newton: damping must be ≥ 0, got " + std::to_string(opt.damping));
  MinimizeResult res;
  const std::size_t p = theta.size();
  if (p > 5000) throw Error("newton: p = " + std::to_string(p) + " is too large for a dense Hessian (needs " + std::to_string(p * p * 8 / (1 << 20)) + " MiB); use lbfgs");
  ad::Recording rec(f, theta);
  // The precision floor: once ∇R itself is rounding noise no step lowers it. Iterations that
  // change R by no more than its rounding and leave ‖∇R‖ above half the best seen are
  // stalled; stall_iterations of them in a row end the run, reporting the floor (not
  // converged, since grad_tol was not met) instead of spending the budget there.
  std::size_t stalled = 0;
  double best_gn = INFINITY, prev_value = NAN;
  for (res.iterations = 0;; ++res.iterations) {
    const Tensor g = rec.grad();
    res.value = rec.scalar_value();
    res.grad_norm = norm2(g);
    ++res.evaluations;
    const bool go_on = !opt.on_iteration || opt.on_iteration(res.iterations, res.value, res.grad_norm);
    if (should_stop(res, go_on, opt.grad_tol, opt.max_iterations)) break;
    const bool flat = std::fabs(prev_value - res.value) <= 1e-12 * std::fabs(res.value);
    stalled = flat && res.grad_norm > 0.5 * best_gn ? stalled + 1 : 0;
    best_gn = std::min(best_gn, res.grad_norm);
    prev_value = res.value;
    if (opt.stall_iterations && stalled >= opt.stall_iterations) {
      res.message = "precision floor: ‖∇R‖ " + significant(res.grad_norm) + " did not decrease for " + std::to_string(stalled) +
                    " iterations (tolerance " + significant(opt.grad_tol) + ")";
      break;
    }
    const Tensor H = ad::hessian(f, theta);
    Tensor negg = g, dir;
    for (auto& e : negg) e = -e;
    double mu = opt.damping;
    while (!blas::cholesky_solve(H, mu, negg, dir)) mu = std::max(2 * mu, 1e-8 * (1 + res.grad_norm));
    // backtracking on the Armijo condition, or — once R changes by less than its rounding —
    // the approximate-Wolfe idea of the L-BFGS line search: R's difference is noise there,
    // so a step is accepted when it lowers ‖∇R‖ (otherwise rounding in R rejects full
    // Newton steps and backtracking shrinks them to nothing)
    const double d0 = dot(g, dir);
    double a = 1;
    bool accepted = false;
    for (int k = 0; k < 50; ++k, a *= 0.5) {
      const Tensor cand = axpy(theta, a, dir);
      ad::Recording r2(f, cand);
      ++res.evaluations;
      const double fc = r2.scalar_value();
      if (std::isfinite(fc) && (fc <= res.value + 1e-4 * a * d0 ||
                                (fc <= res.value + 1e-12 * std::fabs(res.value) && norm2(r2.grad()) < res.grad_norm))) {
        theta = cand;
        rec = std::move(r2);
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      res.message = "no decrease along the Newton direction at ‖∇R‖ = " + significant(res.grad_norm);
      break;
    }
  }
  res.theta = std::move(theta);
  return res;
}

namespace {
void add_scaled(Tensor& x, double a, const Tensor& y) {
  double* px = x.data();
  const double* py = y.data();
  for (std::size_t i = 0, n = x.size(); i < n; ++i) px[i] += a * py[i];
}
// v + V(c ∘ Vᵀv)·… : out = a·v + Vᵀ-coefficients scaled by c (the two forms of P and P⁻¹)
Tensor low_rank_update(const SpectralPreconditioner& P, const Tensor& v, double a, const std::function<double(double)>& c) {
  const std::size_t k = P.values.size(), p = v.size();
  if (P.vectors.dimension() != 2 || P.vectors.shape(0) != k || P.vectors.shape(1) != p)
    throw Error("newton-cg: preconditioner of shape " + shape_str(shape_of(P.vectors)) + " for p = " + std::to_string(p));
  Tensor coef = zeros({k}), out = v;
  for (auto& e : out) e *= a;
  if (!k) return out;
  blas::gemv(false, k, p, 1.0, P.vectors.data(), v.data(), 0.0, coef.data());  // Vᵀv as [k]
  for (std::size_t i = 0; i < k; ++i) coef(i) *= c(P.values(i));
  blas::gemv(true, k, p, 1.0, P.vectors.data(), coef.data(), 1.0, out.data());
  return out;
}
}  // namespace

Tensor SpectralPreconditioner::apply(const Tensor& v) const {
  return low_rank_update(*this, v, sigma, [&](double l) { return l - sigma; });
}
Tensor SpectralPreconditioner::solve(const Tensor& v) const {
  return low_rank_update(*this, v, 1 / sigma, [&](double l) { return 1 / l - 1 / sigma; });
}
void SpectralPreconditioner::check() const {
  if (!(sigma > 0) || !std::isfinite(sigma) || std::any_of(values.begin(), values.end(), [](double l) { return !(l > 0) || !std::isfinite(l); }))
    throw Error("newton-cg: the spectral preconditioner's eigenvalues and σ must be finite and > 0");
}

MinimizeResult newton_cg(const ad::Fn& f, Tensor theta, const NewtonCgOptions& opt) {
  if (!(opt.radius > 0) || !std::isfinite(opt.radius)) throw Error("newton-cg: the first trust radius must be > 0 and finite, got " + significant(opt.radius));
  const Preconditioner* P = opt.preconditioner.get();
  if (const auto* sp = dynamic_cast<const SpectralPreconditioner*>(P)) sp->check();
  MinimizeResult res;
  const std::size_t p = theta.size();
  const std::size_t max_cg = opt.max_cg ? opt.max_cg : std::min<std::size_t>(p, 500);
  auto precond = [&](const Tensor& r) {
    if (!P) return r;
    Tensor y = P->solve(r);
    if (y.size() != r.size()) throw Error("newton-cg: the preconditioner returned " + std::to_string(y.size()) + " values for p = " + std::to_string(p));
    return y;
  };
  // τ ≥ 0 with ‖s + τd‖_P = Δ, from sᵀPs, sᵀPd, dᵀPd
  auto to_boundary = [](double sPs, double sPd, double dPd, double radius) {
    return (-sPd + std::sqrt(std::max(0.0, sPd * sPd - dPd * (sPs - radius * radius)))) / dPd;
  };
  // Steihaug's CG path at one θ does not depend on Δ (only where it stops does), and ‖s_j‖_P
  // grows along it (Steihaug 1983, Thm 2.1). So the state before the path crosses Δ_path·2⁻ᵐ
  // (m = 1 … levels) is kept: a rejected step's smaller region, snapped to one of these radii,
  // is cut from the same path without a new CG run.
  struct Crossing {  // the iterate j before s_j + α d_j leaves ‖·‖_P ≤ Δ_path·2⁻ᵐ (or d_j curves down)
    Tensor s, r, d, Hd;  // r = g + H s
    double sPs = 0, sPd = 0, dPd = 0;
  };
  const std::size_t levels = std::min<std::size_t>(12, (std::size_t{256} << 20) / (32 * std::max<std::size_t>(p, 1)));
  std::vector<std::shared_ptr<const Crossing>> crossing;  // [m − 1]; empty: no path at this θ
  double path_radius = 0;
  std::size_t cut_level = 0;  // m: the next step is cut from the path at Δ_path·2⁻ᵐ
  struct Step {
    Tensor s, Hs;
    double sPs = 0;
    bool on_boundary = false;
  };
  auto cut = [&](const Crossing& c, const Tensor& g, double radius) {
    const double tau = to_boundary(c.sPs, c.sPd, c.dPd, radius);
    Step st{c.s, c.r, radius * radius, true};
    add_scaled(st.s, tau, c.d);
    add_scaled(st.Hs, -1.0, g), add_scaled(st.Hs, tau, c.Hd);
    return st;
  };
  ad::Recording rec(f, theta);
  Tensor g = rec.grad();
  double fx = rec.scalar_value(), radius = opt.radius;
  res.evaluations = 1;
  std::size_t stalled = 0;
  for (res.iterations = 0;; ++res.iterations) {
    res.grad_norm = norm2(g);
    res.value = fx;
    const bool go_on = !opt.on_iteration || opt.on_iteration(res.iterations, fx, res.grad_norm);
    if (should_stop(res, go_on, opt.grad_tol, opt.max_iterations)) break;
    Step st;
    if (cut_level) {  // a rejected step's smaller radius: cut from this θ's path
      st = cut(*crossing[cut_level - 1], g, radius);
      cut_level = 0;
    } else {
      // Steihaug–Toint (preconditioned) CG on H s = −g inside ‖s‖_P ≤ Δ, to the relative
      // residual min(½, √‖g‖) (superlinear near a minimum) but never below a tenth of the
      // gradient tolerance: the next ‖∇R‖ is that residual plus O(‖s‖²), and solving
      // further buys nothing; Hs kept alongside s for the model value
      const double cg_tol = std::max(std::min(0.5, std::sqrt(res.grad_norm)) * res.grad_norm, 0.1 * opt.grad_tol);
      crossing.assign(opt.recycle_path ? levels : 0, nullptr);
      path_radius = radius;
      // P-norms without P itself (Conn, Gould & Toint 2000, §7.5.1): with y = P⁻¹r,
      // sᵀPs ← sᵀPs + 2α sᵀPd + α² dᵀPd, sᵀPd ← β(sᵀPd + α dᵀPd), dᵀPd ← rᵀy + β² dᵀPd
      Tensor s = zeros({p}), Hs = zeros({p}), r = g, y = precond(g), d = y;
      for (auto& e : d) e = -e;
      double ry = dotp(r, y), sPs = 0, sPd = 0, dPd = ry;
      for (std::size_t j = 0; j < max_cg; ++j) {
        const Tensor Hd = rec.hvp(d);
        ++res.hvps;
        const double dHd = dotp(d, Hd), alpha = ry / dHd;
        const double sPs_next = sPs + 2 * alpha * sPd + alpha * alpha * dPd;
        // keep this iterate for every smaller radius the path leaves here
        std::shared_ptr<const Crossing> here;
        for (std::size_t l = 1; l <= crossing.size(); ++l) {
          const double t = std::ldexp(radius, -static_cast<int>(l));
          if (crossing[l - 1] || !(t * t > sPs) || (dHd > 0 && sPs_next < t * t)) continue;
          if (!here) here = std::make_shared<const Crossing>(Crossing{s, r, d, Hd, sPs, sPd, dPd});
          crossing[l - 1] = here;
        }
        if (!(dHd > 0) || sPs_next >= radius * radius) {  // negative curvature, or the step leaves the region
          const double tau = to_boundary(sPs, sPd, dPd, radius);
          add_scaled(s, tau, d), add_scaled(Hs, tau, Hd);
          sPs = radius * radius;
          st.on_boundary = true;
          break;
        }
        add_scaled(s, alpha, d), add_scaled(Hs, alpha, Hd), add_scaled(r, alpha, Hd);
        sPs = sPs_next;
        if (norm2(r) <= cg_tol) break;
        y = precond(r);
        const double ry_next = dotp(r, y), beta = ry_next / ry;
        for (std::size_t i = 0; i < p; ++i) d(i) = -y(i) + beta * d(i);
        sPd = beta * (sPd + alpha * dPd);
        dPd = ry_next + beta * beta * dPd;
        ry = ry_next;
      }
      st.s = std::move(s), st.Hs = std::move(Hs), st.sPs = sPs;
    }
    const Tensor& s = st.s;
    const bool on_boundary = st.on_boundary;
    const double predicted = -(dotp(g, s) + 0.5 * dotp(s, st.Hs)), step = std::sqrt(std::max(0.0, st.sPs));
    Tensor cand = theta;
    add_scaled(cand, 1.0, s);
    ad::Recording next_rec(f, cand);
    ++res.evaluations;
    const double fc = next_rec.scalar_value();
    // Below R's rounding the actual decrease is noise: then, as newton's approximate-Wolfe
    // test, a step is taken when it lowers ‖∇R‖ (the quadratic model is then exact anyway).
    const bool in_noise = predicted <= 1e-12 * std::fabs(fx);
    Tensor gc;
    bool have_gc = false, take = false;
    double rho = 0;
    if (std::isfinite(fc)) {
      if (in_noise) {
        gc = next_rec.grad(), have_gc = true;
        take = fc <= fx + 1e-12 * std::fabs(fx) && norm2(gc) < res.grad_norm;
        rho = take ? 1 : 0;
      } else {
        rho = (fx - fc) / predicted;
        take = rho > 1e-4;
      }
    }
    if (rho < 0.25 && !take && path_radius > 0 && step > 0) {
      // rejected: the largest Δ_path·2⁻ᵐ ≤ ¼‖s‖_P (this θ's path stays valid)
      const double m = std::ceil(std::log2(path_radius / (0.25 * step)) - 1e-12);
      radius = std::ldexp(path_radius, -static_cast<int>(m));
      if (opt.recycle_path && m >= 1 && m <= static_cast<double>(crossing.size()) && crossing[static_cast<std::size_t>(m) - 1])
        cut_level = static_cast<std::size_t>(m);
    } else if (rho < 0.25) {
      radius = 0.25 * step;
    } else if (rho > 0.75 && on_boundary) {
      radius = std::min(2 * radius, 1e10);
    }
    stalled = in_noise && !take ? stalled + 1 : 0;
    if (take) {
      crossing.clear(), path_radius = 0;  // a new θ: a new path
      theta = std::move(cand);
      g = have_gc ? std::move(gc) : next_rec.grad();
      fx = fc;
      rec = std::move(next_rec);
    }
    if (opt.stall_iterations && stalled >= opt.stall_iterations) {
      res.grad_norm = norm2(g);
      res.message = "precision floor: ‖∇R‖ " + significant(res.grad_norm) + " did not decrease for " + std::to_string(stalled) +
                    " steps whose predicted decrease was below R's rounding (tolerance " + significant(opt.grad_tol) + ")";
      break;
    }
    if (!(radius > 1e-15 * (1 + norm2(theta)))) {
      res.grad_norm = norm2(g);
      res.message = in_noise ? "precision floor: the trust region shrank to nothing at ‖∇R‖ = " + significant(res.grad_norm) +
                                   " with every predicted decrease below R's rounding (tolerance " + significant(opt.grad_tol) + ")"
                             : "trust region shrank to nothing at ‖∇R‖ = " + significant(res.grad_norm) +
                                   ": no step lowers R (are R, its gradient and HVPs consistent?)";
      break;
    }
  }
  res.theta = std::move(theta);
  res.value = fx;
  return res;
}

}  // namespace inflab::nn
