#include "nn/layers.hpp"

#include "nn/choices.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "autodiff/ops.hpp"

namespace inflab::nn {

using json = nlohmann::json;

namespace {
[[noreturn]] void misfit(const std::string& layer, const Shape& in, const std::string& want) {
  throw Error(layer + ": input samples of shape " + shape_str(in) + " do not fit (expects " + want + ")");
}
double fan_bound(std::size_t fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }
}  // namespace

ad::Var ParamCursor::next(const Shape& shape) {
  const std::size_t n = numel(shape);
  ad::Var v = ad::slice(theta_, off_, shape);
  off_ += n;
  return v;
}

Activation parse_activation(const std::string& name) {
  if (!activations().has(name)) throw Error("unknown activation '" + name + "' (choose " + activations().names() + ")");
  return activations().parse(name);
}

const char* activation_name(Activation a) { return activations().name(a).c_str(); }

ad::Var activate(Activation a, ad::Var x) {
  switch (a) {
    case Activation::Tanh: return ad::tanh(x);
    case Activation::Relu: return ad::relu(x);
    case Activation::Sigmoid: return ad::sigmoid(x);
    case Activation::Softplus: return ad::softplus(x);
    case Activation::Elu: return ad::elu(x);
    case Activation::Selu: return ad::selu(x);
    case Activation::Gelu: return ad::gelu(x);
  }
  return x;
}

// ---- Linear: y = x Wᵀ + b
Linear::Linear(std::size_t in_, std::size_t out_, bool bias_) : in(in_), out(out_), bias(bias_) {
  if (!in || !out) throw Error("Linear: sizes must be positive, got in " + std::to_string(in) + ", out " + std::to_string(out));
}
Shape Linear::output_shape(const Shape& s) const {
  if (s != Shape{in}) misfit("Linear(" + std::to_string(in) + " → " + std::to_string(out) + ")", s, "[" + std::to_string(in) + "]");
  return {out};
}
void Linear::params(std::vector<ParamSpec>& o, const std::string& pre) const {
  o.push_back({pre + "weight", {out, in}, Init::Uniform, fan_bound(in)});
  if (bias) o.push_back({pre + "bias", {out}, Init::Uniform, fan_bound(in)});
}
ad::Var Linear::forward(ad::Var x, ParamCursor& p) const {
  ad::Var W = p.next({out, in});
  ad::Var y = ad::matmul_nt(x, W);
  return bias ? ad::add(y, p.next({out})) : y;
}
void Linear::to_json(json& j) const { j = {{"kind", kind()}, {"in", in}, {"out", out}, {"bias", bias}}; }

// ---- Conv2d
Conv2d::Conv2d(std::size_t ic, std::size_t oc, std::size_t k, std::size_t s, std::size_t pad, bool b)
    : in_channels(ic), out_channels(oc), kernel(k), stride(s), padding(pad), bias(b) {
  if (!ic || !oc || !k || !s) throw Error("Conv2d: channels, kernel and stride must be positive");
}
Shape Conv2d::output_shape(const Shape& s) const {
  const std::string name = "Conv2d(" + std::to_string(in_channels) + " → " + std::to_string(out_channels) + ", " +
                           std::to_string(kernel) + "×" + std::to_string(kernel) + ")";
  if (s.size() != 3 || s[0] != in_channels)
    misfit(name, s, "[" + std::to_string(in_channels) + ", H, W]");
  if (s[1] + 2 * padding < kernel || s[2] + 2 * padding < kernel) misfit(name, s, "H, W ≥ kernel − 2·padding");
  return {out_channels, (s[1] + 2 * padding - kernel) / stride + 1, (s[2] + 2 * padding - kernel) / stride + 1};
}
void Conv2d::params(std::vector<ParamSpec>& o, const std::string& pre) const {
  const double b = fan_bound(in_channels * kernel * kernel);
  o.push_back({pre + "weight", {out_channels, in_channels, kernel, kernel}, Init::Uniform, b});
  if (bias) o.push_back({pre + "bias", {out_channels}, Init::Uniform, b});
}
ad::Var Conv2d::forward(ad::Var x, ParamCursor& p) const {
  ad::Var W = p.next({out_channels, in_channels, kernel, kernel});
  ad::Var b = bias ? p.next({out_channels}) : ad::Var{};
  return ad::conv2d(x, W, b, ad::Conv2dOptions{stride, padding});
}
void Conv2d::to_json(json& j) const {
  j = {{"kind", kind()}, {"in_channels", in_channels}, {"out_channels", out_channels}, {"kernel", kernel},
       {"stride", stride}, {"padding", padding}, {"bias", bias}};
}

// ---- pooling
Pool2d::Pool2d(bool m, std::size_t k, std::size_t s) : max(m), kernel(k), stride(s) {
  if (!k) throw Error(kind() + ": kernel must be positive");
}
Shape Pool2d::output_shape(const Shape& s) const {
  const std::size_t st = stride ? stride : kernel;
  if (s.size() != 3 || s[1] < kernel || s[2] < kernel)
    misfit(kind() + "(" + std::to_string(kernel) + ")", s, "[C, H, W] with H, W ≥ " + std::to_string(kernel));
  return {s[0], (s[1] - kernel) / st + 1, (s[2] - kernel) / st + 1};
}
ad::Var Pool2d::forward(ad::Var x, ParamCursor&) const {
  return max ? ad::max_pool2d(x, kernel, stride) : ad::avg_pool2d(x, kernel, stride);
}
void Pool2d::to_json(json& j) const { j = {{"kind", kind()}, {"kernel", kernel}, {"stride", stride}}; }

// ---- Flatten
Shape Flatten::output_shape(const Shape& s) const {
  if (s.empty()) misfit("Flatten", s, "at least one axis");
  return {numel(s)};
}
ad::Var Flatten::forward(ad::Var x, ParamCursor&) const { return ad::flatten(x); }
void Flatten::to_json(json& j) const { j = {{"kind", kind()}}; }

// ---- activation
ad::Var ActivationLayer::forward(ad::Var x, ParamCursor&) const { return activate(act, x); }
void ActivationLayer::to_json(json& j) const { j = {{"kind", kind()}, {"activation", activation_name(act)}}; }

// ---- Sequential
Sequential::Sequential(std::vector<ModulePtr> l) : layers(std::move(l)) {
  for (const auto& m : layers)
    if (!m) throw Error("Sequential: null layer");
}
Shape Sequential::output_shape(const Shape& in) const {
  Shape s = in;
  for (const auto& m : layers) s = m->output_shape(s);
  return s;
}
void Sequential::params(std::vector<ParamSpec>& o, const std::string& pre) const {
  for (std::size_t i = 0; i < layers.size(); ++i) layers[i]->params(o, pre + std::to_string(i) + ".");
}
ad::Var forward_leaves(const Module& m, ad::Var x, ParamCursor& p, const LeafForward& leaf) {
  if (const auto* s = dynamic_cast<const Sequential*>(&m)) {
    for (const auto& l : s->layers) x = forward_leaves(*l, x, p, leaf);
    return x;
  }
  if (const auto* r = dynamic_cast<const Residual*>(&m)) {
    ad::Var b = forward_leaves(*r->body, x, p, leaf);
    ad::Var skip = r->projection ? forward_leaves(*r->projection, x, p, leaf) : x;
    return activate(r->act, ad::add(b, skip));
  }
  return leaf(m, x, p);
}

namespace {
ad::Var own_forward(const Module& m, ad::Var x, ParamCursor& p) { return m.forward(x, p); }
}  // namespace

ad::Var Sequential::forward(ad::Var x, ParamCursor& p) const { return forward_leaves(*this, x, p, own_forward); }
void Sequential::to_json(json& j) const {
  j = {{"kind", kind()}, {"layers", json::array()}};
  for (const auto& m : layers) {
    json c;
    m->to_json(c);
    j["layers"].push_back(c);
  }
}

// ---- Residual
Residual::Residual(ModulePtr b, ModulePtr proj, Activation a) : body(std::move(b)), projection(std::move(proj)), act(a) {
  if (!body) throw Error("Residual: null body");
}
Shape Residual::output_shape(const Shape& in) const {
  const Shape b = body->output_shape(in);
  const Shape s = projection ? projection->output_shape(in) : in;
  if (b != s)
    throw Error("Residual: body maps " + shape_str(in) + " to " + shape_str(b) + " but the skip path gives " +
                shape_str(s) + (projection ? "" : " (add a projection)"));
  return b;
}
void Residual::params(std::vector<ParamSpec>& o, const std::string& pre) const {
  body->params(o, pre + "body.");
  if (projection) projection->params(o, pre + "projection.");
}
ad::Var Residual::forward(ad::Var x, ParamCursor& p) const { return forward_leaves(*this, x, p, own_forward); }
void Residual::to_json(json& j) const {
  json b;
  body->to_json(b);
  j = {{"kind", kind()}, {"body", b}, {"activation", activation_name(act)}};
  if (projection) {
    json pj;
    projection->to_json(pj);
    j["projection"] = pj;
  }
}

// ---- from JSON
ModulePtr module_from_json(const json& j, const std::string& where) {
  auto get = [&](const char* key) -> const json& {
    if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing field '" + key + "'");
    return j.at(key);
  };
  auto num = [&](const char* key) {
    const json& v = get(key);
    if (!v.is_number_unsigned()) throw Error(where + "." + key + ": expected a non-negative integer");
    return v.get<std::size_t>();
  };
  auto flag = [&](const char* key) { return j.contains(key) ? j.at(key).get<bool>() : true; };
  const json& k = get("kind");
  if (!k.is_string()) throw Error(where + ".kind: expected a string");
  const std::string kind = k.get<std::string>();
  if (kind == "Linear") return std::make_shared<Linear>(num("in"), num("out"), flag("bias"));
  if (kind == "Conv2d")
    return std::make_shared<Conv2d>(num("in_channels"), num("out_channels"), num("kernel"), num("stride"),
                                    num("padding"), flag("bias"));
  if (kind == "MaxPool2d" || kind == "AvgPool2d") return std::make_shared<Pool2d>(kind == "MaxPool2d", num("kernel"), num("stride"));
  if (kind == "Flatten") return std::make_shared<Flatten>();
  if (kind == "Activation") return std::make_shared<ActivationLayer>(parse_activation(get("activation").get<std::string>()));
  if (kind == "Sequential") {
    std::vector<ModulePtr> layers;
    const json& ls = get("layers");
    if (!ls.is_array()) throw Error(where + ".layers: expected an array");
    for (std::size_t i = 0; i < ls.size(); ++i)
      layers.push_back(module_from_json(ls[i], where + ".layers[" + std::to_string(i) + "]"));
    return std::make_shared<Sequential>(std::move(layers));
  }
  if (kind == "Residual") {
    ModulePtr proj = j.contains("projection") ? module_from_json(j.at("projection"), where + ".projection") : nullptr;
    return std::make_shared<Residual>(module_from_json(get("body"), where + ".body"), proj,
                                      parse_activation(get("activation").get<std::string>()));
  }
  throw Error(where + ": unknown layer kind '" + kind +
              "' (known: Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, Activation, Sequential, Residual)");
}

}  // namespace inflab::nn
