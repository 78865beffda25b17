#pragma once
// `fathom plan total` (docs/planning-total.md): the model size N and training tokens D that reach a
// target loss L(N, D) = ℓ at the least training plus lifetime serving cost, beside the
// Chinchilla-optimal point (the least training cost alone for the same loss).
//
// --cost flops (Sardana, Portes, Doubov, Frankle 2024, "Beyond Chinchilla-Optimal", ICML,
// arXiv:2401.00448, §2 eq. 2–3): minimise 6·N·D + 2·N·D_inf subject to L(N, D) = ℓ, with 6N FLOPs per
// training token and 2N per inference token (Kaplan et al. 2020), D_inf the lifetime inference
// tokens (input plus output).
// --cost usd: minimise train_usd(N, D) + Σ serving_usd(N) over the demand's input and output tokens,
// both from callbacks (plan/total_cost.h). They are evaluated on a coarse log grid of model sizes
// (sized_model of the plan's family at each size); between grid points the training dollars per
// token and the serving dollars per input and per output token are interpolated linearly in
// (log N, log usd), and the optimum is searched only inside the grid.
//
// The search: for each N, D(N) solves L(N, D) = ℓ by bisection in log D; the cost is scanned at 400
// points in log N and the best bracket refined by golden section to a relative 1e-12 in N. Any law
// of the catalog or a `fathom fit` result with variables N and D works (others held at `at:`).
#include <memory>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "fit/law.h"
#include "plan/plan_report.h"
#include "plan/total_cost.h"

namespace fathom::plan {

enum class TotalCostKind { kFlops, kUsd };
std::string to_string(TotalCostKind k);
TotalCostKind parse_total_cost(const std::string& text, const std::string& flag);  // FlagError

// Lifetime inference demand: `tokens` (D_inf, input plus output), or `requests` with mean input
// and output tokens per request.
struct InferenceDemand {
  double tokens = 0;
  double requests = 0, input_per_request = 0, output_per_request = 0;
  double total_tokens() const { return requests > 0 ? requests * (input_per_request + output_per_request) : tokens; }
  // Priced apart in usd; demand given as bare tokens is priced as generated tokens (the dearer).
  double input_tokens() const { return requests > 0 ? requests * input_per_request : 0; }
  double output_tokens() const { return requests > 0 ? requests * output_per_request : tokens; }
};

struct TotalSpec {
  std::string name;
  std::shared_ptr<const fit::Law> law;
  std::vector<double> params;  // the law's parameters, in its order
  std::vector<double> others;  // values of the law's variables other than N and D, in its order
  std::string law_source;      // "inline chinchilla" or the result file
  double target_loss = 0;
  std::string target_source;  // how the target was given ("loss: 2.0", "13B Chinchilla-style model")
  std::string target_where;   // file:line of the target, for errors ("" : the law's source)
  InferenceDemand demand;
  std::string family = "llama";  // sized_model family (usd; the shape column)
  std::string gpu = "h100-sxm";  // usd: training and serving GPU (catalog name)
  std::string serving_gpu;       // usd: "" = gpu
  TrainingPriceOptions training;
  ServingPriceOptions serving;
  int grid_points = 8;  // usd: model sizes evaluated, ≥ 3
  // usd: plan files whose planners price each size instead of the defaults
  // (plan/total_planners.h); absolute paths, "" for the defaults.
  std::string serving_plan, training_plan;
};

// Reads a total plan (the root of a plan file; docs/planning-total.md). A law result path is
// relative to the plan file. Errors name file:line.
TotalSpec parse_total_spec(const YamlNode& root);

// The loss of N parameters trained on D tokens, and the D that makes (N, D) Chinchilla-style
// (training-compute-optimal: no other split of 6·N·D reaches a lower loss).
double total_loss(const TotalSpec& s, double n, double d);
double chinchilla_tokens(const TotalSpec& s, double n);

struct TotalCostModel {
  TotalCostKind kind = TotalCostKind::kFlops;
  TrainingUsdFn training_usd;  // usd only
  ServingUsdFn serving_usd;    // usd only
  std::string basis;           // prices, for the notes
};

struct TotalPoint {
  std::string label;  // lifetime_optimal, chinchilla_optimal, flops_optimal, n_x0.5, ...
  double n = 0, d = 0, loss = 0;
  double train = 0, inference = 0;  // FLOPs or dollars
  double total() const { return train + inference; }
};

struct GridPoint {
  model::ModelSpec model;
  double n = 0;
  double train_usd_per_token = 0;
  ServingCost serving;
};

struct TotalResult {
  TotalPoint optimum, chinchilla;
  std::vector<TotalPoint> others;  // flops_optimal (usd only) and neighbours of the optimum
  std::vector<GridPoint> grid;     // usd only
  bool at_grid_edge = false;       // usd: the optimum sits on the grid's end
  double n_min = 0;                // below this N the target loss cannot be reached
};

// Throws ConfigError when the target loss cannot be reached.
TotalResult solve_total(const TotalSpec& s, const TotalCostModel& cost, const PlanOptions& o = {});

// The report: sections "ranked" (every point, cheapest first), "chinchilla" (the Chinchilla-optimal
// point), and for usd "grid" (the priced model sizes).
PlanReport plan_total(const TotalSpec& s, const TotalCostModel& cost, const PlanOptions& o = {});

}  // namespace fathom::plan
