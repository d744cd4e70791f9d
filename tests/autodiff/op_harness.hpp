// A per-op checker in the spirit of Stan Math's expect_ad. For one op applied to inputs
// x (flattened into θ), it checks:
//   value    against an independent reference implementation (1e-12 relative)
//   JVP      J v against central differences of the op's output          (≤ rtol)
//   VJP      ∇θ Σ w⊙op against central differences                        (≤ rtol)
//   adjoint  ⟨u, J v⟩ = ⟨Jᵀu, v⟩                                          (≤ 1e-12)
//   HVP      of s = Σ w⊙y + ½ Σ c⊙y² + ⅙ Σ d⊙y³ against differences of gradients (≤ rtol)
//   batched  k HVPs in one sweep equal k single ones                       (≤ 1e-12)
//   symmetry uᵀ(Hv) = vᵀ(Hu) of s                                          (≤ 1e-12)
//   Taylor   remainder orders of s within 0.1 of 2 and 3
//   errors   calling the op with bad shapes throws inflab::Error naming the op
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autodiff/check.hpp"
#include "autodiff/ops.hpp"

namespace inflab::test {

enum class Domain {
  Any,           // uniform in [-2, 2]
  Positive,      // uniform in [0.5, 2]
  AwayFromZero,  // |x| in [0.2, 2]: keeps relu/abs off their kinks
  Distinct       // a shuffled grid with gaps of 0.1: keeps max-pool off ties
};

struct OpCase {
  std::string op;     // the catalogue name this case covers
  std::string label;  // what is special about the case
  std::vector<Shape> shapes;
  std::function<ad::Var(const std::vector<ad::Var>&)> apply;
  std::function<Tensor(const std::vector<Tensor>&)> reference;
  Domain domain = Domain::Any;
  std::function<void()> bad_input;  // must throw inflab::Error mentioning `op`
  std::string error_names = "";     // what the error must mention instead, for composites
};

const std::vector<OpCase>& op_cases();
void run_op_cases(const std::string& op);  // runs every case registered for `op`

}  // namespace inflab::test
