// Group influence: what removing a whole set U of training points does to a test loss.
// With p = |U|/n, g_U = Σ_{z∈U} ∇ℓ̃(z), H_U = Σ_{z∈U} ∇²ℓ̃(z) (docs/conventions.md):
//   first order   Δ̂₁(U) = (1/n) ∇ℓ(z_t)ᵀ H⁻¹ g_U                    (sum of the individual Δ̂)
//   second order  Δ̂₂(U) = ∇ℓ(z_t)ᵀ [ (1−2p)/(1−p)² (1/n) H⁻¹g_U + 1/(1−p)² (1/n²) H⁻¹H_U H⁻¹g_U ]
//                 (Basu, You, Feizi, ICML 2020)
//   Newton step   Δθ = (nH − H_U)⁻¹ g_U, Δ̂ₙ = ∇ℓ(z_t)ᵀ Δθ          (Koh et al. 2019)
// H⁻¹ means (H + μI)⁻¹ throughout, μ the solver's damping (in the Newton step too).
#pragma once
#include <cstdint>
#include <vector>

#include "influence/influence.hpp"

namespace inflab::influence {

// round(fraction · n), an Error unless it gives 1 ≤ size < n.
std::size_t group_size(std::size_t n, double fraction);
// An Error for an empty group, a row out of range, duplicates, or the whole training set.
void check_group(const std::vector<std::size_t>& group, std::size_t n);

std::vector<std::size_t> random_group(std::size_t n, std::size_t size, std::uint64_t seed);
// `size` random rows of class `cls` (Error if the class has fewer).
std::vector<std::size_t> class_group(const data::Dataset& d, std::size_t cls, std::size_t size, std::uint64_t seed);
// The anchor row and its size − 1 nearest neighbours in input space (Euclidean).
std::vector<std::size_t> knn_group(const data::Dataset& d, std::size_t anchor, std::size_t size);
// Groups of points whose training gradients point alike: k-means (k-means++ start, seeded)
// on the per-example gradients ∇ℓ̃(zᵢ; θ) with k = round(n / size) clusters; group j holds
// the `size` rows nearest the centre of cluster j. When θ has more than
// `sketch` entries the gradients are first projected on `sketch` seeded Gaussian directions
// (Johnson–Lindenstrauss; one batched forward-mode pass, never an n × p matrix). Returns
// `count` groups (Error if there are fewer clusters), largest clusters first.
std::vector<std::vector<std::size_t>> gradient_cluster_groups(const nn::Objective& obj, const data::Dataset& train,
                                                              const Tensor& theta, std::size_t size, std::size_t count,
                                                              std::uint64_t seed, std::size_t sketch = 64);

struct GroupPrediction {
  std::size_t size = 0;
  double fraction = 0;      // p = |U| / n
  double first_order = 0;   // Δ̂₁: predicted change of the test loss when U is removed
  double second_order = 0;  // Δ̂₂
  double newton = 0;        // Δ̂ₙ (NaN when p is above newton_max_p)
  std::size_t products = 0; // curvature products the two solves used
  double rel_residual = 0;  // the larger measured residual of the two solves
  std::string warning;      // a solve's warning ("" when both are fine)
};

// test_grad: ∇ℓ(z_t; θ̂) (e.g. from test_loss_gradient); inv solves with H at θ̂ on the
// training set. The Newton step needs dense matrices: computed when p ≤ newton_max_p.
GroupPrediction group_influence(const InverseHvp& inv, const Tensor& test_grad, const std::vector<std::size_t>& group,
                                std::size_t newton_max_p = 3000);

}  // namespace inflab::influence
