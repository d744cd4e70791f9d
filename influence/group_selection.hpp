// The most influential group of size k for one test point: the k training rows whose joint
// removal moves the test loss the most (up, by default: the rows that help it most).
//   greedy       the k largest first-order Δ̂ᵢ (first-order group influence is additive,
//                so this maximises Δ̂₁ exactly);
//   second order relax the indicator to w ∈ [0,1]ⁿ with Σw = k and ascend the second-order
//                estimate (group.hpp) with g_w = Σ wᵢ∇ℓ̃ᵢ, H_w = Σ wᵢ∇²ℓ̃ᵢ, p = k/n:
//                  F(w) = c₁/n · sᵀg_w + c₂/n² · sᵀH_w H⁻¹g_w,  s = H⁻¹∇ℓ(z_t),
//                  c₁ = (1−2p)/(1−p)², c₂ = 1/(1−p)²,
//                  ∂F/∂wᵢ = c₁/n · sᵀ∇ℓ̃ᵢ + c₂/n² · (sᵀ∇²ℓ̃ᵢ a + bᵀ∇ℓ̃ᵢ),
//                  a = H⁻¹g_w, b = H⁻¹H_w s;
//                by projected gradient steps (projection onto the capped simplex), then
//                rounded to the k largest wᵢ.
// The per-example terms are batched forward-mode passes; sᵀ∇²ℓ̃ᵢa for all i is a central
// difference of the forward-mode sᵀ∇ℓ̃ᵢ at θ ± h a (the tape has no forward-over-forward).
#pragma once
#include <vector>

#include "influence/group.hpp"

namespace inflab::influence {

struct SelectionOptions {
  std::size_t iterations = 60;
  bool increase = true;  // false: the group whose removal lowers the test loss most
};

struct GroupSelection {
  std::vector<std::size_t> greedy, second_order;  // sorted rows
  GroupPrediction greedy_estimate, second_order_estimate;  // group_influence of each
  std::vector<double> objective;  // F(w) after each accepted step of the relaxation
  std::size_t iterations = 0, products = 0;
};

GroupSelection most_influential_group(const InverseHvp& inv, const Tensor& test_grad, std::size_t k,
                                      const SelectionOptions& o = {});

// Euclidean projection of v onto {w : 0 ≤ wᵢ ≤ 1, Σwᵢ = k} (bisection on the shift τ in
// wᵢ = clip(vᵢ − τ, 0, 1)).
std::vector<double> project_capped_simplex(const std::vector<double>& v, double k);

// sᵀ∇²ℓ̃(zᵢ)a for every training row, by the central difference described above.
Tensor train_second_directional(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta,
                                const Tensor& s, const Tensor& a);

}  // namespace inflab::influence
