// The nn layer's choice tables: activations, losses, optimizers (name, value, one line of
// help). Parsing and help text everywhere come from these (util/choice.hpp).
#pragma once
#include "nn/layers.hpp"
#include "nn/objective.hpp"
#include "nn/trainer.hpp"
#include "util/choice.hpp"

namespace inflab::nn {

const Choices<Activation>& activations();
const Choices<LossKind>& losses();
const Choices<Optimizer>& optimizers();

}  // namespace inflab::nn
