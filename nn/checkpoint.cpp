#include "nn/checkpoint.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include "util/files.hpp"

namespace inflab::nn {

namespace fs = std::filesystem;
using json = nlohmann::json;

void save_npy(const std::string& path, const Tensor& t) {
  const std::string tmp = util::temp_name_for(path);
  try {
    xt::dump_npy(tmp, t);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error("cannot write '" + path + "': " + e.what());
  }
  util::rename_into_place(tmp, path);
}

std::string npy_bytes(const Tensor& t) { return xt::dump_npy(t); }

namespace {
// The value of 'key' in a .npy header dict ("{'descr': '<f8', 'fortran_order': False, 'shape': (16, 4), }"),
// up to the next top-level comma or the closing brace.
std::string header_value(const std::string& h, const std::string& key) {
  const std::size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return "";
  std::size_t i = h.find(':', k);
  if (i == std::string::npos) return "";
  ++i;
  while (i < h.size() && h[i] == ' ') ++i;
  std::size_t j = i;
  int depth = 0;
  for (; j < h.size(); ++j) {
    if (h[j] == '(') ++depth;
    else if (h[j] == ')') --depth;
    else if ((h[j] == ',' || h[j] == '}') && depth == 0) break;
  }
  std::string v = h.substr(i, j - i);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}
}  // namespace

// A .npy file (format 1.0–3.0) must hold exactly one C-order float64 array: what the header
// promises is checked against the bytes that follow, so a truncated copy is never read as data.
Tensor load_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(fs::exists(path) ? "cannot read '" + path + "'" : "missing file '" + path + "'");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::string q = "'" + path + "': ";
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(q + "not a .npy file (it does not start with \\x93NUMPY; " + std::to_string(bytes.size()) + " bytes)");
  const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
  const std::size_t major = byte(6);
  if (major < 1 || major > 3) throw Error(q + ".npy format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  const std::size_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  if (bytes.size() < start) throw Error(q + "truncated .npy header");
  std::size_t hlen = 0;
  for (std::size_t i = 0; i < len_bytes; ++i) hlen |= byte(8 + i) << (8 * i);  // little-endian
  if (bytes.size() < start + hlen)
    throw Error(q + "truncated .npy header: it says " + std::to_string(hlen) + " bytes, the file holds " +
                std::to_string(bytes.size() - start) + " after the preamble");
  const std::string h = bytes.substr(start, hlen);
  const std::string descr = header_value(h, "descr"), fortran = header_value(h, "fortran_order"),
                    shape_s = header_value(h, "shape");
  if (descr.empty() || fortran.empty() || shape_s.empty())
    throw Error(q + ".npy header lacks 'descr', 'fortran_order' or 'shape': " + h);
  if (descr != "'<f8'" && descr != "'=f8'")  // '=' is native order, little-endian on the machines inflab targets
    throw Error(q + "dtype " + descr + " is not little-endian float64 ('<f8'); save it with a.astype(np.float64)");
  if (fortran != "False")
    throw Error(q + "fortran_order is " + fortran + "; inflab reads C-order arrays (save np.ascontiguousarray(a))");
  if (shape_s.size() < 2 || shape_s.front() != '(' || shape_s.back() != ')')
    throw Error(q + "unreadable shape " + shape_s + " in the .npy header");
  Shape shape;
  {
    const std::string inner = shape_s.substr(1, shape_s.size() - 2);
    std::size_t i = 0;
    while (i < inner.size()) {
      while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
      if (i == inner.size()) break;
      std::size_t j = i, v = 0;
      while (j < inner.size() && inner[j] >= '0' && inner[j] <= '9') v = v * 10 + static_cast<std::size_t>(inner[j++] - '0');
      if (j == i || j - i > 15) throw Error(q + "unreadable shape " + shape_s + " in the .npy header");
      shape.push_back(v);
      i = j;
    }
  }
  std::size_t count = 1;
  for (auto d : shape) {
    if (d && count > SIZE_MAX / sizeof(double) / d) throw Error(q + "header says shape " + shape_str(shape) + ", too large to hold");
    count *= d;
  }
  const std::size_t want = count * sizeof(double), have = bytes.size() - start - hlen;
  if (have != want)
    throw Error(q + "header says shape " + shape_str(shape) + " float64 = " + std::to_string(want) +
                " bytes of data, the file holds " + std::to_string(have) +
                (have < want ? " (truncated?)" : " (trailing bytes)"));
  Tensor t = Tensor::from_shape(shape);
  if (want) std::memcpy(t.data(), bytes.data() + start + hlen, want);
  return t;
}

void save_checkpoint(const std::string& dir, const Model& model, const Tensor& theta, const std::map<std::string, std::string>& extra) {
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
    util::write_file_atomic((fs::path(tmp) / "model.json").string(), j.dump(2) + "\n");
    for (const auto& [name, text] : extra) util::write_file_atomic((fs::path(tmp) / name).string(), text);
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
