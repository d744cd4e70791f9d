#include "influence/tracin.hpp"

#include <cmath>

#include "influence/influence.hpp"

namespace inflab::influence {

namespace {
// [m, p]: the test-loss gradient of each chosen test row at θ
Tensor test_gradients(const nn::Objective& obj, const data::Dataset& test, const std::vector<std::size_t>& rows,
                      const Tensor& theta) {
  if (rows.empty()) throw Error("no test points given");
  const std::size_t p = theta.size();
  Tensor G = zeros({rows.size(), p});
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const Tensor g = test_loss_gradient(obj, test, {rows[j]}, theta);
    std::copy(g.data(), g.data() + p, G.data() + j * p);
  }
  return G;
}
// rows of ∇ℓ(z_t)ᵀ∇ℓ̃(zᵢ) for all i: one forward-mode pass with m directions
Tensor dots(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta, const Tensor& G) {
  return train_gradient_dots(obj, train, theta, G, 2048);
}
}  // namespace

Tensor gradient_dot(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                    const std::vector<std::size_t>& rows, const Tensor& theta) {
  Tensor D = dots(obj, train, theta, test_gradients(obj, test, rows, theta));
  for (auto& e : D) e /= static_cast<double>(train.size());
  return D;
}

Tensor gradient_cosine(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
                       const std::vector<std::size_t>& rows, const Tensor& theta) {
  const Tensor G = test_gradients(obj, test, rows, theta);
  Tensor D = dots(obj, train, theta, G);
  const std::size_t m = rows.size(), n = train.size(), p = theta.size();
  std::vector<double> tn(m);
  for (std::size_t j = 0; j < m; ++j) {
    double s = 0;
    for (std::size_t k = 0; k < p; ++k) s += G(j, k) * G(j, k);
    tn[j] = std::sqrt(s);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double gi = norm2(per_example_gradient(obj, train, theta, i));
    for (std::size_t j = 0; j < m; ++j) D(j, i) = (gi > 0 && tn[j] > 0) ? D(j, i) / (gi * tn[j]) : 0.0;
  }
  return D;
}

Tensor tracin(const nn::Objective& obj, const data::Dataset& train, const data::Dataset& test,
              const std::vector<std::size_t>& rows, const std::vector<Snapshot>& trajectory) {
  if (trajectory.empty())
    throw Error("TracIn needs parameters saved during training (none given): train with saved steps (sgd or adam)");
  Tensor out = zeros({rows.size(), train.size()});
  for (const Snapshot& s : trajectory) {
    if (!(s.lr > 0) || !std::isfinite(s.lr)) throw Error("TracIn: step " + std::to_string(s.step) + " has learning rate " + std::to_string(s.lr));
    const Tensor D = dots(obj, train, s.theta, test_gradients(obj, test, rows, s.theta));
    axpy_inplace(out, s.lr / static_cast<double>(train.size()), D);
  }
  return out;
}

Tensor gradient_self(const nn::Objective& obj, const data::Dataset& train, const Tensor& theta) {
  Tensor out = zeros({train.size()});
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Tensor g = per_example_gradient(obj, train, theta, i);
    out(i) = dot(g, g);
  }
  return out;
}

Tensor tracin_self(const nn::Objective& obj, const data::Dataset& train, const std::vector<Snapshot>& trajectory) {
  if (trajectory.empty()) throw Error("TracIn needs parameters saved during training (none given)");
  Tensor out = zeros({train.size()});
  for (const Snapshot& s : trajectory) axpy_inplace(out, s.lr, gradient_self(obj, train, s.theta));
  return out;
}

}  // namespace inflab::influence
