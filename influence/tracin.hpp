// Gradient similarity and TracIn (Pruthi et al. 2020), in the sign and units of Δ̂
// (docs/conventions.md): positive means the training row helped the test point, i.e.
// removing it is predicted to raise the test loss.
//   gradient dot   D(zᵢ) = (1/n) ∇ℓ(z_t; θ̂)ᵀ ∇ℓ̃(zᵢ; θ̂)          — Δ̂ with H replaced by I (÷ n)
//   gradient cosine        cos(∇ℓ(z_t; θ̂), ∇ℓ̃(zᵢ; θ̂))        — unitless, in [−1, 1]; a ranking only
//   TracIn         T(zᵢ) = (1/n) Σ_t η_t ∇ℓ(z_t; θ_t)ᵀ ∇ℓ̃(zᵢ; θ_t) — over saved steps θ_t with rate η_t (÷ n:
//                  a full-batch gradient step moves the test loss by −(η/n) Σᵢ ∇ℓ(z_t)ᵀ∇ℓ̃(zᵢ))
// Each returns [m, n]: row j for test row rows[j], column i for training row i.
#pragma once
#include <vector>

#include "datasets/dataset.hpp"
#include "nn/objective.hpp"

namespace inflab::influence {

// θ after `step` optimizer steps of an sgd/adam run, with that step's learning rate.
struct Snapshot {
  std::size_t step = 0;
  double lr = 0;
  Tensor theta;
};

Tensor gradient_dot(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                    const std::vector<std::size_t>& rows, const Tensor& theta);
// One reverse pass per training row for ‖∇ℓ̃(zᵢ)‖; a zero gradient gives cosine 0.
Tensor gradient_cosine(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                       const std::vector<std::size_t>& rows, const Tensor& theta);
// Error when the trajectory is empty (TracIn needs parameters saved during training).
Tensor tracin(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
              const std::vector<std::size_t>& rows, const std::vector<Snapshot>& trajectory);
// TracIn's self-influence (Pruthi et al. 2020: their detector of mislabelled rows), not ÷ n:
// Σ_t η_t ‖∇ℓ̃(zᵢ; θ_t)‖² for every training row [n].
Tensor tracin_self(const nn::Objective& obj, const data::Dataset& train, const std::vector<Snapshot>& trajectory);
// ‖∇ℓ̃(zᵢ; θ)‖² for every training row [n]: the gradient dot product's self-influence (not ÷ n).
Tensor gradient_self(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta);

}  // namespace inflab::influence
