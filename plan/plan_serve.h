#pragma once
// `fathom plan serve` (docs/planning.md): the cheapest fleet that serves a traffic at its SLOs.
// Candidates are every model × GPU type × precision × engine × scheduler knobs × parallel layout
// (aggregated, or disaggregated prefill/decode pools at given P:D ratios) of the plan. An analytic
// screen (memory and KV capacity, cost-chain bounds on the fastest prefill and decode
// iterations against the SLOs, the GPU limit) drops what cannot work; for each survivor the
// highest arrival rate one serving unit sustains with every SLO met and a stable verdict is
// found by bisection on the simulator; the fleet is the units that carry the traffic at the
// plan's headroom. Every simulator run is identified by its resolved scenario's SHA-256 and, with
// a database, cached there, so that an interrupted plan resumes without rerunning anything.
// Deterministic: the same plan gives the same report on any number of threads.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "plan/plan_report.h"
#include "sim/model/model_catalog.h"

namespace fathom::plan {

// One objective: `stat` of `metric` at most `limit_s`. metric: ttft, tpot or e2e; stat: mean,
// p50, p90, p95 or p99 (mean and p99 from the steady-state window, with intervals; p50–p95
// from the whole run).
struct SloBound {
  std::string metric, stat;
  double limit_s = 0;
  std::string key() const { return metric + "_" + stat + "_s"; }
};

struct ServePlanSpec {
  std::string file, name;
  std::vector<std::string> models;  // catalog names or model files (absolute)
  // Traffic: the fleet's arrival rate (the peak of an hourly profile), its arrival process and
  // the length distributions as scenario YAML (serve.workload keys), or a trace.
  double rate_per_s = 0;
  std::vector<double> hourly;        // requests/s for each hour of a day (empty: none)
  std::string arrival = "poisson";   // poisson or gamma
  double cv = 1;                     // gamma
  std::string input_yaml, output_yaml;  // flow-style YAML of the distributions
  std::string trace_file;            // absolute; lengths and arrival pattern from it
  double trace_rate_per_s = 0;       // the trace's own mean rate
  double mean_input = 0, mean_output = 0;  // tokens (for the analytic screen and costs)
  double input_quantile[5] = {};     // input tokens at the mean, p50, p90, p95, p99 (screen)
  // The longest request (input + output) the traffic can hold; the engine's max_model_len is
  // set to it (as a deployment would) when below the model's context. 0: unbounded.
  int64_t longest_request = 0;
  // Objectives.
  std::vector<SloBound> slo;
  double min_user_tokens_per_s = 0;  // 0: none; else mean TPOT ≤ 1 / this
  // Candidates.
  std::vector<std::string> gpus;        // catalog names as written
  std::vector<std::string> precisions;  // bf16, fp16, fp8 (weights, activations and KV cache)
  std::vector<std::string> engines;     // engine presets (vllm, vllm-v0, sglang, trtllm)
  std::vector<int> tp, pp, ep;
  std::vector<int64_t> token_budgets, max_seqs;  // 0: the preset's
  bool aggregated = true;
  std::vector<std::pair<int, int>> pd_ratios;  // disaggregated prefill:decode replicas per unit
  std::map<std::string, double> prices;        // $/GPU-hour by GPU name or alias, over the catalog's
  // --profile defaults: every scenario prices its kernels with the documented defaults (write
  // `efficiency.profile: defaults`); otherwise a GPU's calibrated profile in the catalog is named.
  bool profile_defaults = false;
  double headroom = 0.2;   // share of each unit's measured capacity kept free
  int64_t max_gpus = 0;    // 0: no limit
  // Search.
  int64_t requests = 3000;  // simulated requests per probe (per unit)
  uint64_t seed = 1;
  double tolerance = 0.01;  // relative width of the final bisection bracket
  // Independent bisections per unit, with seeds seed, seed + 1, ...: the capacity is their mean
  // and its interval their Student t 95% interval (1: one bisection, the delta-method interval).
  int replications = 1;
  int64_t top = 10;
  int64_t verify = 3;       // top rows re-simulated as whole fleets at the planned rate
};

// Reads a serve plan (PlanInput from load_plan_input). Errors name the file and line.
ServePlanSpec parse_serve_plan(const PlanInput& in, const std::string& file);

// The $/GPU-hour of each candidate GPU of `spec`, keyed by its catalog name: `overrides` (a
// prices file, `--prices`) first, then the plan's `prices`, then the catalog's; names or aliases
// in either map. A GPU with no price is left out (the plan then ranks by GPUs). An unknown
// candidate GPU is an error naming `where` (the plan file).
std::map<std::string, double> serve_plan_prices(const ServePlanSpec& spec, const std::map<std::string, double>& overrides,
                                                const hw::HardwareCatalog& hardware, const std::string& where);

// The two columns a chart of a serve report's section plots, x against y; both "" for a section
// with no such chart. pareto_cost_latency: the latency figure its front is drawn on (the plan's
// first objective, e.g. ttft_p99_s) against usd_per_hour (gpus when the plan has no prices);
// pareto_throughput_interactivity: tokens_per_s_per_user against tokens_per_s_per_gpu (at each
// unit's capacity); hourly: hour against usd_autoscaled (gpus when unpriced). Read from the
// section as the planner writes it, so it works on a report read back from JSON or a database.
struct ChartColumns {
  std::string x, y;
};
ChartColumns serve_chart_columns(const PlanSection& section);

// Plans. Throws fathom::Cancelled when options.cancel is set; ConfigError when no candidate
// survives (the reasons, by count, in the message).
PlanReport plan_serve(const ServePlanSpec& spec, const PlanInput& input, const hw::HardwareCatalog& hardware,
                      const model::ModelCatalog& models, const PlanOptions& options = {});

}  // namespace fathom::plan
