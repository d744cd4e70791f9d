#include "autodiff/tape.hpp"

#include <sstream>
#include <string>

#include "autodiff/op_catalogue.hpp"

namespace inflab::ad {

namespace {
thread_local Tape* g_current = nullptr;
thread_local bool g_check_finite = false;
}  // namespace

const Tensor& Var::value() const {
  if (!tape) throw Error("Var is not on any tape (default-constructed?)");
  return tape->node(id).val.v;
}
Shape Var::shape() const { return shape_of(value()); }
double Var::item() const {
  const Tensor& v = value();
  if (v.size() != 1) throw Error("item: tensor of shape " + shape_str(shape_of(v)) + " is not a scalar");
  return v.data()[0];
}

const Dual& Ctx::x(std::size_t i) const { return tape_.node(tape_.node(id_).in[i]).val; }
const Dual& Ctx::y() const { return tape_.node(id_).val; }
const Dual& Ctx::g() const { return tape_.node(id_).adj; }
bool Ctx::active(std::size_t i) const { return tape_.node(tape_.node(id_).in[i]).active; }
std::size_t Ctx::k() const { return tape_.k(); }
const char* Ctx::op() const { return tape_.node(id_).op; }
bool Ctx::values_cached() const { return tape_.reusing_values(); }
void Ctx::acc(std::size_t i, Dual&& d) {
  Node& n = tape_.node(tape_.node(id_).in[i]);
  if (!n.active) return;
  if (tape_.reusing_values()) {  // values come from the cache: keep the tangents only
    if (!d.k) return;
    d.v = Tensor();
  } else {
    if (d.v.size() != n.val.v.size())
      throw Error(std::string(op()) + ": backward rule produced an adjoint of shape " +
                  shape_str(d.shape()) + " for an input of shape " + shape_str(n.val.shape()));
    d.v.reshape(n.val.v.shape());
  }
  if (d.k) {
    if (d.t.size() != d.k * n.val.v.size())
      throw Error(std::string(op()) + ": backward rule produced " + std::to_string(d.t.size()) + " tangent values for " +
                  std::to_string(d.k) + " directions of an input of shape " + shape_str(n.val.shape()));
    Shape ts{d.k};
    for (auto s : n.val.v.shape()) ts.push_back(s);
    d.t.reshape(ts);
  }
  accumulate(n.adj, n.adj_set, std::move(d));
}

void Ctx::acc_range(std::size_t i, std::size_t offset, const Dual& d) {
  Node& n = tape_.node(tape_.node(id_).in[i]);
  if (!n.active) return;
  const bool values = !tape_.reusing_values();  // (as acc: cached values keep tangents only)
  if (!values && !d.k) return;
  const std::size_t size = n.val.v.size(), len = d.k ? d.t.size() / d.k : d.v.size();
  if ((d.k && d.t.size() % d.k) || len > size || offset > size - len || (values && d.v.size() != len))
    throw Error(std::string(op()) + ": backward rule produced " + std::to_string(len) + " adjoint values at offset " +
                std::to_string(offset) + " of an input of shape " + shape_str(n.val.shape()));
  if (!n.adj_set) {
    n.adj = Dual();
    if (values) n.adj.v = zeros(n.val.shape());
    n.adj_set = true;
  }
  auto add = [len](double* to, const double* from) {
    for (std::size_t j = 0; j < len; ++j) to[j] += from[j];
  };
  if (values) add(n.adj.v.data() + offset, d.v.data());
  if (!d.k) return;
  if (!n.adj.k) {
    Shape ts{d.k};
    for (auto e : n.val.v.shape()) ts.push_back(e);
    n.adj.t = zeros(ts);
    n.adj.k = d.k;
  } else if (n.adj.k != d.k) {
    throw Error(std::string(op()) + ": tangent counts differ");
  }
  for (std::size_t r = 0; r < d.k; ++r) add(n.adj.t.data() + r * size + offset, d.t.data() + r * len);
}

Var Tape::leaf(Tensor value, bool active) {
  Node n;
  n.val = Dual(std::move(value));
  n.active = active;
  nodes_.push_back(std::move(n));
  return Var{this, static_cast<std::uint32_t>(nodes_.size() - 1)};
}

Var Tape::record(const char* op, const std::vector<Var>& in, Tensor value, JvpRule jvp,
                 VjpRule vjp) {
  require_catalogued(op);
  Node n;
  n.op = op;
  for (const Var& v : in) {
    if (v.tape != this)
      throw Error(std::string(op) + ": an input belongs to another tape (or none); "
                  "open one TapeScope for the whole computation");
    n.in.push_back(v.id);
    n.active = n.active || nodes_[v.id].active;
  }
  n.val = Dual(std::move(value));
  n.jvp = std::move(jvp);
  n.vjp = std::move(vjp);
  nodes_.push_back(std::move(n));
  const auto id = static_cast<std::uint32_t>(nodes_.size() - 1);
  if (g_check_finite) check_finite("value", id, nodes_[id].val.v);
  return Var{this, id};
}

void Tape::check_finite(const char* what, std::uint32_t id, const Tensor& t) const {
  if (all_finite(t)) return;
  const Node& n = nodes_[id];
  std::ostringstream msg;
  msg << n.op << ": non-finite " << what << " (output shape " << shape_str(n.val.shape())
      << ", inputs";
  for (auto i : n.in) msg << ' ' << shape_str(nodes_[i].val.shape());
  msg << ')';
  throw Error(msg.str());
}

void Tape::clear_tangents() {
  for (auto& n : nodes_) {
    n.val.t = Tensor();
    n.val.k = 0;
  }
  k_ = 0;
}

void Tape::forward_tangents(const std::vector<std::pair<Var, const Tensor*>>& seeds,
                            std::size_t k) {
  clear_tangents();
  k_ = k;
  for (const auto& [v, t] : seeds) {
    Node& n = nodes_[v.id];
    Shape want{k};
    const Shape s = n.val.shape();
    want.insert(want.end(), s.begin(), s.end());
    if (shape_of(*t) != want)
      throw Error("tangent seed has shape " + shape_str(shape_of(*t)) + ", expected " +
                  shape_str(want));
    n.val.t = *t;
    n.val.k = k;
  }
  for (std::uint32_t id = 0; id < nodes_.size(); ++id) {
    Node& n = nodes_[id];
    if (!n.active || !n.jvp) continue;
    bool any = false;
    for (auto i : n.in) any = any || nodes_[i].val.k;
    if (!any) continue;
    Ctx c(*this, id);
    n.val.t = n.jvp(c);
    n.val.k = k;
    if (g_check_finite) check_finite("tangent", id, n.val.t);
  }
}

void Tape::backward(Var out, Dual seed, AdjointValues mode) {
  for (auto& n : nodes_) {
    n.adj = Dual();
    n.adj_set = false;
  }
  if (mode == AdjointValues::Reuse && (cache_out_ != out.id || adj_cache_.size() != nodes_.size())) mode = AdjointValues::Cache;
  if (mode == AdjointValues::Cache) {
    adj_cache_.assign(nodes_.size(), Tensor());
    adj_cached_.assign(nodes_.size(), 0);
    cache_out_ = UINT32_MAX;  // valid once the sweep completes
  }
  struct Reset {  // reusing_ is off again however the sweep ends
    bool& flag;
    ~Reset() { flag = false; }
  } reset{reusing_};
  reusing_ = mode == AdjointValues::Reuse;
  if (reusing_) cache_out_ = UINT32_MAX;  // restored at the end: a sweep that throws leaves no half-moved cache
  if (seed.v.size() != nodes_[out.id].val.v.size())
    throw Error("backward: seed of shape " + shape_str(seed.shape()) + " for an output of shape " +
                shape_str(nodes_[out.id].val.shape()));
  if (!nodes_[out.id].active) return;
  nodes_[out.id].adj = std::move(seed);
  nodes_[out.id].adj_set = true;
  for (std::uint32_t id = out.id + 1; id-- > 0;) {
    Node& n = nodes_[id];
    if (reusing_) {
      if (!adj_cached_[id] || !n.vjp) continue;
      if (!n.adj_set) n.adj = Dual(), n.adj_set = true;  // reached by values only: no tangents
      n.adj.v = std::move(adj_cache_[id]);
    } else if (!n.adj_set || !n.vjp) {
      continue;
    }
    Ctx c(*this, id);
    n.vjp(c);
    if (g_check_finite) {
      for (auto i : n.in)
        if (nodes_[i].adj_set) {
          check_finite("adjoint", id, nodes_[i].adj.v);
          if (nodes_[i].adj.k) check_finite("adjoint tangent", id, nodes_[i].adj.t);
        }
    }
    if (mode != AdjointValues::Compute) {  // keep the value for the next sweep
      adj_cache_[id] = std::move(n.adj.v);
      adj_cached_[id] = 1;
    }
    n.adj = Dual();  // interior adjoints are not needed again
    n.adj_set = false;
  }
  if (mode != AdjointValues::Compute) cache_out_ = out.id;
}

const Dual& Tape::adjoint(Var v) const { return nodes_[v.id].adj; }

TapeScope::TapeScope() : tape_(&own_), prev_(g_current) { g_current = tape_; }
TapeScope::TapeScope(Tape& existing) : tape_(&existing), prev_(g_current) { g_current = tape_; }
TapeScope::~TapeScope() { g_current = prev_; }

Tape& current_tape() {
  if (!g_current) throw Error("no tape: open an inflab::ad::TapeScope before recording ops");
  return *g_current;
}

Var variable(Tensor value) { return current_tape().leaf(std::move(value), true); }
Var constant(Tensor value) { return current_tape().leaf(std::move(value), false); }

void set_check_finite(bool on) { g_check_finite = on; }
bool check_finite_enabled() { return g_check_finite; }

}  // namespace inflab::ad
