// K-FAC and EK-FAC curvature (Martens & Grosse 2015; Grosse & Martens 2016 for convolutions;
// George et al. 2018 for the eigenvalue correction), block-diagonal over the Linear and Conv2d
// layers. For one layer with inputs x̃ (bias column appended; a convolution's patches, one per
// output position t of T) and output gradients g, the Gauss–Newton block
//   G_l = (1/n) Σᵢ Σ_c vec(Σ_t g_{itc} x̃_{it}ᵀ) vec(…)ᵀ
// is approximated by  S ⊗ A  with  A = (1/n) Σᵢ Σ_t x̃ x̃ᵀ,  S = (1/(nT)) Σᵢ Σ_t Σ_c g gᵀ.
// "c" runs over the columns of a square root of the loss Hessian ∇²_z ℓ (expected Fisher,
// = the Gauss–Newton's own), over one label drawn from the model (sampled) or the true label
// (empirical Fisher). EK-FAC keeps the eigenbasis Q = Q_S ⊗ Q_A and re-fits the eigenvalues
// on the data: Λ_{oi} = (1/n) Σᵢ Σ_c ((Q_Sᵀ DW_{ic} Q_A)_{oi})², the diagonal of Qᵀ G_l Q.
// Conventions and which cases are exact: docs/influence.md.
#pragma once
#include <string>
#include <vector>

#include "influence/solvers.hpp"
#include "nn/optim.hpp"

namespace inflab::influence {

// One layer's block of θ: W [out, in] at weight_offset (in = inputs, or C·k·k for Conv2d)
// and, with bias, b [out] at bias_offset. Its matrix is [out, d], d = in + bias.
struct KfacBlock {
  std::string name;  // the weight's parameter name, e.g. "0.weight"
  std::size_t weight_offset = 0, bias_offset = 0, out = 0, in = 0, positions = 1;
  bool bias = false;
  Tensor A, S;       // Kronecker factors [d, d] and [out, out]
  Tensor QA, QS;     // their eigenvectors (columns)
  Tensor eigen;      // [out, d]: eigenvalues of the block in the basis Q_S ⊗ Q_A (K-FAC: s_o a_i; EK-FAC: re-fitted)
  std::size_t d() const { return in + (bias ? 1 : 0); }
};

class Kfac {
 public:
  // Error if the model has parameters outside Linear and Conv2d layers. `batch`: rows per
  // forward/backward pass (0: all); the result does not depend on it.
  Kfac(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const CurvatureChoice& c,
       std::size_t batch = 256);
  const std::vector<KfacBlock>& blocks() const { return blocks_; }
  bool corrected() const { return corrected_; }
  // (F + shift·I) v and (F + shift·I)⁻¹ v, F the block-diagonal K-FAC (or EK-FAC) matrix
  // without λ; v [p] or [k, p]. solve: an Error when F + shift·I is singular.
  Tensor apply(const Tensor& v, double shift) const;
  Tensor solve(const Tensor& v, double shift) const;

 private:
  Tensor transform(const Tensor& v, double shift, bool inverse) const;
  std::vector<KfacBlock> blocks_;
  std::size_t p_ = 0;
  bool corrected_ = false;
};

// Newton–CG's preconditioner P = F + shift·I, F the K-FAC or EK-FAC matrix (for a retrain:
// at θ̂, shift = λ, so that P approximates the whole ∇²R).
class KfacPreconditioner final : public nn::Preconditioner {
 public:
  KfacPreconditioner(Kfac kfac, double shift) : kfac_(std::move(kfac)), shift_(shift) {}
  Tensor solve(const Tensor& v) const override { return kfac_.solve(v, shift_); }

 private:
  Kfac kfac_;
  double shift_;
};
}  // namespace inflab::influence
