// DataInf (Kwon, Wu, Wu & Zou, ICLR 2024) in Δ̂'s sign and units (docs/conventions.md): the
// inverse of a damped empirical Fisher, with the order of inverse and average swapped,
//   (F + μI)⁻¹ ≈ (1/(nμ)) Σⱼ (I − gⱼgⱼᵀ/(μ + ‖gⱼ‖²)),  F = (1/n) Σⱼ gⱼgⱼᵀ,  gⱼ = ∇ℓ̃(zⱼ; θ̂),
// each term the exact inverse of μI + gⱼgⱼᵀ (Sherman–Morrison), so no solve and no HVP:
//   Δ̂(zᵢ) = (1/n) vᵀ(F + μI)⁻¹gᵢ ≈ (1/(n²μ)) Σⱼ [vᵀgᵢ − (vᵀgⱼ)(gⱼᵀgᵢ)/(μ + ‖gⱼ‖²)],  v = ∇ℓ(z_t; θ̂).
// The paper applies this per layer; here all parameters are one block. Exact when n = 1; the
// error grows with μ small against ‖gⱼ‖² (the paper's bound).
#pragma once
#include <vector>

#include "datasets/dataset.hpp"
#include "nn/objective.hpp"

namespace inflab::influence {

// [m, n] for the test rows `rows`. Error unless μ > 0 (the approximation divides by it).
// Memory: the n per-example gradients (n·p doubles) and their Gram matrix (n²).
Tensor datainf(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test, const std::vector<std::size_t>& rows,
               const Tensor& theta, double damping);

}  // namespace inflab::influence
