// Influence on the last layer only (Koh & Liang 2017 on Inception; the protocol of Epifano et
// al. 2023): every layer below the last Linear is frozen at θ̂, so the problem is that layer on
// the features φ(x) they compute. Its objective
//   R_L(W, b) = (1/n) Σᵢ ℓ(W φ(xᵢ) + b, yᵢ) + (λ/2)‖(W, b)‖²
// differs from R(θ̂ with the last layer set to (W, b)) by the constant (λ/2)‖θ_below‖², so its
// gradient and Hessian are exactly the last layer's blocks of ∇R and ∇²R (docs/influence.md).
#pragma once
#include <optional>

#include "experiments/choices.hpp"
#include "experiments/problem.hpp"

namespace inflab::experiments {

// The last-layer problem of p: train and test rows replaced by their features at θ̂ (same rows,
// labels and source rows), the objective a single Linear layer with p's loss and λ, θ its slice
// of p.theta (the trailing entries). Error naming the model when it does not end in a Linear
// layer inside a Sequential.
Problem last_layer(const Problem& p);
// The problem Δ̂ is computed on: p itself (ParamScope::All), or last_layer(p) held in `storage`.
const Problem& scoped(const Problem& p, ParamScope scope, std::optional<Problem>& storage);

}  // namespace inflab::experiments
