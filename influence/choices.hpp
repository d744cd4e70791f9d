// The influence layer's choice tables (util/choice.hpp): inverse-HVP solvers, curvature,
// model kinds and group kinds. The CLI's option checks and help come from these.
#pragma once
#include "influence/curvature.hpp"
#include "influence/influence.hpp"
#include "util/choice.hpp"

namespace inflab::influence {

enum class ModelKind { LogReg, Softmax, Mlp, Cnn };
// Estimators that `inflab influence --method` takes besides the inverse-HVP solvers: gradient
// similarity and TracIn (tracin.hpp), TRAK (trak.hpp).
enum class Estimator { GradDot, GradCos, TracIn, Trak };
// TRAK's random projection (trak.hpp).
enum class Projection { Gaussian, Orthogonal };
// How removal groups are formed (experiments.hpp, make_groups).
enum class GroupKind { Random, Knn, Class, Gradient };
// Which training rows a fragility row retrains (studies.hpp).
enum class Candidates { TopInfluence, HighestLoss, Random };
// Which parameters influence differentiates: all, or the last layer's (last_layer.hpp).
enum class ParamScope { All, LastLayer };

const Choices<Method>& solver_methods();
const Choices<Curvature>& curvatures();
const Choices<FisherLabels>& fisher_labels();  // K-FAC's output gradients
const Choices<ExactOptions::Indefinite>& indefinite_treatments();  // exact on an indefinite H
const Choices<Estimator>& estimators();
const Choices<Projection>& projections();
const Choices<ModelKind>& model_kinds();
const Choices<GroupKind>& group_kinds();
const Choices<Candidates>& candidate_rules();
const Choices<ParamScope>& param_scopes();

}  // namespace inflab::influence
