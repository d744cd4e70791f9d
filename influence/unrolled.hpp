// Exact attribution through a training run (Hara, Nitanda & Maehara 2019, "SGD-influence";
// Ilyas & Engstrom 2025, "MAGIC"): for a deterministic run — fixed initialisation θ₀, batch
// order and learning rates — of SGD with momentum μ (μ = 0: plain SGD; one full batch: GD),
// each row i carries a weight wᵢ in its batches' gradients,
//   g_k(θ, w) = (1/|B_k|) Σ_{i∈B_k} wᵢ ∇ℓ̃(zᵢ; θ),  v_{k+1} = μ v_k + g_k(θ_k, w),  θ_{k+1} = θ_k − η_k v_{k+1},
// and the attribution of row i on a test loss is the change predicted for removing it,
// −∂ℓ(z_t; θ_T)/∂wᵢ at w = 1, in Δ̂'s sign and units (docs/conventions.md). The adjoint
// recursion, from a = ∇ℓ(z_t; θ_T), b = 0, for k = T − 1 … 0:
//   u = b − η_k a,   −∂ℓ/∂wᵢ −= (1/|B_k|) ∇ℓ̃(zᵢ; θ_k)ᵀu  (i ∈ B_k),   a += ∇²R_{B_k}(θ_k) u,   b = μ u,
// one HVP and one forward-mode pass over the batch per step; the states θ_0 … θ_T are stored
// (T·p doubles). docs/influence.md, "Exact attribution through training".
#pragma once
#include <vector>

#include "datasets/dataset.hpp"
#include "nn/trainer.hpp"

namespace inflab::influence {

// A deterministic run: where it starts and how it trains (sgd only; Nesterov is not derived).
struct TrainingRun {
  Tensor theta0;
  nn::TrainOptions options;
};
// Error unless the run is sgd without Nesterov momentum (naming what is not supported).
void check_unrollable(const nn::TrainOptions& o);

// The run replayed for `steps` steps with row weights w [n] (w = 1: the run itself, up to the
// rounding of the weighted sum): the ground truth the attribution differentiates.
Tensor train_weighted(const nn::Objective& obj, const data::Dataset& train, const TrainingRun& run, const std::vector<double>& w,
                      std::size_t steps);

struct Unrolled {
  Tensor predicted;      // [m, n]: −∂ℓ(z_t; θ_T)/∂wᵢ for test row rows[t], training row i
  Tensor theta;          // θ_T of the replayed run
  std::size_t steps = 0;
  double state_bytes = 0;  // the stored states, (T + 1)·p·8
};
// Trains the run (as nn::train does, recording every θ_k), then the adjoint recursion for the
// test rows together ([m, p] directions per HVP).
Unrolled unrolled_attribution(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                              const std::vector<std::size_t>& rows, const TrainingRun& run);

}  // namespace inflab::influence
