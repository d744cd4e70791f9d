#include "cli/commands.hpp"

#include <cstdio>

#include "cli/common.hpp"
#include "experiments/benchmark.hpp"
#include "influence/trak.hpp"

namespace inflab::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> t = {
      {"train", "train a model → checkpoint/ (with its problem), history.csv, loss.svg",
       "  --save-steps S1,S2  also keep θ after these sgd/adam steps in the checkpoint (for influence --method tracin)\n",
       "inflab train --dataset wine --width 8 --out runs/wine",
       true, std::nullopt, false, run_train},
      {"check", "gradient, HVP, symmetry and Taylor checks of R(θ)",
       "  --at-init      check at the initialisation instead of θ̂\n  --rows N       rows of the training set used (200)\n",
       "inflab check --depth 2 --at-init", true, std::nullopt, false, run_check},
      {"hessian", "dense H (or --curvature ggn) → hessian.npy, eigenvalues.csv",
       "  --curvature C  hessian, ggn, kfac or ekfac (--fisher expected|sampled|empirical, --fisher-seed S)\n  --max-dim N    refuse a dense H above N parameters (4000)\n", "inflab hessian --model logreg --classes 1,2",
       true, std::nullopt, false, run_hessian},
      {"spectrum", "eigenvalues of H: exact up to --exact-up-to, else Lanczos → spectrum.csv/.svg",
       "  --curvature C  hessian, ggn, kfac or ekfac (--fisher expected|sampled|empirical, --fisher-seed S)\n  --exact-up-to P  dense eigendecomposition up to P parameters (2000)\n  --steps N      Lanczos steps (60)\n",
       "inflab spectrum --depth 3 --weight-decay 0", true, std::nullopt, false, run_spectrum},
      {"influence", "predicted Δ of every training row for --test points → influence.csv, top.csv",
       "  --test T       highest (default), random:K or split rows 3,8\n  --top K        helpful and harmful rows listed per test point (10)\n",
       "inflab influence --checkpoint runs/train/checkpoint --test 3", true, EstimatorScope{true, true, false}, false, run_influence},
      {"validate", "influence against leave-one-out retraining of the --top K rows → validate.csv, scatter.svg",
       "  --test T       one test point: highest (default) or a split row\n  --top K        rows retrained, by |predicted Δ| (20, at least 3)\n"
       "  --params P     predicted Δ over all parameters (default) or last: the last layer only, the layers below frozen\n",
       "inflab validate --depth 4 --weight-decay 0", true, EstimatorScope{true, true, false}, true, run_validate},
      {"group", "group influence (first, second order, Newton) against group retraining",
       "  --test T       one test point (highest)\n  --fraction P   group size as a share of the training set (0.1)\n"
       "  --groups G     groups per kind (10, at least 3)\n  --kinds K,..   random,knn,gradient (also: class)\n"
       "  --select       also the most influential group: greedy against second-order selection\n",
       "inflab group --dataset iris --classes 1,2 --model logreg --weight-decay 0.01 --fraction 0.2 --select", true, EstimatorScope{false, false, false}, true, run_group},
      {"lds", "linear datamodeling score: Σ predicted Δ over random subsets against retraining on them",
       "  --test T       one test point (highest)\n  --subsets M    random subsets (20, at least 3)\n  --alpha A      fraction each subset keeps (0.5)\n",
       "inflab lds --model logreg --classes 1,2 --weight-decay 0.01 --subsets 30", true, EstimatorScope{true, true, false}, true, run_lds},
      {"mislabel", "flip --flip of the training labels; rank rows by self-influence against training loss",
       "  --flip F       fraction of training labels flipped (0.1, seeded)\n  --inspect Q    share of the ranking inspected for 'found' (0.1)\n",
       "inflab mislabel --dataset digits --model softmax --flip 0.05", true, EstimatorScope{false, false, false}, false, run_mislabel},
      {"study fragility", "Basu, Pope & Feizi 2021: Pearson against depth, width, weight decay and test point, over seeds",
       "  --depths 1,2,3,4,6,8 --widths 5,10,25,50 --weight-decays 0,0.001\n  --random-tests N  random test points besides the highest-loss one (2)\n"
       "  --top K        rows retrained per test point (10)\n"
       "  --candidates R which rows: top (largest |predicted Δ|, default), loss (highest training loss), random\n"
       "  --params P     predicted Δ over all parameters (default) or last: the last layer only, the layers below frozen\n"
       "  --seeds K      repeats of every setting, seed = --seed + k: a new split, subsample and initialisation (3);\n"
       "                 tables and plots show the median, quartiles and a 95% interval of the median (from 6 values)\n",
       "inflab study fragility --depths 1,2 --widths 8 --threads 2", true, EstimatorScope{false, false, false}, true, run_study_fragility},
      {"study groups", "Basu, You & Feizi 2020: first against second-order group influence over p and kind",
       "  --fractions 0.01,0.05,0.1,0.2,0.3  --groups 10  --kinds random,knn,gradient\n  --no-select    skip the most-influential-group rows\n",
       "inflab study groups --fractions 0.05,0.2", true, EstimatorScope{false, false, false}, true, run_study_groups},
      {"study decomposition", "Bae et al. 2022: influence's gap to cold leave-one-out in five terms over depth and λ; estimators × references",
       "  --depths 1,2,3,4,6,8 --weight-decays 0,0.001 --seeds 3\n"
       "  --top K        rows removed per setting, by |predicted Δ| of the linear rung (8)\n"
       "  --estimators E,…  the first is the ladder's estimate (ekfac,cg,graddot); names as in benchmark\n"
       "  --damping MU   μ of the proximal retrain, the PBRF, the linear rung and the estimators (0.001)\n"
       "  --cold-histories H,…  L-BFGS histories of the cold retrains: the first against θ̂, the spread over all (10,5,20)\n"
       "  --continuation K  follow loo, loo-proximal and pbrf from θ̂ in K steps of the row's weight and flag a\n"
       "                 retrain that ended on another branch (4; 0: no check)\n",
       "inflab study decomposition --depths 1,2 --seeds 1 --top 5", true, EstimatorScope{true, false, true}, true, run_study_decomposition},
      {"benchmark", "estimators scored against retraining (or a CG reference): LOO and LDS correlations, noisy-label AUC, time (docs/benchmark.md)",
       "  --estimators E,…  any rows of the estimator table (exact,cg,ggn,kfac,ekfac,graddot,trak), or these:\n" +
           experiments::bench_entry_help() +
           "  --test-points M  random test points (10)   --loo-rows K  random rows left out, one retrain each (100)\n"
           "  --subsets S      LDS subsets (100)   --alpha A  share of rows each keeps (0.5)\n"
           "  --flip F         share of labels flipped for the noisy-label problem (0.1)\n"
           "  --truth T        what each estimator is scored against (retrain):\n" +
           experiments::benchmark_truths().help("      ") +
           "  --reference-tol T (1e-10)  --reference-iterations N (10000)   the cg reference's solve (cg, both)\n"
           "  defaults: Fashion-MNIST with 5000 train / 500 test rows, softmax regression, λ = 0.01\n",
       "inflab benchmark --n-train 1000 --n-test 200 --loo-rows 30 --subsets 30 --threads 2", true, EstimatorScope{true, false, true}, true, run_benchmark},
  };
  return t;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

std::string overview() {
  std::string u = "usage: inflab <command> [--option value ...]\n       inflab help <command>   (options and an example)\n\ncommands:\n";
  for (const auto& c : commands()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-20s ", c.name.c_str());
    u += line + c.summary + "\n";
  }
  u += "\nexit codes: 0 done, 1 failed, 2 usage error, 3 a derivative check failed\ndocs: docs/cli.md\n";
  return u;
}

std::string command_help(const Command& c) {
  std::string h = "inflab " + c.name + ": " + c.summary + "\n\nexample:\n  " + c.example + "\n";
  if (!c.options.empty()) h += "\noptions:\n" + c.options;
  const bool benchmark = c.estimation && c.estimation->benchmark_defaults;
  if (c.problem) h += "\n" + problem_usage(benchmark ? experiments::benchmark_problem() : experiments::ProblemSpec{});
  if (c.estimation)
    h += "\n" + estimator_usage(*c.estimation, c.estimation->benchmark_defaults ? experiments::benchmark_settings() : experiments::EstimatorSettings{});
  if (c.retrain) h += "\n" + retrain_usage();
  return h + "\n" + common_usage();
}

}  // namespace inflab::cli
