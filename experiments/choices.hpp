// The experiment layer's choice tables (util/choice.hpp): model kinds, group kinds, the
// fragility study's candidate rules and parameter scopes. The layer builds on influence/:
// its names are used here unqualified, as the experiment layer's own vocabulary.
#pragma once
#include "experiments/choices.hpp"
#include "influence/choices.hpp"
#include "util/choice.hpp"

namespace inflab::experiments {

using namespace influence;

enum class ModelKind { LogReg, Softmax, Mlp, Cnn };
// How removal groups are formed (experiments.hpp, make_groups).
enum class GroupKind { Random, Knn, Class, Gradient };
// Which training rows a fragility row retrains (studies.hpp).
enum class Candidates { TopInfluence, HighestLoss, Random };
// Which parameters influence differentiates: all, or the last layer's (last_layer.hpp).
enum class ParamScope { All, LastLayer };
// The fragility study's axes (studies.hpp): a setting varies depth or width.
enum class Sweep { Depth, Width };
// The fragility study's test points: the highest-loss one, or random ones.
enum class TestKind { Highest, Random };

// What a retraining job computes (retrain.hpp, RetrainProtocol::target): R without the removed
// rows from θ̂ (leave-one-out / group retraining), the same with a proximity term, the proximal
// Bregman response (influence/pbrf.hpp); or θ̂'s own training from its initialisation without
// the rows (loo-cold), or with their weights 0 in the same batches (unrolled).
enum class RetrainTarget { Loo, LooCold, LooProximal, Pbrf, Unrolled };
inline bool damped(RetrainTarget t) { return t == RetrainTarget::LooProximal || t == RetrainTarget::Pbrf; }  // reads RetrainProtocol::damping
// from the initialisation with θ̂'s training, Δ against the full data trained the same way
inline bool from_scratch(RetrainTarget t) { return t == RetrainTarget::LooCold || t == RetrainTarget::Unrolled; }
const Choices<RetrainTarget>& retrain_targets();

// Newton–CG retraining's preconditioner (retrain.hpp, RetrainProtocol::preconditioning).
enum class RetrainPreconditioning { Spectral, Ekfac, None };
const Choices<RetrainPreconditioning>& retrain_preconditionings();

// The datasets a spec can name (besides csv:PATH), with help (the loaders: problem.cpp).
enum class DatasetKind { Iris, Wine, BreastCancer, Digits, FashionMnist, Blobs, Moons };
const Choices<DatasetKind>& datasets();
const Choices<ModelKind>& model_kinds();
const Choices<GroupKind>& group_kinds();
const Choices<Candidates>& candidate_rules();
const Choices<ParamScope>& param_scopes();
const Choices<Sweep>& sweeps();
const Choices<TestKind>& test_kinds();

}  // namespace inflab::experiments
