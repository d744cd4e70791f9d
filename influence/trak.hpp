// A TRAK-style estimator (Park et al. 2023) in Δ̂'s sign and units (docs/conventions.md):
// per model m with parameters θ_m and a random projection P_m [k, p],
//   φᵢ = P ∇ℓ̃(zᵢ; θ_m),  φ_t = P ∇ℓ(z_t; θ_m),  G_P = P G(θ_m) Pᵀ  (G: Gauss–Newton + λI),
//   Δ̂_TRAK(zᵢ) = (1/M) Σ_m (1/n) φ_tᵀ (G_P + μI)⁻¹ φᵢ.
// With k = p, an orthogonal P and one model this is Δ̂ with the Gauss–Newton curvature exactly
// (Pᵀ(PGPᵀ + μI)⁻¹P = (G + μI)⁻¹ for orthogonal P); smaller k is a sketch of it, and the
// ensemble averages over models trained from other seeds (TRAK's answer to non-convexity).
#pragma once
#include <vector>

#include "influence/choices.hpp"
#include "datasets/dataset.hpp"
#include "nn/objective.hpp"

namespace inflab::influence {

struct TrakOptions {
  std::size_t dim = 0;  // k, 1 ≤ k ≤ p
  Projection projection = Projection::Gaussian;
  std::uint64_t seed = 0;  // projection m uses seed + m
  double damping = 0;      // μ
};

// P [k, p]: Gaussian entries N(0, 1/k), or those rows orthonormalised (Gram–Schmidt). Error
// naming the projection dimension unless 1 ≤ k ≤ p.
Tensor random_projection(std::size_t k, std::size_t p, Projection kind, std::uint64_t seed);

// [m, n] for the test rows `rows`, averaged over the models θ_m in `thetas` (trained on train).
Tensor trak(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const std::vector<std::size_t>& rows,
            const std::vector<Tensor>& thetas, const TrakOptions& o);

}  // namespace inflab::influence
