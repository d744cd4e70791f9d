// The tape: nodes in creation order (a Wengert list). A Var is a handle (tape, index).
// Recording runs the primal pass once; afterwards any number of sweeps can run over it:
//   forward_tangents  — k directional derivatives (forward mode),
//   backward          — a reverse sweep of dual adjoints: gradient in the values and,
//                       when tangents were seeded, Hessian-vector products in the tangents.
#pragma once
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "autodiff/dual.hpp"

namespace inflab::ad {

class Tape;

struct Var {
  Tape* tape = nullptr;
  std::uint32_t id = 0;
  const Tensor& value() const;
  Shape shape() const;
  double item() const;  // the value of a one-element tensor
};

// What an op's derivative rules see during a sweep.
class Ctx {
 public:
  Ctx(Tape& tape, std::uint32_t id) : tape_(tape), id_(id) {}
  const Dual& x(std::size_t i) const;  // input i: value and, in a tangent sweep, tangents
  const Dual& y() const;               // output: value and tangents
  const Dual& g() const;               // adjoint of the output (reverse sweep)
  bool active(std::size_t i) const;    // input i depends on a differentiated leaf
  std::size_t k() const;               // tangent directions in this sweep
  void acc(std::size_t i, Dual&& d);   // adjoint of input i += d (ignored if inactive)
  // The flat elements [offset, offset + n) of input i's adjoint += d (n = d's size): a slice's
  // rule, without an input-sized temporary per slice.
  void acc_range(std::size_t i, std::size_t offset, const Dual& d);
  // This reverse sweep takes the adjoints' values from an earlier sweep (they do not depend
  // on the tangents): a rule may skip computing the value part of what it accumulates.
  bool values_cached() const;
  const char* op() const;

 private:
  Tape& tape_;
  std::uint32_t id_;
};

using JvpRule = std::function<Tensor(const Ctx&)>;  // output tangents, [k, ...out]
using VjpRule = std::function<void(Ctx&)>;         // push g() to the inputs' adjoints

struct Node {
  const char* op = "leaf";
  std::vector<std::uint32_t> in;
  Dual val;  // value, and tangents after forward_tangents
  Dual adj;  // adjoint after backward
  bool adj_set = false;
  bool active = false;
  JvpRule jvp;
  VjpRule vjp;
};

class Tape {
 public:
  Var leaf(Tensor value, bool active);
  Var record(const char* op, const std::vector<Var>& in, Tensor value, JvpRule jvp,
             VjpRule vjp);

  // Seed tangents [k, ...shape] on active leaves and push them through every active node.
  void forward_tangents(const std::vector<std::pair<Var, const Tensor*>>& seeds, std::size_t k);
  void clear_tangents();
  // Reverse sweep from `out` with adjoint `seed` (same shape as out's value).
  // Adjoint values are the same in every sweep with the same seed — only their tangents
  // change with the directions — so repeated HVPs can keep them: Cache stores them,
  // Reuse takes them from the cache (computing and caching them if there is none for
  // `out`; the caller promises the same seed) and only the tangents are computed, which
  // saves a third of an MLP's HVP GEMMs.
  enum class AdjointValues { Compute, Cache, Reuse };
  void backward(Var out, Dual seed, AdjointValues mode = AdjointValues::Compute);
  bool reusing_values() const { return reusing_; }
  // After backward: the adjoint of a leaf (interior adjoints are freed during the sweep).
  const Dual& adjoint(Var v) const;
  bool has_adjoint(Var v) const { return nodes_[v.id].adj_set; }

  Node& node(std::uint32_t id) { return nodes_[id]; }
  const Node& node(std::uint32_t id) const { return nodes_[id]; }
  std::size_t size() const { return nodes_.size(); }
  std::size_t k() const { return k_; }

 private:
  void check_finite(const char* what, std::uint32_t id, const Tensor& t) const;
  std::vector<Node> nodes_;
  std::size_t k_ = 0;
  std::vector<Tensor> adj_cache_;    // adjoint values of the last Cache sweep, per node
  std::vector<char> adj_cached_;     // whether that sweep reached the node
  std::uint32_t cache_out_ = UINT32_MAX;
  bool reusing_ = false;
};

// RAII: a fresh tape that ops record on until the scope ends (nests; thread-local).
// TapeScope(existing) makes an existing tape current instead (it is not cleared).
class TapeScope {
 public:
  TapeScope();
  explicit TapeScope(Tape& existing);
  ~TapeScope();
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;
  Tape& tape() { return *tape_; }

 private:
  Tape own_;
  Tape* tape_;
  Tape* prev_;
};

// The tape TapeScope made current: where variable() and constant() put new leaves. Ops
// record on their inputs' tape (Var::tape) instead; inside a Recording the two coincide.
Tape& current_tape();  // throws Error when no TapeScope is open

Var variable(Tensor value);  // a leaf we differentiate with respect to
Var constant(Tensor value);  // data: no tangent, no adjoint

// Non-finite check after every op and sweep (off by default; thread-local).
void set_check_finite(bool on);
bool check_finite_enabled();

}  // namespace inflab::ad
