#include "nn/checkpoint.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

namespace inflab::nn {

namespace fs = std::filesystem;
using json = nlohmann::json;

void save_npy(const std::string& path, const Tensor& t) {
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  try {
    xt::dump_npy(tmp, t);
    fs::rename(tmp, path);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error("cannot write '" + path + "': " + e.what());
  }
}

Tensor load_npy(const std::string& path) {
  if (!fs::exists(path)) throw Error("missing file '" + path + "'");
  try {
    const auto a = xt::load_npy<double>(path);
    Tensor t = Tensor::from_shape(Shape(a.shape().begin(), a.shape().end()));
    std::copy(a.data(), a.data() + a.size(), t.data());
    return t;
  } catch (const std::exception& e) {
    throw Error("'" + path + "' is not a float64 .npy array: " + e.what());
  }
}

void save_checkpoint(const std::string& dir, const Model& model, const Tensor& theta) {
  const auto named = model.unflatten(theta);  // validates θ's size
  const std::string tmp = dir + ".tmp-" + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    json arch;
    model.root().to_json(arch);
    json j = {{"format", "inflab-checkpoint"}, {"version", 1}, {"input_shape", model.input_shape()},
              {"model", arch}, {"parameters", json::array()}};
    for (const auto& s : model.params()) {
      const std::string file = s.name + ".npy";
      xt::dump_npy((fs::path(tmp) / file).string(), named.at(s.name));
      j["parameters"].push_back({{"name", s.name}, {"shape", s.shape}, {"file", file}});
    }
    std::ofstream(fs::path(tmp) / "model.json") << j.dump(2) << "\n";
    const std::string old = dir + ".old-" + std::to_string(getpid());
    const bool had = fs::exists(dir);
    if (had) fs::rename(dir, old);
    fs::rename(tmp, dir);
    if (had) fs::remove_all(old, ec);
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    throw Error("cannot write checkpoint '" + dir + "': " + e.what());
  }
}

Checkpoint load_checkpoint(const std::string& dir) {
  const fs::path mj = fs::path(dir) / "model.json";
  std::ifstream f(mj);
  if (!f) throw Error("checkpoint '" + dir + "': missing " + mj.string());
  json j;
  try {
    f >> j;
  } catch (const std::exception& e) {
    throw Error(mj.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.value("format", "") != "inflab-checkpoint")
    throw Error(mj.string() + ": not an inflab checkpoint (no \"format\": \"inflab-checkpoint\")");
  if (!j.contains("model") || !j.contains("input_shape") || !j.contains("parameters"))
    throw Error(mj.string() + ": needs \"model\", \"input_shape\" and \"parameters\"");
  Shape in;
  for (const auto& v : j["input_shape"]) in.push_back(v.get<std::size_t>());
  Model model(module_from_json(j["model"], mj.string() + ": model"), in);
  std::map<std::string, Tensor> named;
  for (const auto& s : model.params()) {
    const fs::path file = fs::path(dir) / (s.name + ".npy");
    if (!fs::exists(file))
      throw Error("checkpoint '" + dir + "': missing parameter file '" + file.filename().string() + "' for " + s.name);
    Tensor t = load_npy(file.string());
    if (shape_of(t) != s.shape)
      throw Error("checkpoint '" + dir + "': '" + file.filename().string() + "' has shape " + shape_str(shape_of(t)) +
                  ", the architecture needs " + shape_str(s.shape));
    named.emplace(s.name, std::move(t));
  }
  Tensor theta = model.flatten(named);
  return {std::move(model), std::move(theta)};
}

}  // namespace inflab::nn
