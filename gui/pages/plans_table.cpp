// plan_table (gui/pages/plan_charts.h): a planner's section as a gui::Table with the meaning of
// each column (docs/planning.md, planning-train.md, planning-total.md) and each cell's provenance.
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "gui/pages/plan_charts.h"

namespace fathom::gui {

namespace {

// What each column means, from the planners' guides; a column not listed is named by its
// section and planner only.
const std::map<std::string, std::string>& column_tips() {
  static const std::map<std::string, std::string> kTips = {
      {"rank", "position in the section, best first (the planner's ranking)"},
      {"model", "the model of the fleet"},
      {"gpu", "catalog GPU"},
      {"precision", "weights, activations and KV cache precision"},
      {"engine", "engine preset (docs/serving.md)"},
      {"pools", "aggregated replicas, or prefill:decode pools (P1:D2)"},
      {"layout", "parallel layout of a replica"},
      {"scheduler", "scheduler knobs (preset: the engine's)"},
      {"gpus_per_unit", "GPUs of one serving unit"},
      {"units", "units of the fleet: ceil(rate / ((1 − headroom) × capacity))"},
      {"gpus", "GPUs of the fleet or job"},
      {"capacity_req_per_s", "highest arrival rate one unit carries with every objective met (bisection on the simulator), req/s"},
      {"capacity_ci95_lo", "lower end of the capacity's 95% interval, req/s"},
      {"capacity_ci95_hi", "upper end of the capacity's 95% interval, req/s"},
      {"planned_req_per_s", "rate each unit carries: plan rate / units, req/s"},
      {"headroom", "1 − planned / capacity"},
      {"ttft_p99_s", "time to first token, p99 of the steady-state window, at the planned load (s)"},
      {"tpot_p99_s", "time per output token, p99 of the window, at the planned load (s)"},
      {"e2e_p99_s", "end-to-end latency, p99 of the window, at the planned load (s)"},
      {"tokens_per_s_per_gpu", "output tokens/s of the fleet per GPU"},
      {"tokens_per_s_per_user", "1 / mean TPOT: output tokens/s a user sees"},
      {"usd_per_hour", "gpus × $/GPU-hour"},
      {"usd_per_m_input_tokens", "hourly cost × prefill GPU-time share per million prompt tokens ($)"},
      {"usd_per_m_output_tokens", "hourly cost × decode GPU-time share per million output tokens ($)"},
      {"usd_per_m_tokens", "hourly cost per million tokens of both kinds ($)"},
      {"binding", "what stops a higher rate per unit (or the constraint with the least slack)"},
      {"verdict", "the saturation verdict at the planned rate (docs/metrics.md)"},
      {"verified", "the whole fleet simulated at the plan's rate"},
      {"candidate", "the candidate dropped"},
      {"stage", "the stage that dropped it (screen, search, ...)"},
      {"reason", "why it was dropped"},
      {"hour", "hour of the day"},
      {"rate_req_per_s", "the traffic in that hour, req/s"},
      {"usd_autoscaled", "$ of the GPUs autoscaled for that hour"},
      {"usd_fixed", "$ of the fleet sized for the peak, in that hour"},
      {"tp", "tensor-parallel degree"},
      {"pp", "pipeline-parallel degree"},
      {"dp", "data-parallel degree"},
      {"cp", "context-parallel degree"},
      {"ep", "expert-parallel degree"},
      {"virtual_stages", "interleaved pipeline chunks per rank"},
      {"microbatch", "sequences per microbatch"},
      {"recompute", "activation recomputation"},
      {"zero", "ZeRO stage"},
      {"step_s", "seconds per optimizer step (train::TrainModel::evaluate)"},
      {"tokens_per_s", "training throughput of the job"},
      {"mfu", "model FLOPs utilisation (PaLM convention)"},
      {"train_days", "time to train on the plan's tokens, days"},
      {"gpu_hours", "GPUs × hours"},
      {"usd", "gpu_hours × $/GPU-hour"},
      {"memory_gib", "memory per GPU on the fullest pipeline stage, GiB"},
      {"goodput", "goodput under failures (not modelled yet: empty)"},
      {"point", "the point of the lifetime search"},
      {"shape", "the model shape at that size"},
      {"n_params", "parameters N"},
      {"train_tokens", "training tokens D reaching the target loss"},
      {"tokens_per_param", "D / N"},
      {"train_flops", "6·N·D"},
      {"inference_flops", "2·N per lifetime inference token"},
      {"total_flops", "training plus inference FLOPs"},
      {"train_usd", "training dollars"},
      {"serving_usd", "lifetime serving dollars"},
      {"total_usd", "training plus serving dollars"},
      {"loss", "L(N, D) of the plan's law"},
      {"saving_vs_chinchilla_pct", "saving against the Chinchilla-optimal point, %"},
  };
  return kTips;
}

std::string planner_call(const plan::PlanReport& r) {
  if (r.kind == "serve") return "plan::plan_serve";
  if (r.kind == "train") return "plan::plan_train";
  if (r.kind == "total") return "plan::plan_total";
  return "the planner";
}

}  // namespace

Table plan_table(const plan::PlanReport& r, size_t section) {
  Table t;
  if (section >= r.sections.size()) return t;
  const plan::PlanSection& s = r.sections[section];
  const std::string source = fmt::format("{} of {} plan '{}', section {}", planner_call(r), r.kind, r.name, s.name);
  auto tip_of = [&](const std::string& column) {
    const auto it = column_tips().find(column);
    return it == column_tips().end() ? column + " — " + source : it->second + " — " + source;
  };
  t.columns.push_back({"rank", tip_of("rank"), 4});
  if (!s.rows.empty()) {
    for (const auto& [name, value] : s.rows.front().cells) t.columns.push_back({name, tip_of(name), 4});
  }
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const plan::PlanRow& row = s.rows[i];
    std::string priced = row.profile.empty() ? std::string() : "\nkernels priced by: " + row.profile;
    std::vector<Cell> cells;
    cells.push_back(Cell::number(static_cast<double>(i + 1), {}, 6));
    for (const auto& [name, value] : row.cells) {
      std::string tip = tip_of(name) + priced;
      if (name == "capacity_req_per_s") {
        bool have = true;
        double lo = 0, hi = 0;
        try {
          lo = row.number("capacity_ci95_lo");
          hi = row.number("capacity_ci95_hi");
        } catch (const std::out_of_range&) {
          have = false;
        }
        if (have && std::isfinite(lo) && std::isfinite(hi)) tip += fmt::format("\n95% interval [{:.4g}, {:.4g}] req/s", lo, hi);
      }
      if (const double* d = std::get_if<double>(&value)) {
        cells.push_back(Cell::number(*d, tip));
      } else {
        cells.push_back(Cell::text(std::get<std::string>(value), tip));
      }
    }
    t.rows.push_back(std::move(cells));
  }
  return t;
}

}  // namespace fathom::gui
