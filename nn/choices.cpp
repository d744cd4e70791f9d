#include "nn/choices.hpp"

namespace inflab::nn {

const Choices<Activation>& activations() {
  static const Choices<Activation> t{"activation",
                                     {{"tanh", Activation::Tanh, "smooth; the default for Hessian work"},
                                      {"relu", Activation::Relu, "max(0, x): piecewise linear, H has kinks"},
                                      {"sigmoid", Activation::Sigmoid, "1 / (1 + e⁻ˣ)"},
                                      {"softplus", Activation::Softplus, "log(1 + eˣ): a smooth relu"},
                                      {"elu", Activation::Elu, "x, or eˣ − 1 below 0"},
                                      {"selu", Activation::Selu, "scaled elu (self-normalising)"},
                                      {"gelu", Activation::Gelu, "x Φ(x) (tanh approximation)"}}};
  return t;
}

const Choices<LossKind>& losses() {
  static const Choices<LossKind> t{"loss",
                                   {{"cross_entropy", LossKind::CrossEntropy, "softmax cross-entropy, output [C]"},
                                    {"binary_logistic", LossKind::BinaryLogistic, "log(1 + eᶻ) − y z, output [1]"},
                                    {"mse", LossKind::MSE, "mean squared error (regression)"}}};
  return t;
}

const Choices<Optimizer>& optimizers() {
  static const Choices<Optimizer> t{"optimizer",
                                    {{"lbfgs", Optimizer::Lbfgs, "full-batch L-BFGS with line search, to a gradient tolerance"},
                                     {"newton-cg", Optimizer::NewtonCg, "full-batch trust-region Newton–CG with exact HVPs, to a tolerance"},
                                     {"newton", Optimizer::Newton, "full-batch Newton (dense H; small models), to a tolerance"},
                                     {"adam", Optimizer::Adam, "Adam on mini-batches, for a budget of epochs"},
                                     {"sgd", Optimizer::Sgd, "SGD on mini-batches, for a budget of epochs"}}};
  return t;
}

}  // namespace inflab::nn
