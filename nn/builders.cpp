#include "nn/builders.hpp"

namespace inflab::nn {

namespace {
template <class T, class... A>
ModulePtr make(A&&... a) {
  return std::make_shared<T>(std::forward<A>(a)...);
}
ModulePtr act_layer(Activation a) { return make<ActivationLayer>(a); }
}  // namespace

Model logistic_regression(std::size_t d) { return Model(make<Sequential>(std::vector<ModulePtr>{make<Linear>(d, 1)}), {d}); }

Model softmax_regression(std::size_t d, std::size_t classes) {
  if (classes < 2) throw Error("softmax_regression: needs at least 2 classes");
  return Model(make<Sequential>(std::vector<ModulePtr>{make<Linear>(d, classes)}), {d});
}

Model mlp(std::size_t input, std::size_t depth, std::size_t width, Activation act, std::size_t classes) {
  if (depth > 0 && width == 0) throw Error("mlp: width must be positive");
  return mlp(input, std::vector<std::size_t>(depth, width), act, classes);
}

Model mlp(std::size_t input, const std::vector<std::size_t>& widths, Activation act, std::size_t classes) {
  std::vector<ModulePtr> l;
  std::size_t in = input;
  for (std::size_t w : widths) {
    l.push_back(make<Linear>(in, w));
    l.push_back(act_layer(act));
    in = w;
  }
  l.push_back(make<Linear>(in, classes));
  return Model(make<Sequential>(std::move(l)), {input});
}

Model small_cnn(const Shape& input, std::size_t classes, Activation act) {
  if (input.size() != 3) throw Error("small_cnn: input must be [C, H, W], got " + shape_str(input));
  const std::size_t C = input[0], H = input[1] / 4, W = input[2] / 4;
  if (!H || !W) throw Error("small_cnn: input " + shape_str(input) + " is smaller than 4×4");
  std::vector<ModulePtr> l{make<Conv2d>(C, 8, 5, 1, 2),  act_layer(act), make<Pool2d>(true, 2),
                           make<Conv2d>(8, 16, 5, 1, 2), act_layer(act), make<Pool2d>(true, 2),
                           make<Flatten>(),              make<Linear>(16 * H * W, 64), act_layer(act),
                           make<Linear>(64, classes)};
  return Model(make<Sequential>(std::move(l)), input);
}

Model small_vgg(std::size_t classes, Activation act, const Shape& input) {
  std::vector<ModulePtr> l;
  std::size_t c = input.at(0);
  for (std::size_t out : {16, 32, 64}) {
    l.push_back(make<Conv2d>(c, out, 3, 1, 1));
    l.push_back(act_layer(act));
    l.push_back(make<Conv2d>(out, out, 3, 1, 1));
    l.push_back(act_layer(act));
    l.push_back(make<Pool2d>(true, 2));
    c = out;
  }
  l.push_back(make<Flatten>());
  const std::size_t flat = 64 * (input.at(1) / 8) * (input.at(2) / 8);
  l.push_back(make<Linear>(flat, 128));
  l.push_back(act_layer(act));
  l.push_back(make<Linear>(128, classes));
  return Model(make<Sequential>(std::move(l)), input);
}

Model small_resnet(std::size_t classes, Activation act, const Shape& input) {
  std::vector<ModulePtr> l{make<Conv2d>(input.at(0), 16, 3, 1, 1), act_layer(act)};
  std::size_t c = 16;
  for (auto [out, stride] : std::vector<std::pair<std::size_t, std::size_t>>{{16, 1}, {32, 2}, {64, 2}}) {
    ModulePtr body = make<Sequential>(std::vector<ModulePtr>{make<Conv2d>(c, out, 3, stride, 1), act_layer(act),
                                                            make<Conv2d>(out, out, 3, 1, 1)});
    ModulePtr proj = (out != c || stride != 1) ? make<Conv2d>(c, out, 1, stride, 0) : nullptr;
    l.push_back(make<Residual>(body, proj, act));
    c = out;
  }
  const std::size_t h = (input.at(1) + 3) / 4, w = (input.at(2) + 3) / 4;  // after two stride-2 convs
  l.push_back(make<Pool2d>(false, std::min(h, w)));
  l.push_back(make<Flatten>());
  l.push_back(make<Linear>(64 * (h / std::min(h, w)) * (w / std::min(h, w)), classes));
  return Model(make<Sequential>(std::move(l)), input);
}

}  // namespace inflab::nn
