// The curvature operator of the training objective at θ: v ↦ A v with A = H = ∇²R(θ)
// (includes λI), the generalised Gauss–Newton matrix G = (1/n) Σ Jᵢᵀ ∇²_z ℓ Jᵢ + λI,
// which is positive semi-definite even where H is not, or its K-FAC / EK-FAC
// approximation + λI (influence/kfac.hpp). Batch HVPs are averaged with
// weights n_b/n before any solve (never per-batch inverses). Each batch's primal pass is
// recorded once and reused by every product.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "autodiff/functional.hpp"
#include "nn/objective.hpp"

namespace inflab::influence {

enum class Curvature { Hessian, GaussNewton, Kfac, Ekfac };
// K-FAC's output gradients: the columns of a square root of ∇²_z ℓ (the Gauss–Newton's own,
// exact expectation over the model's labels), one label drawn from the model, or the true
// label (empirical Fisher). Their table: choices.hpp.
enum class FisherLabels { Expected, Sampled, Empirical };

// A curvature and the settings of the K-FAC kinds (ignored by the others).
struct CurvatureChoice {
  Curvature kind = Curvature::Hessian;
  FisherLabels labels = FisherLabels::Expected;
  std::uint64_t seed = 0;  // sampled labels
  CurvatureChoice(Curvature k = Curvature::Hessian) : kind(k) {}  // NOLINT: a kind is a choice with defaults
};
inline bool factored(Curvature k) { return k == Curvature::Kfac || k == Curvature::Ekfac; }

class Kfac;

class CurvatureOperator {
 public:
  // batch_size 0: one batch. Keeps references to obj and train (they must outlive it).
  CurvatureOperator(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                    const CurvatureChoice& choice = {}, std::size_t batch_size = 0);
  ~CurvatureOperator();
  CurvatureOperator(CurvatureOperator&&) noexcept;
  std::size_t dim() const { return p_; }
  Curvature kind() const { return kind_; }
  // K-FAC / EK-FAC: the factored matrix (its inverse is cheap: solve_kfac); else null.
  const Kfac* kfac() const { return kfac_.get(); }
  // A v for v [p], or A Vᵀ row-wise for V [k, p] (k directions in one sweep per batch).
  Tensor apply(const Tensor& v) const;
  // A v on one seeded random mini-batch of `batch` rows (for LiSSA's stochastic estimates).
  Tensor apply_sample(const Tensor& v, std::size_t batch, std::uint64_t seed) const;
  std::size_t products() const { return products_; }  // HVP directions applied so far
  const Tensor& theta() const { return theta_; }
  const nn::Objective& objective_fn() const { return obj_; }
  const data::Dataset& train() const { return train_; }
  double objective() const { return value_; }   // R(θ)
  double grad_norm() const { return grad_norm_; }  // ‖∇R(θ)‖: influence assumes ≈ 0

 private:
  struct Batch;
  const nn::Objective& obj_;
  const data::Dataset& train_;
  Tensor theta_;
  Curvature kind_;
  std::size_t p_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::unique_ptr<Kfac> kfac_;
  mutable std::size_t products_ = 0;
  double value_ = 0, grad_norm_ = 0;
};

// P G Pᵀ [k, k] for P [k, p], G = (1/n) Σ Jᵢᵀ ∇²_z ℓ Jᵢ + λI at θ: J Pᵀ by one forward-mode
// pass with k directions per `batch` rows (0: all), the loss Hessian in closed form, one GEMM.
Tensor projected_gauss_newton(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const Tensor& P,
                              std::size_t batch = 0);

// Row-wise softmax of outputs z [n, k] (stable: the row maximum subtracted).
Tensor softmax_rows(const Tensor& z, std::size_t n);

// The dense [p, p] matrix of A (one implementation: batched products against identity blocks
// of `block` columns, then symmetrised, (M + Mᵀ)/2, to remove the rounding asymmetry). Needs
// 8p² bytes; see dense_cost in solvers.hpp before calling it on a large model.
// after_block(columns done) runs after each block of products (e.g. to time the first one).
Tensor dense_matrix(const CurvatureOperator& A, std::size_t block = 64, const std::function<void(std::size_t)>& after_block = {});

}  // namespace inflab::influence
