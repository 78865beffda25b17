// Per-request statistics as requests complete, and the ServeResult at the end of a run
// (definitions: docs/metrics.md).
#include <fmt/format.h>

#include "common/error.h"
#include "sim/serve/engine.h"

namespace fathom::serve {

namespace detail {

void Engine::complete(const Slot& slot) {
  const RequestRecord& rec = slot.record;
  input_tokens_ += rec.input;
  output_tokens_ += static_cast<int64_t>(rec.output) * rec.samples;
  cached_tokens_ += rec.cached;
  last_finish_ = std::max(last_finish_, rec.finish_ns);
  ttft_.add(static_cast<double>(rec.first_token_ns - rec.arrival_ns));
  e2e_.add(static_cast<double>(rec.finish_ns - rec.arrival_ns));
  queueing_.add(static_cast<double>(rec.scheduled_ns - rec.arrival_ns));
  // The SLO test uses the per-request values in seconds exactly as the requests CSV shows them.
  const double t1 = des::to_s(rec.first_token_ns - rec.arrival_ns);
  const double te = des::to_s(rec.finish_ns - rec.arrival_ns);
  double tp = 0, tp_ns = -1;
  if (rec.output > 1) {
    tp = des::to_s(rec.finish_ns - rec.first_token_ns) / (rec.output - 1);
    tp_ns = static_cast<double>(rec.finish_ns - rec.first_token_ns) / (rec.output - 1);
    tpot_.add(tp_ns);
  }
  window_.complete(slot.id, static_cast<double>(rec.first_token_ns - rec.arrival_ns), tp_ns,
                   static_cast<double>(rec.finish_ns - rec.arrival_ns));
  const auto& slo = cfg_.slo;
  if ((slo.ttft_s <= 0 || t1 <= slo.ttft_s) && (slo.tpot_s <= 0 || tp <= slo.tpot_s) && (slo.e2e_s <= 0 || te <= slo.e2e_s)) {
    ++good_;
  }
  if (opt_.keep_records) kept_[static_cast<size_t>(slot.id)] = rec;
  if (opt_.on_request_done) opt_.on_request_done(slot.id, rec);
}

// No window could be formed: its figures are the whole run's, without intervals.
void Engine::whole_run_window(ServeResult& r, double T, TimeNs last_finish) const {
  MeasurementWindow& w = r.window;
  w.start_s = des::to_s(last_finish) - r.makespan_s;
  w.end_s = des::to_s(last_finish);
  w.duration_s = r.makespan_s;
  w.arrivals = w.completions = r.completed;
  w.input_tokens = r.input_tokens;
  w.output_tokens = r.output_tokens;
  w.request_throughput.value = r.request_throughput;
  w.output_throughput.value = r.output_throughput;
  w.total_throughput.value = r.total_throughput;
  w.goodput.value = r.goodput;
  w.ttft_mean.value = r.ttft.mean;
  w.ttft_p99.value = r.ttft.p99;
  w.tpot_mean.value = r.tpot.mean;
  w.tpot_p99.value = r.tpot.p99;
  w.e2e_mean.value = r.e2e.mean;
  w.e2e_p99.value = r.e2e.p99;
  const double busy = prefill_gpu_s_ + decode_gpu_s_;
  w.utilisation = r.gpus > 0 ? busy / (r.gpus * T) : 0;
  w.prefill_cost_share = busy > 0 ? prefill_gpu_s_ / busy : 0;
  const double usd = s_.usd_per_gpu_hour * r.gpus * T / 3600.0;
  if (r.input_tokens > 0) w.usd_per_m_input_tokens = usd * w.prefill_cost_share / static_cast<double>(r.input_tokens) * 1e6;
  if (r.output_tokens > 0) {
    w.usd_per_m_output_tokens = usd * (1 - w.prefill_cost_share) / static_cast<double>(r.output_tokens) * 1e6;
  }
  Saturation& sat = r.saturation;
  sat.offered_req_per_s = r.arrival_rate;
  sat.served_req_per_s = r.request_throughput;
  sat.rho = kNaN;
  sat.queue_growth_per_s.value = kNaN;
}

ServeResult Engine::result(TimeNs first_arrival) {
  if (completed_ != arrived_) {
    throw ConfigError(s_.file, fmt::format("serve: the simulation stalled with {} of {} requests unfinished: the KV "
                                           "cache cannot hold the work admitted; give the replicas more memory or "
                                           "lower serve.scheduler.max_seqs",
                                           arrived_ - completed_, arrived_));
  }
  ServeResult r;
  r.engine = cfg_.engine;
  r.scheduler = to_string(cfg_.scheduler.kind);
  r.router = to_string(cfg_.router);
  r.arrival = workload_.arrival.describe();
  r.input_dist = workload_.trace ? "trace" : workload_.input.describe();
  r.output_dist = workload_.trace ? "trace" : workload_.output.describe();
  r.seed = workload_.seed;
  r.replicas = static_cast<int>(reps_.size());
  for (const auto& rp : reps_) r.gpus += rp.gpus;
  r.weights_bytes = first_memory_.weights;
  r.activation_bytes = first_memory_.activations;
  r.runtime_bytes = first_memory_.runtime;
  r.kv_bytes = first_memory_.kv;
  r.kv_bytes_per_token = first_memory_.kv_token;
  r.kv_tokens = first_memory_.blocks * block_size_;
  r.gpu_memory_bytes = s_.gpu.memory_bytes;
  r.requests = arrived_;
  r.completed = completed_;
  r.preemptions = preemptions_;
  r.prefill_tokens_computed = prefill_computed_;
  r.events = static_cast<int64_t>(sim_.events());
  r.input_tokens = input_tokens_;
  r.output_tokens = output_tokens_;
  r.cached_tokens = cached_tokens_;
  const TimeNs last_finish = std::max(first_arrival, last_finish_);
  // Every token that entered left: each request finished with all its output tokens.
  FATHOM_CHECK(emitted_ == r.output_tokens);
  r.makespan_s = des::to_s(last_finish - first_arrival);
  const double T = std::max(r.makespan_s, 1e-12);
  r.request_throughput = static_cast<double>(r.completed) / T;
  r.output_throughput = static_cast<double>(r.output_tokens) / T;
  r.total_throughput = static_cast<double>(r.input_tokens + r.output_tokens) / T;
  r.goodput = static_cast<double>(good_) / T;
  r.slo_attainment = r.requests > 0 ? static_cast<double>(good_) / static_cast<double>(r.requests) : 0;
  r.ttft = ttft_.summary();
  r.tpot = tpot_.summary();
  r.e2e = e2e_.summary();
  r.queueing = queueing_.summary();
  r.itl = itl_.summary();
  const double window_ns = static_cast<double>(last_finish - first_arrival);
  r.mean_in_system = window_ns > 0 ? area_system_ / window_ns : 0;
  r.mean_waiting = window_ns > 0 ? area_waiting_ / window_ns : 0;
  r.arrival_rate = r.request_throughput;
  double peak_flops = s_.gpu.peak(s_.precision.gemm_dtype());
  if (peak_flops <= 0) peak_flops = s_.gpu.peak(DType::kBf16);
  double busy = 0, flops = 0, bytes = 0;
  for (auto& rp : reps_) {
    rp.mark_kv(last_finish);
    r.iterations += rp.iterations;
    busy += rp.busy_s;
    flops += rp.flops * rp.gpus;
    bytes += rp.bytes * rp.gpus;
    ReplicaStats st;
    st.role = rp.role == Role::kServe ? "serve" : rp.role == Role::kPrefill ? "prefill" : "decode";
    st.iterations = rp.iterations;
    st.busy_s = rp.busy_s;
    st.kv_blocks = rp.total_blocks;
    st.block_size = block_size_;
    st.kv_used_mean = window_ns > 0 ? rp.kv_area / static_cast<double>(last_finish) : 0;
    st.kv_used_max = rp.kv_max;
    st.requests = rp.requests;
    r.replica_stats.push_back(st);
  }
  r.gpu_busy = busy / (T * static_cast<double>(reps_.size()));
  r.mfu = flops / (T * r.gpus * peak_flops);
  r.mbu = bytes / (T * r.gpus * s_.gpu.memory_bw_Bps);
  if (r.output_tokens > 0) {
    r.usd_per_million_output_tokens = s_.usd_per_gpu_hour * r.gpus * T / 3600.0 / static_cast<double>(r.output_tokens) * 1e6;
  }
  window_.finish(s_.usd_per_gpu_hour, r.gpus, r.window, r.saturation, r.saturation_verdict);
  if (!r.window.formed) whole_run_window(r, T, last_finish);
  if (spec_steps_ > 0) r.spec_tokens_per_step = static_cast<double>(spec_emitted_) / static_cast<double>(spec_steps_);
  r.timeseries = std::move(series_);
  if (opt_.keep_records) r.records = std::move(kept_);
  if (cfg_.scheduler.kind == SchedulerKind::kVllm && cfg_.engine != "vllm-v0") {
    r.notes.push_back("scheduler vllm: prefills first, whole prompts (vLLM V0 without chunked prefill)");
  }
  if (s_.model.ssm) r.notes.push_back("hybrid model: recurrent SSM state per sequence is not counted in KV capacity");
  if (s_.serve->layout.pp > 1) {
    r.notes.push_back("pipeline parallelism: one batch walks all stages per iteration (no overlap of micro-batches across stages)");
  }
  return r;
}

}  // namespace detail

ServeResult simulate(const sim::Scenario& s, const ServeOptions& options) {
  if (!s.serve || !s.serve->sim) {
    throw InputError(s.file, "expected a 'serve' section with a 'workload' for fathom serve, found none");
  }
  detail::Engine e(s, options);
  return e.run();
}

}  // namespace fathom::serve
