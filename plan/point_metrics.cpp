#include "plan/point_metrics.h"

#include "sim/serve/metrics.h"

namespace fathom::plan {

Metrics estimate_metrics(const sim::EstimateResult& r) {
  return {{"time_s", r.total_s},
          {"tokens_per_s", r.tokens_per_s},
          {"mfu", r.mfu},
          {"usd_per_m_tokens", r.usd_per_million_tokens},
          {"flops_per_gpu", r.flops},
          {"bytes_per_gpu", r.bytes},
          {"compute_bound_s", r.compute_bound_s},
          {"memory_bound_s", r.memory_bound_s},
          {"latency_bound_s", r.latency_bound_s},
          {"communication_s", r.communication_s},
          {"weights_bytes_per_gpu", r.memory.weights_bytes},
          {"kv_cache_bytes_per_gpu", r.memory.kv_cache_bytes},
          {"memory_capacity_bytes", r.memory.capacity_bytes},
          {"fits", r.memory.fits() ? 1.0 : 0.0},
          {"gpus", r.gpus},
          {"train_time_s", r.train_time_s},
          {"train_usd", r.train_usd}};
}

Metrics train_metrics(const train::TrainResult& r) {
  const auto& t = r.time;
  const auto& m = r.memory;
  return {{"step_time_s", t.step},
          {"tokens_per_s", r.tokens_per_s},
          {"mfu", r.mfu},
          {"hfu", r.hfu},
          {"forward_s", t.forward},
          {"backward_s", t.backward},
          {"recompute_s", t.recompute},
          {"tp_comm_s", t.tp_comm},
          {"cp_comm_s", t.cp_comm},
          {"ep_comm_s", t.ep_comm},
          {"pp_comm_s", t.pp_comm},
          {"bubble_s", t.bubble},
          {"dp_comm_s", t.dp_comm},
          {"optimizer_s", t.optimizer},
          {"offload_s", t.offload},
          {"memory_bytes_per_gpu", m.total},
          {"memory_capacity_bytes", m.capacity},
          {"weights_bytes", m.weights},
          {"gradients_bytes", m.gradients},
          {"optimizer_bytes", m.optimizer},
          {"activations_bytes", m.activations},
          {"train_time_s", r.train_time_s},
          {"gpu_hours", r.gpu_hours},
          {"train_usd", r.usd},
          {"train_kwh", r.kwh}};
}

Metrics serve_metrics(const serve::ServeResult& r) {
  // The steady-state window's figures with their intervals and the verdict (sim/serve/metrics.h),
  // then whole-run counts for context.
  Metrics m = serve::headline_metrics(r);
  m.emplace_back("requests", static_cast<double>(r.requests));
  m.emplace_back("gpus", static_cast<double>(r.gpus));
  m.emplace_back("slo_attainment", r.slo_attainment);
  m.emplace_back("makespan_s", r.makespan_s);
  return m;
}

}  // namespace fathom::plan
