#include "datasets/dataset.hpp"

#include "util/hash.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace inflab::data {

std::size_t Dataset::size() const { return X.dimension() ? X.shape(0) : 0; }

Shape Dataset::sample_shape() const {
  const Shape s = shape_of(X);
  return s.empty() ? Shape{} : Shape(s.begin() + 1, s.end());
}

std::vector<std::size_t> Dataset::class_counts() const {
  std::vector<std::size_t> c(num_classes(), 0);
  for (auto l : y) ++c.at(l);
  return c;
}

void validate(const Dataset& d) {
  const std::string who = "dataset '" + d.name + "': ";
  if (d.X.dimension() < 2)
    throw Error(who + "inputs must be [n, ...], got shape " + shape_str(shape_of(d.X)));
  const std::size_t n = d.size();
  if (d.is_classification()) {
    if (d.y.size() != n)
      throw Error(who + std::to_string(d.y.size()) + " labels for " + std::to_string(n) + " rows");
    for (std::size_t i = 0; i < n; ++i)
      if (d.y[i] >= d.num_classes())
        throw Error(who + "label " + std::to_string(d.y[i]) + " at row " + std::to_string(i) +
                    " out of range for " + std::to_string(d.num_classes()) + " classes");
  } else {
    if (!d.y.empty()) throw Error(who + "labels given but no class names");
    if (d.targets.dimension() == 0 || d.targets.shape(0) != n)
      throw Error(who + "regression targets of shape " + shape_str(shape_of(d.targets)) +
                  " for " + std::to_string(n) + " rows");
  }
  if (!d.source_rows.empty() && d.source_rows.size() != n)
    throw Error(who + std::to_string(d.source_rows.size()) + " source row indices for " + std::to_string(n) + " rows");
  if (!d.feature_names.empty() && d.feature_names.size() != numel(d.sample_shape()))
    throw Error(who + std::to_string(d.feature_names.size()) + " feature names for " +
                std::to_string(numel(d.sample_shape())) + " features");
}

std::string fingerprint(const Dataset& d) {
  std::uint64_t h = util::fnv1a(d.X.data(), d.X.size() * sizeof(double));
  h = util::fnv1a(d.y.data(), d.y.size() * sizeof(std::size_t), h);
  if (d.targets.size() && !d.is_classification()) h = util::fnv1a(d.targets.data(), d.targets.size() * sizeof(double), h);
  for (const auto& c : d.class_names) h = util::fnv1a(c.data(), c.size(), util::fnv1a("|", 1, h));
  return d.name + " n=" + std::to_string(d.size()) + " " + util::hex(h);
}

Dataset subset(const Dataset& d, const std::vector<std::size_t>& rows) {
  const std::size_t n = d.size();
  const Shape ss = d.sample_shape();
  const std::size_t w = numel(ss);
  Dataset out;
  out.name = d.name;
  out.class_names = d.class_names;
  out.feature_names = d.feature_names;
  Shape xs{rows.size()};
  xs.insert(xs.end(), ss.begin(), ss.end());
  out.X = Tensor::from_shape(xs);
  const bool reg = !d.is_classification();
  const std::size_t tw = reg && d.targets.dimension() ? d.targets.size() / std::max<std::size_t>(n, 1) : 0;
  if (reg) {
    Shape ts = shape_of(d.targets);
    ts[0] = rows.size();
    out.targets = Tensor::from_shape(ts);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t r = rows[i];
    if (r >= n)
      throw Error("subset of '" + d.name + "': row " + std::to_string(r) + " out of range for " +
                  std::to_string(n) + " rows");
    std::copy(d.X.data() + r * w, d.X.data() + (r + 1) * w, out.X.data() + i * w);
    out.source_rows.push_back(d.source_row(r));
    if (!reg) out.y.push_back(d.y[r]);
    else std::copy(d.targets.data() + r * tw, d.targets.data() + (r + 1) * tw, out.targets.data() + i * tw);
  }
  return out;
}

Dataset all_but(const Dataset& d, std::size_t row) {
  if (row >= d.size())
    throw Error("all_but of '" + d.name + "': row " + std::to_string(row) + " out of range for " +
                std::to_string(d.size()) + " rows");
  std::vector<std::size_t> rows;
  rows.reserve(d.size() - 1);
  for (std::size_t i = 0; i < d.size(); ++i)
    if (i != row) rows.push_back(i);
  return subset(d, rows);
}

Tensor labels_as_tensor(const Dataset& d) {
  Tensor y = zeros({d.y.size()});
  for (std::size_t i = 0; i < d.y.size(); ++i) y(i) = static_cast<double>(d.y[i]);
  return y;
}

std::vector<unsigned char> read_file(const std::string& path, const std::string& how_to_get) {
  auto missing = [&](const std::string& why) {
    std::string msg = "cannot read '" + path + "': " + why;
    if (!how_to_get.empty()) msg += " (" + how_to_get + ")";
    return Error(msg);
  };
  std::vector<unsigned char> bytes;
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (!gz) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw missing(std::strerror(errno));
    f.seekg(0, std::ios::end);
    const auto size = f.tellg();
    if (size < 0) throw missing("not a regular file");
    bytes.resize(static_cast<std::size_t>(size));
    f.seekg(0);
    f.read(reinterpret_cast<char*>(bytes.data()), size);
    if (!f) throw missing("read failed");
    return bytes;
  }
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw missing(std::strerror(errno));
  }
  {  // the gzip trailer's ISIZE (size mod 2³²) lets us reserve once instead of regrowing
    std::ifstream probe(path, std::ios::binary | std::ios::ate);
    const auto end = probe.tellg();
    if (end >= 18) {
      unsigned char t[4];
      probe.seekg(end - std::streamoff(4));
      probe.read(reinterpret_cast<char*>(t), 4);
      if (probe) bytes.reserve(std::size_t(t[0]) | std::size_t(t[1]) << 8 | std::size_t(t[2]) << 16 | std::size_t(t[3]) << 24);
    }
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw missing("gzopen failed");
  gzbuffer(f, 1 << 17);
  unsigned char buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int code = 0;
      const std::string err = gzerror(f, &code);
      gzclose(f);
      throw Error("'" + path + "' is not valid gzip data: " + err);
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), buf, buf + got);
  }
  const int rc = gzclose(f);
  if (rc != Z_OK) throw Error("'" + path + "' is truncated or corrupt gzip data (zlib code " + std::to_string(rc) + ")");
  return bytes;
}

}  // namespace inflab::data
