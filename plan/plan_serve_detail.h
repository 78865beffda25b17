#pragma once
// Internals of plan/plan_serve.cpp shared with plan/plan_serve_report.cpp: one candidate serving
// unit, its probes on the simulator and the search's outcome.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plan/plan_serve.h"
#include "store/sweep_store.h"

namespace fathom::serve {
struct ServeResult;
}

namespace fathom::plan::detail {

// One simulator run of a unit at one arrival rate: what the planner reads from it.
struct Probe {
  double rate = 0;        // requests/s offered to the unit
  bool ran = false;       // false: the simulator refused the configuration (`message` says why)
  std::string message;
  std::string verdict;
  std::map<std::string, double> m;  // ttft_p99_s, ttft_p99_s_lo/_hi, ..., tokens/s, prefill share
  double get(const std::string& k) const;  // NaN when absent
};

// Whether a probe meets the plan: the constraint furthest past its limit ("" when none), and
// its value and limit.
struct Check {
  bool ok = false;
  std::string binding;
  double value = 0, limit = 0;
};
Check check_probe(const ServePlanSpec& spec, const Probe& p);

struct Candidate {
  // What it is.
  std::string model, gpu, precision, engine;
  int64_t token_budget = 0, max_seqs = 0;  // 0: the preset's
  int tp = 1, pp = 1, ep = 1;
  int prefill = 0, decode = 0;  // disaggregated replicas per unit (0: aggregated)
  std::string label;            // "h100-sxm bf16 vllm tp8"
  int gpus_per_unit = 0;
  int gpus_per_node = 8;         // of the GPU's servers
  double usd_per_gpu_hour = 0;  // 0: unpriced
  int64_t max_model_len = 0;   // 0: the model's context
  std::string profile_choice;  // efficiency.profile of its scenarios: a profile file, "defaults" or ""
  std::string unit_text;        // the unit's scenario at the plan's rate (requests per probe)
  std::string profile;
  // Screen.
  std::string rejected;  // why it was dropped ("" : kept)
  std::string rejected_by;  // screen, search, limit
  double bound_rate = 0;    // cost-chain upper bound on the unit's rate, requests/s
  double prefill_share_bound = 0;
  // Search.
  double capacity = 0, capacity_lo = 0, capacity_hi = 0;  // requests/s per unit at the SLOs
  std::string binding;      // what stops a higher rate
  int probes = 0;
  Probe at_capacity;        // the highest feasible probe
  int64_t units = 0;
  Probe at_plan;            // one unit at the planned per-unit rate
  std::string verified;     // whole fleet at the plan's rate: "" (not run), "meets SLOs", "misses ..."
  Probe fleet;
  bool feasible() const { return rejected.empty(); }
};

// The candidates of the plan, in its order (every list's product), and the analytic screen of
// one: sets c.rejected or c.bound_rate (plan_serve_units.cpp).
std::vector<Candidate> enumerate(const ServePlanSpec& spec, const hw::HardwareCatalog& hardware,
                                 const model::ModelCatalog& models, std::vector<std::string>& notes);
void screen(const ServePlanSpec& spec, Candidate& c, const hw::HardwareCatalog& hardware,
            const model::ModelCatalog& models);

// The planner's figures of a serving run: the headline metrics (sim/serve/metrics.h), the
// whole-run p50, p90 and p95 of TTFT, TPOT and E2E, and prompt tokens/s in the window.
std::map<std::string, double> run_figures(const serve::ServeResult& r);
// A probe from stored figures: the 95% interval bounds also under `NAME_lo` and `NAME_hi`.
Probe make_probe(double rate, const std::string& verdict, std::map<std::string, double> figures);

// Simulator runs of units, identified by their resolved scenario's hash, cached in memory and,
// with a database, in a sweep of it named plan-serve-probes (so an interrupted plan resumes
// without rerunning them). Thread-safe.
class ProbeCache {
 public:
  ProbeCache(const std::string& db, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
             const std::atomic<bool>* cancel);
  ~ProbeCache();
  // One unit of `c` at `rate` requests/s, with the plan's requests.
  Probe run(const ServePlanSpec& spec, const Candidate& c, double rate);
  // Writes the runs made since the last flush (one transaction).
  void flush();

 private:
  const hw::HardwareCatalog& hardware_;
  const model::ModelCatalog& models_;
  const std::atomic<bool>* cancel_;
  std::unique_ptr<store::SweepStore> store_;
  int64_t sweep_id_ = 0;
  std::mutex mu_;
  std::map<std::string, store::SweepPointRow> stored_;
  std::vector<store::SweepPointRow> pending_;
};

// The scenario of `units` units of `c` carrying `rate` requests/s (the fleet's, or one unit's),
// with `requests` requests.
std::string scenario_text(const ServePlanSpec& spec, const Candidate& c, int64_t units, double rate, int64_t requests);

// Indices of the feasible candidates, best first: by $/hour (GPUs when unpriced), then by the
// larger cost-chain bound (seed-independent), then by label.
std::vector<size_t> ranking(const ServePlanSpec& spec, const std::vector<Candidate>& cands);

// The plan's report from the searched candidates (plan_serve_report.cpp).
PlanReport build_report(const ServePlanSpec& spec, const PlanInput& input, std::vector<Candidate>& cands,
                        const std::vector<std::string>& notes);

}  // namespace fathom::plan::detail
