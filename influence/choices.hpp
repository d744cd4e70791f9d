// The influence layer's choice tables (util/choice.hpp): inverse-HVP solvers, curvature,
// K-FAC's labels, the treatment of an indefinite H, TRAK's projection. The estimators' table
// is influence/estimator.hpp. The CLI's option checks and help come from these.
#pragma once
#include "influence/curvature.hpp"
#include "influence/influence.hpp"
#include "util/choice.hpp"

namespace inflab::influence {

// TRAK's random projection (trak.hpp).
enum class Projection { Gaussian, Orthogonal };

const Choices<Method>& solver_methods();
const Choices<Curvature>& curvatures();
const Choices<FisherLabels>& fisher_labels();  // K-FAC's output gradients
const Choices<ExactOptions::Indefinite>& indefinite_treatments();  // exact on an indefinite H
const Choices<Projection>& projections();

}  // namespace inflab::influence
