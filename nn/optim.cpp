#include "nn/optim.hpp"

#include "autodiff/blas.hpp"
#include "util/format.hpp"

#include <cmath>
#include <cstdio>
#include <deque>

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

}  // namespace inflab::nn
