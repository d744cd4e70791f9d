// K-FAC / EK-FAC curvature, gradient similarity, TracIn and TRAK against identities:
// where the Kronecker factorisation is exact, K-FAC is the Gauss–Newton matrix; EK-FAC's
// eigenvalues are the Gauss–Newton block's diagonal in its eigenbasis; TracIn at one
// checkpoint with η = 1 is the gradient dot, and in general Σ_t η_t ∇ℓ_test·∇ℓ̃ᵢ / n from
// single-row autodiff gradients; TRAK with k = p, an orthogonal projection and one
// model is Gauss–Newton influence.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/check.hpp"
#include "datasets/csv.hpp"
#include "datasets/split.hpp"
#include "datasets/transforms.hpp"
#include "experiments/problem.hpp"
#include "influence/datainf.hpp"
#include "influence/estimator.hpp"
#include "influence/kfac.hpp"
#include "influence/tracin.hpp"
#include "influence/trak.hpp"
#include "nn/builders.hpp"
#include "nn/layers.hpp"
#include "tests/influence/fixtures.hpp"
#include "tests/test_util.hpp"

using namespace inflab;
using namespace inflab::influence;
using namespace inflab::experiments;
using inflab::test::error_of;
using inflab::test::rel_err;

namespace {

data::Dataset iris_rows(std::size_t n) {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < n; ++i) rows.push_back((i * 37) % d.size());
  return data::subset(d, rows);
}

Tensor dense(const nn::Objective& obj, const data::Dataset& d, const Tensor& th, CurvatureChoice c) {
  return dense_matrix(CurvatureOperator(obj, d, th, c));
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double e : t) m = std::max(m, std::fabs(e));
  return m;
}

// A tiny classification set of images [n, C, H, W] with seeded values and labels.
data::Dataset images(std::size_t n, std::size_t C, std::size_t H, std::size_t W, std::size_t classes, std::uint64_t seed) {
  data::Dataset d;
  d.name = "tiny-images";
  d.X = ad::random_normal({n, C, H, W}, seed);
  for (std::size_t i = 0; i < n; ++i) d.y.push_back((i * 7 + 3) % classes);
  for (std::size_t c = 0; c < classes; ++c) d.class_names.push_back("c" + std::to_string(c));
  data::validate(d);
  return d;
}

nn::Model conv_model(std::size_t C, std::size_t out, std::size_t k, std::size_t pad, const Shape& input, std::size_t classes) {
  std::vector<nn::ModulePtr> l{std::make_shared<nn::Conv2d>(C, out, k, 1, pad), std::make_shared<nn::ActivationLayer>(nn::Activation::Tanh),
                               std::make_shared<nn::Flatten>()};
  const Shape o = nn::Conv2d(C, out, k, 1, pad).output_shape(input);
  l.push_back(std::make_shared<nn::Linear>(numel(o), classes));
  return nn::Model(std::make_shared<nn::Sequential>(l), input);
}

// EK-FAC's identity: Λ_{oi} = q_{oi}ᵀ G q_{oi}, q_{oi} = (Q_S e_o) ⊗ (Q_A e_i) placed at the block's
// indices of θ, G the exact Gauss–Newton matrix without λ. Returns the largest relative gap.
double ekfac_identity_gap(const nn::Objective& obj, const data::Dataset& d, const Tensor& th) {
  CurvatureChoice c = Curvature::Ekfac;
  const Kfac K(obj, d, th, c);
  Tensor G = dense(obj, d, th, Curvature::GaussNewton);
  const std::size_t p = th.size();
  for (std::size_t i = 0; i < p; ++i) G(i, i) -= obj.weight_decay();
  double gap = 0;
  for (const KfacBlock& b : K.blocks()) {
    const std::size_t D = b.d();
    std::vector<std::size_t> idx(b.out * D);  // θ index of entry (o, i) of the block's [out, d] matrix
    for (std::size_t o = 0; o < b.out; ++o)
      for (std::size_t i = 0; i < D; ++i) idx[o * D + i] = i < b.in ? b.weight_offset + o * b.in + i : b.bias_offset + o;
    const double scale = max_abs(b.eigen);
    for (std::size_t o = 0; o < b.out; ++o)
      for (std::size_t i = 0; i < D; ++i) {
        std::vector<double> q(b.out * D);
        for (std::size_t r = 0; r < b.out; ++r)
          for (std::size_t s = 0; s < D; ++s) q[r * D + s] = b.QS(r, o) * b.QA(s, i);
        double v = 0;
        for (std::size_t x = 0; x < q.size(); ++x)
          for (std::size_t y = 0; y < q.size(); ++y) v += q[x] * G(idx[x], idx[y]) * q[y];
        gap = std::max(gap, std::fabs(v - b.eigen(o, i)) / scale);
      }
  }
  return gap;
}

}  // namespace

