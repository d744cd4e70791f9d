#include "influence/choices.hpp"

namespace inflab::influence {

const Choices<Method>& solver_methods() {
  static const Choices<Method> t{
      "solver method",
      {{"exact", Method::Exact, "dense eigendecomposition of H (p up to a few thousand): exact to rounding"},
       {"cg", Method::Cg, "conjugate gradients to --tol (needs H + μI positive definite)"},
       {"minres", Method::Minres, "MINRES to --tol (symmetric, may be indefinite)"},
       {"lissa", Method::Lissa, "stochastic Neumann series (Agarwal et al. 2017); needs λmin(H + μI) > 0"},
       {"lowrank", Method::LowRank, "top --rank eigenpairs by Lanczos (Schioppa et al. 2022): an approximation"}}};
  return t;
}

const Choices<Curvature>& curvatures() {
  static const Choices<Curvature> t{"curvature",
                                    {{"hessian", Curvature::Hessian, "H = ∇²R(θ̂), including λI"},
                                     {"ggn", Curvature::GaussNewton, "Gauss–Newton G + λI: positive semi-definite"},
                                     {"kfac", Curvature::Kfac, "K-FAC: per-layer Kronecker factors of G (Linear, Conv2d) + λI; --fisher"},
                                     {"ekfac", Curvature::Ekfac, "EK-FAC: K-FAC's eigenbases with eigenvalues re-fitted on the data + λI"}}};
  return t;
}

const Choices<FisherLabels>& fisher_labels() {
  static const Choices<FisherLabels> t{
      "Fisher labels",
      {{"expected", FisherLabels::Expected, "every label, weighted by the model (= the Gauss–Newton's loss Hessian)"},
       {"sampled", FisherLabels::Sampled, "one label per row drawn from the model (--fisher-seed)"},
       {"empirical", FisherLabels::Empirical, "the true labels (empirical Fisher; not the Gauss–Newton)"}}};
  return t;
}

const Choices<ExactOptions::Indefinite>& indefinite_treatments() {
  static const Choices<ExactOptions::Indefinite> t{
      "treatment of an indefinite H",
      {{"invert", ExactOptions::Invert, "the plain inverse, negative eigenvalues included (fails on a zero one)"},
       {"abs", ExactOptions::Abs, "1/|λ + μ| in every direction (a positive definite stand-in)"},
       {"drop", ExactOptions::Drop, "leave out directions with |λ + μ| < 1e-8"}}};
  return t;
}

const Choices<Projection>& projections() {
  static const Choices<Projection> t{"projection",
                                     {{"gaussian", Projection::Gaussian, "entries N(0, 1/k) (Johnson–Lindenstrauss)"},
                                      {"orthogonal", Projection::Orthogonal, "Gaussian rows orthonormalised (k = p: an orthogonal matrix)"}}};
  return t;
}

}  // namespace inflab::influence
