#include "experiments/choices.hpp"

namespace inflab::experiments {

const Choices<ModelKind>& model_kinds() {
  static const Choices<ModelKind> t{"model",
                                    {{"logreg", ModelKind::LogReg, "logistic regression (2 classes; binary logistic loss)"},
                                     {"softmax", ModelKind::Softmax, "softmax regression (cross-entropy)"},
                                     {"mlp", ModelKind::Mlp, "--depth hidden layers of --width units (or --hidden widths) with --activation"},
                                     {"cnn", ModelKind::Cnn, "small CNN for images: 2 × (conv 5×5, pool), dense 64"}}};
  return t;
}

const Choices<RetrainTarget>& retrain_targets() {
  static const Choices<RetrainTarget> t{
      "retraining target",
      {{"loo", RetrainTarget::Loo, "R without the removed rows, from θ̂: leave-one-out and group retraining"},
       {"loo-cold", RetrainTarget::LooCold, "R without the removed rows, trained as θ̂ was from its initialisation; Δ against the full data trained the same way"},
       {"loo-proximal", RetrainTarget::LooProximal, "R without the removed rows + (μ/2)‖θ − θ̂‖², μ = --retrain-damping: leave-one-out kept near θ̂"},
       {"pbrf", RetrainTarget::Pbrf, "the proximal Bregman response from θ̂ with damping --retrain-damping (Bae et al. 2022): what damped Gauss–Newton influence answers"},
       {"unrolled", RetrainTarget::Unrolled, "θ̂'s sgd run replayed from its initialisation with the removed rows' weights 0 (same batches and steps): what unrolled attribution differentiates"}}};
  return t;
}

const Choices<RetrainPreconditioning>& retrain_preconditionings() {
  static const Choices<RetrainPreconditioning> t{
      "preconditioner",
      {{"spectral", RetrainPreconditioning::Spectral, "the top --retrain-precondition-rank eigenpairs of H at θ̂ (Lanczos), the rest mapped to one value"},
       {"ekfac", RetrainPreconditioning::Ekfac, "EK-FAC at θ̂ + λI (Linear and Conv2d layers only)"},
       {"none", RetrainPreconditioning::None, "unpreconditioned CG"}}};
  return t;
}

const Choices<GroupKind>& group_kinds() {
  static const Choices<GroupKind> t{"group kind",
                                    {{"random", GroupKind::Random, "uniformly random rows (seeded)"},
                                     {"knn", GroupKind::Knn, "an anchor row and its nearest neighbours in input space"},
                                     {"class", GroupKind::Class, "random rows of one class"},
                                     {"gradient", GroupKind::Gradient, "rows whose training gradients cluster (k-means)"}}};
  return t;
}

const Choices<Candidates>& candidate_rules() {
  static const Choices<Candidates> t{
      "candidate rule",
      {{"top", Candidates::TopInfluence, "the --top rows with the largest |predicted Δ| (Basu et al. 2021)"},
       {"loss", Candidates::HighestLoss, "the --top rows with the highest training loss at θ̂ (Epifano et al. 2023)"},
       {"random", Candidates::Random, "--top random rows (seeded): influence over typical rows, not extreme ones"}}};
  return t;
}

const Choices<ParamScope>& param_scopes() {
  static const Choices<ParamScope> t{
      "parameter scope",
      {{"all", ParamScope::All, "every parameter: H is the whole network's Hessian"},
       {"last", ParamScope::LastLayer, "the last layer's weights and bias, the layers below frozen at θ̂ (Epifano et al. 2023)"}}};
  return t;
}

const Choices<Sweep>& sweeps() {
  static const Choices<Sweep> t{"sweep", {{"depth", Sweep::Depth, "hidden layers, at the base width"}, {"width", Sweep::Width, "hidden units, at the base depth"}}};
  return t;
}

const Choices<TestKind>& test_kinds() {
  static const Choices<TestKind> t{"test kind",
                                   {{"highest", TestKind::Highest, "the test point of highest loss at θ̂"},
                                    {"random", TestKind::Random, "random test points (seeded)"}}};
  return t;
}

}  // namespace inflab::experiments