TEST_CASE("K-FAC is the Gauss–Newton matrix where the factorisation is exact") {
  // One Linear layer and one example: the block is Σ_c (g_c ⊗ x̃)(g_c ⊗ x̃)ᵀ = (Σ_c g_c g_cᵀ) ⊗ x̃x̃ᵀ,
  // exactly K-FAC's S ⊗ A (expected Fisher). A linear model's Gauss–Newton is its Hessian too.
  SUBCASE("softmax regression, one example") {
    const data::Dataset d = iris_rows(1);
    const nn::Objective obj(nn::softmax_regression(4, 3), nn::LossKind::CrossEntropy, 0.01);
    const Tensor th = ad::random_normal({obj.model().param_count()}, 4);
    const Tensor K = dense(obj, d, th, Curvature::Kfac), G = dense(obj, d, th, Curvature::GaussNewton);
    CHECK(rel_err(K, G) < 1e-12);
    CHECK(rel_err(K, dense(obj, d, th, Curvature::Hessian)) < 1e-10);
    CHECK(rel_err(dense(obj, d, th, Curvature::Ekfac), G) < 1e-12);
  }
  SUBCASE("empirical Fisher, one Linear layer and one example: the outer product of the loss gradient") {
    // g = ∇_z ℓ(z, y) at the true label: S ⊗ A = (g ⊗ x̃)(g ⊗ x̃)ᵀ = ∇θℓ ∇θℓᵀ
    const data::Dataset d = iris_rows(1);
    const nn::Objective obj(nn::softmax_regression(4, 3), nn::LossKind::CrossEntropy, 0.01);
    const Tensor th = ad::random_normal({obj.model().param_count()}, 6);
    CurvatureChoice e = Curvature::Kfac;
    e.labels = FisherLabels::Empirical;
    Tensor K = dense(obj, d, th, e);
    Tensor g = per_example_gradient(obj, d, th, 0);  // ∇ℓ̃ = ∇ℓ + λθ
    axpy_inplace(g, -0.01, th);
    const std::size_t p = th.size();
    Tensor want = zeros({p, p});
    for (std::size_t i = 0; i < p; ++i)
      for (std::size_t j = 0; j < p; ++j) want(i, j) = g(i) * g(j) + (i == j ? 0.01 : 0.0);
    CHECK(rel_err(K, want) < 1e-12);
  }
  SUBCASE("one convolution whose output is one position (kernel = input), one example") {
    const data::Dataset d = images(1, 2, 3, 3, 3, 7);
    const nn::Model m(std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{std::make_shared<nn::Conv2d>(2, 3, 3), std::make_shared<nn::Flatten>()}),
                      {2, 3, 3});
    const nn::Objective obj(m, nn::LossKind::CrossEntropy, 0.01);
    const Tensor th = ad::random_normal({m.param_count()}, 5);
    CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), dense(obj, d, th, Curvature::GaussNewton)) < 1e-12);
  }
  SUBCASE("linear least squares, any number of rows: ∇²_z ℓ = (2/k)I does not depend on the row") {
    // S = (2/k) I for every row, so (1/n)Σ S ⊗ x̃x̃ᵀ = S ⊗ A
    data::Dataset d;
    d.name = "regression";
    d.X = ad::random_normal({25, 3}, 8);
    d.targets = ad::random_normal({25, 2}, 9);
    const nn::Objective obj(nn::mlp(3, std::vector<std::size_t>{}, nn::Activation::Tanh, 2), nn::LossKind::MSE, 0.1);
    const Tensor th = ad::random_normal({obj.model().param_count()}, 10);
    CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), dense(obj, d, th, Curvature::GaussNewton)) < 1e-12);
  }
  SUBCASE("logistic regression (binary logistic loss), one example") {
    // one output: S = σ(1−σ), and the block is σ(1−σ) x̃x̃ᵀ = S ⊗ A; linear, so also the Hessian
    data::Dataset d;
    d.name = "binary";
    d.X = ad::random_normal({1, 4}, 21);
    d.y = {1};
    d.class_names = {"a", "b"};
    data::validate(d);
    const nn::Objective obj(nn::logistic_regression(4), nn::LossKind::BinaryLogistic, 0.01);
    const Tensor th = ad::random_normal({obj.model().param_count()}, 22);
    const Tensor G = dense(obj, d, th, Curvature::GaussNewton);
    CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), G) < 1e-12);
    CHECK(rel_err(dense(obj, d, th, Curvature::Ekfac), G) < 1e-12);
    CHECK(rel_err(G, dense(obj, d, th, Curvature::Hessian)) < 1e-10);
    // and by hand: σ(1−σ) x̃x̃ᵀ + λI, x̃ = (x, 1)
    double z = th(4);
    for (std::size_t i = 0; i < 4; ++i) z += th(i) * d.X(0, i);
    const double sg = 1 / (1 + std::exp(-z));
    Tensor want = zeros({5, 5});
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t j = 0; j < 5; ++j)
        want(i, j) = sg * (1 - sg) * (i < 4 ? d.X(0, i) : 1.0) * (j < 4 ? d.X(0, j) : 1.0) + (i == j ? 0.01 : 0.0);
    CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), want) < 1e-12);
  }
  SUBCASE("one convolution with many output positions, mse over all O·T outputs, any number of images") {
    // ℓ = (1/K) Σ (z − t)², K = O·T: ∇²_z ℓ = (2/K)I, so S = (2/K)I_O and the block is
    // (1/n) Σᵢ Σ_{o,t} (2/K) vec(e_o x̃_{it}ᵀ) vec(…)ᵀ = S ⊗ A, A = (1/n) Σᵢ Σ_t x̃x̃ᵀ — exact for any n and T
    struct Geometry {
      std::size_t C, H, W, O, k, stride, pad;
      bool bias;
    };
    for (const Geometry g : {Geometry{2, 5, 4, 3, 3, 1, 1, true}, Geometry{1, 6, 6, 2, 3, 2, 1, true}, Geometry{3, 4, 5, 2, 2, 1, 0, false},
                             Geometry{2, 7, 5, 3, 3, 2, 2, true}})
      for (std::size_t n : {1, 3, 8}) {
        CAPTURE(g.C);
        CAPTURE(g.stride);
        CAPTURE(n);
        const nn::Conv2d conv(g.C, g.O, g.k, g.stride, g.pad, g.bias);
        const Shape in{g.C, g.H, g.W}, out = conv.output_shape(in);
        REQUIRE(out[1] * out[2] > 1);  // T > 1
        const nn::Model m(std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                              std::make_shared<nn::Conv2d>(g.C, g.O, g.k, g.stride, g.pad, g.bias), std::make_shared<nn::Flatten>()}),
                          in);
        data::Dataset d;
        d.name = "conv-regression";
        d.X = ad::random_normal({n, g.C, g.H, g.W}, 30 + n);
        d.targets = ad::random_normal({n, numel(out)}, 40 + n);
        const nn::Objective obj(m, nn::LossKind::MSE, 0.01);
        const Tensor th = ad::random_normal({m.param_count()}, 50 + n);
        const Tensor G = dense(obj, d, th, Curvature::GaussNewton);
        CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), G) < 1e-12);
        CHECK(rel_err(dense(obj, d, th, Curvature::Ekfac), G) < 1e-12);
      }
  }
  SUBCASE("not exact in general: a tanh MLP on 30 rows, and the sampled Fisher") {
    const data::Dataset d = iris_rows(30);
    const nn::Objective obj(nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.01);
    const Tensor th = ad::random_normal({obj.model().param_count()}, 11);
    const Tensor G = dense(obj, d, th, Curvature::GaussNewton);
    CHECK(rel_err(dense(obj, d, th, Curvature::Kfac), G) > 1e-2);  // block-diagonal, and S ⊗ A ≠ mean of products
    CurvatureChoice s = Curvature::Kfac;
    s.labels = FisherLabels::Sampled;
    s.seed = 3;
    const Tensor K1 = dense(obj, d, th, s), K2 = dense(obj, d, th, s);
    CHECK(rel_err(K1, K2) == 0.0);  // seeded: repeatable
    s.seed = 4;
    CHECK(rel_err(dense(obj, d, th, s), K1) > 1e-3);
  }
}

