// Model builders. depth/width are plain numbers so studies can sweep them.
#pragma once
#include "nn/layers.hpp"
#include "nn/model.hpp"

namespace inflab::nn {

// One Linear layer d -> 1 (use with LossKind::BinaryLogistic).
Model logistic_regression(std::size_t d);
// One Linear layer d -> classes (use with LossKind::CrossEntropy).
Model softmax_regression(std::size_t d, std::size_t classes);
// depth hidden layers of `width` units with `act`, then a linear head; depth 0 is
// softmax regression.
Model mlp(std::size_t input, std::size_t depth, std::size_t width, Activation act, std::size_t classes);
// Hidden layers of the given widths, e.g. mlp(784, {128, 64}, tanh, 10).
Model mlp(std::size_t input, const std::vector<std::size_t>& widths, Activation act, std::size_t classes);
// The small MNIST-size CNN: [conv 5×5 (pad 2) → act → max-pool 2] × 2 with 8 and 16
// channels, then Linear(→ 64) → act → Linear(→ classes). Input [C, H, W], H and W ≥ 4.
Model small_cnn(const Shape& input, std::size_t classes, Activation act = Activation::Relu);
// VGG-style for [3, 32, 32]: [conv3×3 → act] ×2 per stage, channels 16, 32, 64, max-pool
// after each stage, then Linear(1024 → 128) → act → Linear(→ classes).
Model small_vgg(std::size_t classes, Activation act = Activation::Relu, const Shape& input = {3, 32, 32});
// ResNet-style for [3, 32, 32]: conv3×3 16 → act, residual blocks (16), (32, stride 2,
// 1×1 projection), (64, stride 2, projection), avg-pool to 1×1, Linear(64 → classes).
Model small_resnet(std::size_t classes, Activation act = Activation::Relu, const Shape& input = {3, 32, 32});

}  // namespace inflab::nn