TEST_CASE("K-FAC and EK-FAC do not depend on the row batches (expected and sampled labels)") {
  // the factors accumulate over batches, and a sampled label belongs to its row, so EK-FAC's
  // second pass sees the first's draws whatever the batch size
  const data::Dataset d = images(30, 1, 4, 4, 3, 23);
  const nn::Objective obj(conv_model(1, 2, 3, 1, {1, 4, 4}, 3), nn::LossKind::CrossEntropy, 0.01);
  const Tensor th = ad::random_normal({obj.model().param_count()}, 24);
  const Tensor v = ad::random_normal({3, th.size()}, 25);
  for (Curvature kind : {Curvature::Kfac, Curvature::Ekfac})
    for (FisherLabels labels : {FisherLabels::Expected, FisherLabels::Sampled, FisherLabels::Empirical}) {
      CurvatureChoice c = kind;
      c.labels = labels;
      c.seed = 5;
      const Kfac whole(obj, d, th, c), small(obj, d, th, c, 7);
      CHECK(rel_err(small.apply(v, 0.0), whole.apply(v, 0.0)) < 1e-12);
      CHECK(rel_err(small.solve(v, 0.1), whole.solve(v, 0.1)) < 1e-12);
    }
  SUBCASE("sampled labels, one Linear layer and one row: EK-FAC replays K-FAC's draw") {
    // S = g gᵀ for the one drawn label, so the re-fitted eigenvalues are K-FAC's s_o a_i only
    // when the second pass uses the same g
    const data::Dataset one = iris_rows(1);
    const nn::Objective lin(nn::softmax_regression(4, 3), nn::LossKind::CrossEntropy, 0.0);
    const Tensor t = ad::random_normal({lin.model().param_count()}, 26);
    for (std::uint64_t seed : {1, 2, 3}) {
      CurvatureChoice k = Curvature::Kfac, e = Curvature::Ekfac;
      k.labels = e.labels = FisherLabels::Sampled;
      k.seed = e.seed = seed;
      CHECK(rel_err(dense(lin, one, t, e), dense(lin, one, t, k)) < 1e-12);
    }
  }
}

TEST_CASE("EK-FAC's re-fitted eigenvalues are the Gauss–Newton block's diagonal in its eigenbasis") {
  SUBCASE("tanh MLP 4-5-3 on 30 rows") {
    const data::Dataset d = iris_rows(30);
    const nn::Objective obj(nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.01);
    CHECK(ekfac_identity_gap(obj, d, ad::random_normal({obj.model().param_count()}, 12)) < 1e-10);
  }
  SUBCASE("a residual block (the model's own walk: the probes see the body and the skip path)") {
    const data::Dataset d = iris_rows(20);
    auto body = std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{std::make_shared<nn::Linear>(5, 5)});
    const nn::Model m(std::make_shared<nn::Sequential>(std::vector<nn::ModulePtr>{
                          std::make_shared<nn::Linear>(4, 5), std::make_shared<nn::ActivationLayer>(nn::Activation::Tanh),
                          std::make_shared<nn::Residual>(body, nullptr, nn::Activation::Tanh), std::make_shared<nn::Linear>(5, 3)}),
                      {4});
    const nn::Objective obj(m, nn::LossKind::CrossEntropy, 0.01);
    CHECK(ekfac_identity_gap(obj, d, ad::random_normal({m.param_count()}, 27)) < 1e-10);
  }
  SUBCASE("a small CNN (conv 3×3, padding 1, 16 positions) on 6 images") {
    const data::Dataset d = images(6, 1, 4, 4, 3, 13);
    const nn::Objective obj(conv_model(1, 2, 3, 1, {1, 4, 4}, 3), nn::LossKind::CrossEntropy, 0.01);
    CHECK(ekfac_identity_gap(obj, d, ad::random_normal({obj.model().param_count()}, 14)) < 1e-10);
  }
}

TEST_CASE("K-FAC solves: the factored inverse, its measured residual, and bad input") {
  const data::Dataset d = iris_rows(40);
  const nn::Objective obj(nn::mlp(4, 1, 6, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.01);
  const Tensor th = ad::random_normal({obj.model().param_count()}, 15);
  const Tensor b = ad::random_normal({th.size()}, 16);
  for (Curvature k : {Curvature::Kfac, Curvature::Ekfac}) {
    const CurvatureOperator A(obj, d, th, k);
    SolverChoice c = test::exact_solver();
    c.damping = 0.001;
    const SolveResult r = solve(A, b, c);
    CHECK(r.rel_residual < 1e-10);
    CHECK(r.warning.empty());
    CHECK(r.note.find("FAC") != std::string::npos);
    // the dense path on the same matrix agrees (the factored solve is exact for K-FAC's matrix)
    const Tensor M = dense_matrix(A);
    Tensor Md = M;
    for (std::size_t i = 0; i < th.size(); ++i) Md(i, i) += 0.001;
    CHECK(rel_err(r.x, dense_solve(Md, b)) < 1e-9);
    c.damping = -1;
    CHECK(error_of([&] { solve(A, b, c); }).find("damping") != std::string::npos);
  }
  SUBCASE("non-finite input is an error, never a silent NaN") {
    const CurvatureOperator A(obj, d, th, Curvature::Ekfac);
    Tensor bad = b;
    bad(3) = NAN;
    CHECK(error_of([&] { solve(A, bad, test::exact_solver()); }).find("right-hand side is not finite") != std::string::npos);
    bad(3) = INFINITY;
    CHECK(error_of([&] { solve_kfac(A, bad, 0.0); }).find("right-hand side is not finite") != std::string::npos);
    CHECK(error_of([&] { solve_kfac(A, ad::random_normal({2, th.size()}, 1), 0.0); }).find("right-hand side of shape") != std::string::npos);
    Tensor th_nan = th;
    th_nan(th.size() - 1) = NAN;  // the last layer's bias: its output gradients, S, are NaN
    for (Curvature k : {Curvature::Kfac, Curvature::Ekfac})
      CHECK(error_of([&] { CurvatureOperator(obj, d, th_nan, k); }).find("are not finite") != std::string::npos);
    data::Dataset d_inf = d;
    d_inf.X(2, 1) = INFINITY;  // the first layer's A
    CHECK(error_of([&] { Kfac(obj, d_inf, th, Curvature::Kfac); }).find("layer 0.weight are not finite") != std::string::npos);
  }
  const nn::Objective no_decay(nn::mlp(4, 1, 6, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.0);
  data::Dataset one = iris_rows(1);  // rank-one factors: singular without λ or μ
  const CurvatureOperator A(no_decay, one, th, Curvature::Kfac);
  CHECK(error_of([&] { solve(A, b, test::exact_solver()); }).find("add damping") != std::string::npos);
}

TEST_CASE("gradient dot and cosine equal explicit per-example gradients; TracIn at one checkpoint with η = 1 is the gradient dot") {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  const data::TrainTest tt = data::stratified_split(d, 0.2, 5);
  const nn::Objective obj(nn::mlp(4, 1, 8, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-2);
  const Tensor th = ad::random_normal({obj.model().param_count()}, 17);
  const std::vector<std::size_t> rows = {0, 3};
  const Tensor D = gradient_dot(obj, tt.train, tt.test, rows, th), C = gradient_cosine(obj, tt.train, tt.test, rows, th);
  const double n = static_cast<double>(tt.train.size());
  for (std::size_t j = 0; j < rows.size(); ++j) {
    const Tensor gt = test_loss_gradient(obj, tt.test, {rows[j]}, th);
    for (std::size_t i = 0; i < tt.train.size(); i += 7) {
      const Tensor gi = per_example_gradient(obj, tt.train, th, i);
      CHECK(D(j, i) == doctest::Approx(dot(gt, gi) / n).epsilon(1e-10));
      CHECK(C(j, i) == doctest::Approx(dot(gt, gi) / (norm2(gt) * norm2(gi))).epsilon(1e-10));
      CHECK(std::fabs(C(j, i)) <= 1.0 + 1e-12);
    }
  }
  CHECK(rel_err(tracin(obj, tt.train, tt.test, rows, {{1, 1.0, th}}), D) < 1e-14);
  // linear in the checkpoints: Σ_t η_t D(θ_t)
  const Tensor th2 = ad::random_normal({th.size()}, 18);
  const Tensor D2 = gradient_dot(obj, tt.train, tt.test, rows, th2);
  Tensor want = D;
  for (auto& e : want) e *= 0.5;
  axpy_inplace(want, 0.25, D2);
  CHECK(rel_err(tracin(obj, tt.train, tt.test, rows, {{1, 0.5, th}, {2, 0.25, th2}}), want) < 1e-13);
  CHECK(error_of([&] { tracin(obj, tt.train, tt.test, rows, {}); }).find("saved during training") != std::string::npos);
}

TEST_CASE("TracIn is Σ_t η_t ∇ℓ(z_test; θ_t)·∇ℓ̃(zᵢ; θ_t) / n from single-row gradients") {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  const data::TrainTest tt = data::stratified_split(d, 0.2, 6);
  const double lambda = 0.02;
  const nn::Objective obj(nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, lambda);
  const nn::Objective bare(nn::mlp(4, 1, 5, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 0.0);  // the test loss: no λ
  const std::vector<Snapshot> traj = {{3, 0.3, ad::random_normal({obj.model().param_count()}, 31)},
                                      {7, 0.05, ad::random_normal({obj.model().param_count()}, 32)},
                                      {12, 0.2, ad::random_normal({obj.model().param_count()}, 33)}};
  const std::vector<std::size_t> rows = {1, 5};
  const Tensor got = tracin(obj, tt.train, tt.test, rows, traj);
  const std::size_t n = tt.train.size();
  REQUIRE(got.shape(0) == 2);
  REQUIRE(got.shape(1) == n);
  Tensor want = zeros({2, n});
  for (const Snapshot& s : traj)
    for (std::size_t j = 0; j < rows.size(); ++j) {
      // autodiff of one-row objectives: ℓ(z_t) alone, and ℓ(zᵢ) + (λ/2)‖θ‖² = ℓ̃(zᵢ)
      const Tensor gt = ad::value_and_grad(bare.fn(data::subset(tt.test, {rows[j]})), s.theta).grad;
      for (std::size_t i = 0; i < n; ++i) {
        const Tensor gi = ad::value_and_grad(obj.fn(data::subset(tt.train, {i})), s.theta).grad;
        double dotv = 0;
        for (std::size_t k = 0; k < gt.size(); ++k) dotv += gt(k) * gi(k);
        want(j, i) += s.lr * dotv / static_cast<double>(n);
      }
    }
  CHECK(rel_err(got, want) < 1e-12);
  CHECK(max_abs(want) > 1e-4);  // not a comparison of zeros
}

TEST_CASE("saved steps: build_problem keeps θ and the learning rate after the asked sgd steps") {
  ProblemSpec s;
  s.dataset = "iris";
  s.optimizer = nn::Optimizer::Sgd;
  s.lr = 0.1;
  s.epochs = 3;
  s.batch_size = 40;  // 3 batches per epoch: 9 steps
  const Problem p = build_problem(s, false, {2, 9});
  REQUIRE(p.trajectory.size() == 2);
  CHECK(p.trajectory[0].step == 2);
  CHECK(p.trajectory[1].step == 9);
  CHECK(p.trajectory[0].lr == 0.1);
  CHECK(rel_err(p.trajectory[1].theta, p.theta) == 0.0);  // the last step is θ̂
  CHECK(rel_err(p.trajectory[0].theta, p.theta) > 1e-3);
  CHECK(error_of([&] { build_problem(s, false, {10}); }).find("takes at most 9 steps") != std::string::npos);
  ProblemSpec l = s;
  l.optimizer = nn::Optimizer::Lbfgs;
  CHECK(error_of([&] { build_problem(l, false, {1}); }).find("sgd or adam") != std::string::npos);
}

TEST_CASE("TRAK with k = p, an orthogonal projection and one model equals Gauss–Newton influence") {
  data::Dataset d = data::load_iris();
  data::Standardizer::fit(d).apply(d);
  const data::TrainTest tt = data::stratified_split(d, 0.2, 5);
  const nn::Objective obj(nn::mlp(4, 1, 6, nn::Activation::Tanh, 3), nn::LossKind::CrossEntropy, 1e-2);
  nn::TrainOptions o;
  o.optimizer = nn::Optimizer::Lbfgs;
  o.grad_tol = 1e-9;
  o.progress = false;
  const Tensor th = nn::train(obj, tt.train, obj.model().init(3), o).theta;
  const std::size_t p = th.size();
  const std::vector<std::size_t> rows = {1, 4};
  for (double mu : {0.0, 0.01}) {
    const CurvatureOperator G(obj, tt.train, th, Curvature::GaussNewton);
    SolverChoice c = test::exact_solver();
    c.damping = mu;
    const Tensor want = predicted_changes_each(G, tt.test, rows, c);
    TrakOptions t;
    t.dim = p;
    t.projection = Projection::Orthogonal;
    t.damping = mu;
    t.seed = 19;
    CHECK(rel_err(trak(obj, tt.train, tt.test, rows, {th}, t), want) < 1e-8);
    // a Gaussian projection of k = p is invertible: Pᵀ(PGPᵀ)⁻¹P = G⁻¹, the same answer without
    // damping (with μ > 0, (PGPᵀ + μI)⁻¹ damps other directions unless P is orthogonal)
    t.projection = Projection::Gaussian;
    const Tensor gauss = trak(obj, tt.train, tt.test, rows, {th}, t);
    if (mu == 0) CHECK(rel_err(gauss, want) < 1e-6);
    else CHECK(rel_err(gauss, want) > 1e-3);
    {  // its value, by dense matrices: (1/n) (P g_t)ᵀ (P G Pᵀ + μI)⁻¹ P gᵢ, P the same seeded projection
      const Tensor P = random_projection(p, p, Projection::Gaussian, 19);
      const Tensor G = dense_matrix(CurvatureOperator(obj, tt.train, th, Curvature::GaussNewton));  // includes λI
      Tensor M = zeros({p, p});
      for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = 0; b < p; ++b) {
          double v = 0;
          for (std::size_t i = 0; i < p; ++i)
            for (std::size_t k = 0; k < p; ++k) v += P(a, i) * G(i, k) * P(b, k);
          M(a, b) = v + (a == b ? mu : 0.0);
        }
      auto project = [&](const Tensor& g) {
        Tensor out = zeros({p});
        for (std::size_t a = 0; a < p; ++a)
          for (std::size_t i = 0; i < p; ++i) out(a) += P(a, i) * g(i);
        return out;
      };
      const double n = static_cast<double>(tt.train.size());
      for (std::size_t j = 0; j < rows.size(); ++j) {
        const Tensor x = dense_solve(M, project(test_loss_gradient(obj, tt.test, {rows[j]}, th)));
        for (std::size_t i = 0; i < tt.train.size(); i += 9)
          CHECK(gauss(j, i) == doctest::Approx(dot(x, project(per_example_gradient(obj, tt.train, th, i))) / n).epsilon(1e-7));
      }
    }
    // k < p is a sketch: correlated, not equal
    t.dim = p / 2;
    const Tensor sketch = trak(obj, tt.train, tt.test, rows, {th}, t);
    CHECK(rel_err(sketch, want) > 1e-3);
  }
  const Tensor P = random_projection(5, p, Projection::Orthogonal, 1);
  Tensor PPt = zeros({5, 5});
  for (std::size_t a = 0; a < 5; ++a)
    for (std::size_t b = 0; b < 5; ++b)
      for (std::size_t i = 0; i < p; ++i) PPt(a, b) += P(a, i) * P(b, i);
  for (std::size_t a = 0; a < 5; ++a)
    for (std::size_t b = 0; b < 5; ++b) CHECK(PPt(a, b) == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-12));
  CHECK(error_of([&] { random_projection(0, p, Projection::Gaussian, 0); }).find("projection dimension 0") != std::string::npos);
  CHECK(error_of([&] { random_projection(p + 1, p, Projection::Gaussian, 0); }).find("projection dimension") != std::string::npos);
}

TEST_CASE("TRAK's ensemble: models from other seeds, averaged") {
  ProblemSpec s;
  s.dataset = "iris";
  s.width = 4;
  s.weight_decay = 0.01;
  const Problem p = build_problem(s, false);
  const std::vector<Tensor> models = trained_models(p, 2, false);
  REQUIRE(models.size() == 2);
  CHECK(rel_err(models[0], p.theta) == 0.0);
  CHECK(rel_err(models[1], p.theta) > 1e-2);  // another initialisation, another minimum
  TrakOptions t;
  t.dim = 10;
  t.seed = 2;
  const Tensor both = trak(*p.obj, p.train, p.test, {0}, models, t);
  // the average of the two single-model estimates, each with its own projection (seed + m)
  const Tensor a = trak(*p.obj, p.train, p.test, {0}, {models[0]}, t);
  TrakOptions t1 = t;
  t1.seed = 3;
  const Tensor b = trak(*p.obj, p.train, p.test, {0}, {models[1]}, t1);
  Tensor want = a;
  axpy_inplace(want, 1.0, b);
  for (auto& e : want) e *= 0.5;
  CHECK(rel_err(both, want) < 1e-12);
}

TEST_CASE("the estimator table: one call shape; each row gives what the function it wraps gives, with its diagnostics") {
  ProblemSpec spec;
  spec.n_train = 60, spec.width = 4, spec.grad_tol = 1e-9;
  const Problem p = build_problem(spec, false);
  const Trained t = trained(p, false);
  const std::vector<std::size_t> rows = {0, 7};
  EstimatorSettings s;
  s.solver.damping = 0.01;
  // every row: [m, n], finite, named in the table the CLI parses
  for (const auto& r : estimator_rows()) {
    CHECK(estimators().parse(r.name) == r.id);
    if (r.id == Estimator::TracIn) continue;    // needs a trajectory (below)
    if (r.id == Estimator::Unrolled) continue;  // needs an sgd run (test_unrolled.cpp, and below)
    const Estimate e = estimate(r.id, t, rows, s);
    CHECK(e.estimator == r.id);
    REQUIRE(e.predicted.shape() == Shape{2, p.train.size()});
    CHECK(all_finite(e.predicted));
    CHECK(e.solves.size() == (r.method ? 2u : 0u));
    CHECK(e.seconds >= 0);
  }
  // the inverse-HVP rows agree with predicted_changes_each on the same operator
  const CurvatureOperator A(*p.obj, p.train, p.theta);
  SolverChoice c = s.solver;
  c.method = Method::Exact;
  const Tensor want = predicted_changes_each(A, p.test, rows, c);
  const Estimate ex = estimate(Estimator::Exact, t, rows, s), cg = estimate(Estimator::Cg, t, rows, s);
  CHECK(rel_err(ex.predicted, want) < 1e-12);
  CHECK(rel_err(cg.predicted, want) < 1e-7);
  CHECK(cg.solves[0].method == Method::Cg);
  CHECK(ex.grad_norm == doctest::Approx(A.grad_norm()));
  CHECK(estimate(Estimator::GradDot, t, rows, s).predicted(1, 5) == gradient_dot(*p.obj, p.train, p.test, rows, p.theta)(1, 5));
  // self-influence: exact is one eigendecomposition, cg one solve per row, trak none
  CHECK(self_cost(Estimator::Exact, s) == SelfCost::Cheap);
  CHECK(self_cost(Estimator::Cg, s) == SelfCost::SolvePerRow);
  CHECK(self_cost(Estimator::Trak, s) == SelfCost::None);
  const Tensor self = self_influence(Estimator::GradDot, t, s);
  const Tensor g3 = per_example_gradient(*p.obj, p.train, p.theta, 3);
  CHECK(self(3) == doctest::Approx(dot(g3, g3)).epsilon(1e-12));
  CHECK(error_of([&] { self_influence(Estimator::Trak, t, s); }).find("no self-influence") != std::string::npos);
  // TRAK's k above p and TracIn without a trajectory are errors naming what is missing
  EstimatorSettings big = s;
  big.trak.dim = p.theta.size() + 1;
  CHECK(error_of([&] { estimate(Estimator::Trak, t, rows, big); }).find("above the parameter count") != std::string::npos);
  CHECK(error_of([&] { estimate(Estimator::TracIn, t, rows, s); }).find("saved during training") != std::string::npos);
  // options: each row reads its own; a solver's options are not graddot's
  const auto& cg_row = row_of(Estimator::Cg);
  CHECK(std::find(cg_row.options.begin(), cg_row.options.end(), "tol") != cg_row.options.end());
  CHECK(row_of(Estimator::GradDot).options.empty());
  const auto all = estimator_options();
  CHECK(std::find(all.begin(), all.end(), "projection-dim") != all.end());
}

TEST_CASE("TracIn's self-influence is Σ η_t ‖∇ℓ̃(zᵢ; θ_t)‖² over the saved steps") {
  ProblemSpec spec;
  spec.n_train = 40, spec.width = 3, spec.optimizer = nn::Optimizer::Sgd, spec.epochs = 3, spec.batch_size = 10, spec.lr = 0.05;
  const Problem p = build_problem(spec, false, {2, 5});
  REQUIRE(p.trajectory.size() == 2);
  const Tensor self = self_influence(Estimator::TracIn, trained(p, false), {});
  double want = 0;
  for (const auto& snap : p.trajectory) {
    const Tensor g = per_example_gradient(*p.obj, p.train, snap.theta, 7);
    want += snap.lr * dot(g, g);
  }
  CHECK(self(7) == doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("datainf: exact with one training row (Sherman–Morrison), the closed form otherwise; μ ≤ 0 refused") {
  ProblemSpec spec;
  spec.n_train = 30, spec.width = 3, spec.grad_tol = 1e-9;
  const Problem p = build_problem(spec, false);
  const std::size_t P = p.theta.size(), n = p.train.size();
  const double mu = 0.5;
  const std::vector<std::size_t> rows = {2, 4};
  const Tensor D = datainf(*p.obj, p.train, p.test, rows, p.theta, mu);
  REQUIRE(D.shape() == Shape{2, n});
  // the formula term by term, with explicit (μI + gⱼgⱼᵀ)⁻¹ = (I − gⱼgⱼᵀ/(μ + ‖gⱼ‖²))/μ
  std::vector<Tensor> g;
  for (std::size_t j = 0; j < n; ++j) g.push_back(per_example_gradient(*p.obj, p.train, p.theta, j));
  const Tensor v = test_loss_gradient(*p.obj, p.test, {4}, p.theta);
  for (std::size_t i : {0ul, 7ul, 29ul}) {
    double want = 0;
    for (std::size_t j = 0; j < n; ++j) want += (dot(v, g[i]) - dot(v, g[j]) * dot(g[j], g[i]) / (mu + dot(g[j], g[j]))) / mu;
    want /= static_cast<double>(n * n);
    CHECK(D(1, i) == doctest::Approx(want).epsilon(1e-10));
  }
  // one training row: the swap is no approximation, Δ̂ = (1/n) vᵀ(g gᵀ + μI)⁻¹g exactly
  const data::Dataset one = data::subset(p.train, {5});
  const Tensor D1 = datainf(*p.obj, one, p.test, {4}, p.theta, mu);
  Tensor M = zeros({P, P});
  for (std::size_t a = 0; a < P; ++a)
    for (std::size_t b = 0; b < P; ++b) M(a, b) = g[5](a) * g[5](b) + (a == b ? mu : 0.0);
  const Tensor x = dense_solve(M, g[5]);
  CHECK(D1(0, 0) == doctest::Approx(dot(v, x)).epsilon(1e-9));
  // through the table: the same numbers; damping is its one option
  EstimatorSettings s;
  s.solver.damping = mu;
  CHECK(estimate(Estimator::DataInf, trained(p, false), rows, s).predicted(0, 3) == D(0, 3));
  CHECK(row_of(Estimator::DataInf).options == std::vector<std::string>{"damping"});
  CHECK(error_of([&] { datainf(*p.obj, p.train, p.test, rows, p.theta, 0); }).find("must be > 0") != std::string::npos);
}
