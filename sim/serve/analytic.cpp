#include "sim/serve/analytic.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::serve {

namespace {

// A length distribution's mean, inside the range its draws are clamped to.
double clamped_mean(const LengthDist& d, int64_t max_model_len) {
  double hi = static_cast<double>(d.max);
  if (max_model_len > 1) hi = std::min(hi, static_cast<double>(max_model_len - 1));
  return std::clamp(d.mean(), static_cast<double>(d.min), std::max(static_cast<double>(d.min), hi));
}

double offered_rate(const WorkloadSpec& w) {
  const ArrivalSpec& a = w.arrival;
  switch (a.kind) {
    case ArrivalSpec::Kind::kPoisson:
    case ArrivalSpec::Kind::kGamma:
    case ArrivalSpec::Kind::kConstant: return a.rate_per_s;
    case ArrivalSpec::Kind::kBurst: return a.on_s + a.off_s > 0 ? a.rate_per_s * a.on_s / (a.on_s + a.off_s) : a.rate_per_s;
    case ArrivalSpec::Kind::kAllAtOnce: return 0;
    case ArrivalSpec::Kind::kTrace: {
      if (!w.trace || w.trace->size() < 2) return 0;
      const double span = w.trace->back().time_s - w.trace->front().time_s;
      return span > 0 ? static_cast<double>(w.trace->size() - 1) / span * w.trace_speedup : 0;
    }
  }
  return 0;
}

sim::EstimateResult price(sim::Scenario& s, model::Phase phase, int64_t sequences, int64_t length) {
  s.serve->has_iteration = true;
  s.serve->phase = phase;
  s.serve->sequences = std::max<int64_t>(1, sequences);
  s.serve->context = std::max<int64_t>(1, length);
  return sim::estimate(s, sim::EstimateKind::kServeIteration);
}

const char* bound_words(const std::string& bound) {
  if (bound == "compute") return "compute (tensor-core FLOP/s)";
  if (bound == "memory") return "memory bandwidth";
  if (bound == "latency") return "kernel launch latency";
  if (bound == "communication") return "communication (interconnect)";
  return "nothing";
}

}  // namespace

ServeAnalysis analyze_serving(const sim::Scenario& s) {
  if (!s.serve) throw InputError(s.file, "expected a 'serve' section for the serving analysis, found none");
  ServeAnalysis a;
  const sim::ServeSection& sv = *s.serve;
  ServeConfig cfg;
  if (sv.sim) {
    cfg = *sv.sim;
  } else {
    cfg = engine_preset("vllm", s.gpu);
    cfg.max_model_len = std::min<int64_t>(s.model.max_position, kMaxModelLen);
    a.notes.push_back("no serve.workload: the KV cache is sized for the vllm preset and no request rate applies");
  }
  a.engine = cfg.engine;
  model::Layout layout = sv.layout;
  a.replicas = cfg.replicas;
  a.pool = "replica";
  if (cfg.disagg) {
    layout = cfg.disagg->decode.layout;
    a.replicas = cfg.disagg->decode.replicas;
    a.pool = "decode pool";
    a.notes.push_back("disaggregated: memory, KV cache and decode figures are the decode pool's; prefill is priced on the prefill pool");
  }
  a.gpus_per_replica = layout.tp * layout.pp;
  a.memory = replica_memory(s.model, s.gpu, s.precision, cfg, layout);
  a.hbm_bytes = s.gpu.memory_bytes;
  a.engine_bytes = a.memory.weights + a.memory.activations + a.memory.runtime + std::max(0.0, a.memory.kv);
  a.block_size = cfg.kv.block_size;
  a.kv_tokens = a.memory.blocks * cfg.kv.block_size;
  a.max_seqs = cfg.scheduler.max_seqs;
  if (!a.memory.problem.empty()) a.notes.push_back(a.memory.problem);

  const bool workload = sv.sim.has_value();
  if (workload) {
    const WorkloadSpec& w = cfg.workload;
    if (w.trace && !w.trace->empty()) {
      double in = 0, out = 0;
      for (const auto& row : *w.trace) {
        in += row.input;
        out += row.output;
      }
      a.mean_input = in / static_cast<double>(w.trace->size());
      a.mean_output = out / static_cast<double>(w.trace->size());
    } else {
      a.mean_input = clamped_mean(w.input, cfg.max_model_len);
      a.mean_output = clamped_mean(w.output, cfg.max_model_len);
    }
    a.offered_req_per_s = offered_rate(w);
    if (w.samples > 1) a.notes.push_back(fmt::format("{} samples per prompt: the typical batch counts one sequence per request", w.samples));
    if (w.prefix_groups > 0 || cfg.kv.prefix_caching) a.notes.push_back("prefix caching is not counted: the typical batch holds every prompt token");
    if (w.turns) a.notes.push_back("multi-turn sessions: later turns' prompts hold the conversation, longer than the mean input");
  }

  sim::Scenario priced = s;
  priced.serve->layout = layout;
  if (sv.has_iteration && !workload) {
    // Only the iteration is known: its own sequences and length, decoded at the same batch.
    a.decode_batch = sv.sequences;
    a.decode_context = sv.context;
    a.footprint = static_cast<double>(sv.context);
  } else {
    a.footprint = a.mean_input + a.mean_output;
    a.decode_context = std::clamp<int64_t>(std::llround(a.mean_input + a.mean_output / 2), 1, std::max<int64_t>(1, cfg.max_model_len));
  }
  a.kv_batch = a.footprint > 0 ? static_cast<int64_t>(std::floor(static_cast<double>(a.kv_tokens) / a.footprint)) : 0;
  if (workload) a.decode_batch = std::clamp<int64_t>(a.kv_batch, 1, std::max<int64_t>(1, a.max_seqs));
  a.batch_limit = a.kv_batch < a.max_seqs ? "KV cache" : "max_seqs";

  const sim::EstimateResult decode = price(priced, model::Phase::kDecode, a.decode_batch, a.decode_context);
  a.decode_iteration_s = decode.total_s;
  a.decode_tokens_per_s = decode.total_s > 0 ? static_cast<double>(a.decode_batch) / decode.total_s : 0;
  if (sv.has_iteration) {
    a.scenario_iteration = true;
    a.batch_limit = "serve.iteration";
    a.phase = model::to_string(sv.phase);
    a.batch = sv.sequences;
    a.length = sv.context;
    priced.serve->layout = sv.layout;
    a.iteration = price(priced, sv.phase, a.batch, a.length);
  } else {
    a.phase = "decode";
    a.batch = a.decode_batch;
    a.length = a.decode_context;
    a.iteration = decode;
  }
  a.iteration_yaml = fmt::format("{{phase: {}, sequences: {}, {}: {}}}", a.phase, a.batch,
                                 a.phase == "decode" ? "context" : "prompt", a.length);

  if (workload && a.mean_input > 0 && a.mean_output > 0) {
    // Prefill at the token budget in chunks of at most the mean prompt (plan serve's screen).
    a.prefill_chunk = std::clamp<int64_t>(std::llround(a.mean_input), 1, std::max<int64_t>(1, cfg.scheduler.token_budget));
    a.prefill_sequences = std::max<int64_t>(1, cfg.scheduler.token_budget / a.prefill_chunk);
    if (cfg.disagg) priced.serve->layout = cfg.disagg->prefill.layout;
    const sim::EstimateResult prefill = price(priced, model::Phase::kPrefill, a.prefill_sequences, a.prefill_chunk);
    a.prefill_chunk_s = prefill.total_s;
    a.prefill_tokens_per_s = prefill.total_s > 0 ? static_cast<double>(a.prefill_sequences * a.prefill_chunk) / prefill.total_s : 0;
    if (a.prefill_tokens_per_s > 0 && a.decode_tokens_per_s > 0) {
      const double t_in = a.mean_input / a.prefill_tokens_per_s, t_out = a.mean_output / a.decode_tokens_per_s;
      a.capacity_req_per_s = cfg.disagg ? std::min(cfg.disagg->prefill.replicas / t_in, cfg.disagg->decode.replicas / t_out)
                                        : a.replicas / (t_in + t_out);
    }
  }

  const sim::EstimateResult& it = a.iteration;
  const std::pair<const char*, double> parts[] = {{"compute", it.compute_bound_s},
                                                  {"memory", it.memory_bound_s},
                                                  {"latency", it.latency_bound_s},
                                                  {"communication", it.communication_s}};
  double top = -1;
  for (const auto& [name, t] : parts) {
    if (t > top) {
      top = t;
      a.bound = name;
    }
  }
  a.bound_share = it.total_s > 0 ? top / it.total_s : 0;

  std::string words;
  a.binding_resource = bound_words(a.bound);
  if (a.offered_req_per_s > 0 && a.capacity_req_per_s > 0 && a.offered_req_per_s >= a.capacity_req_per_s) {
    a.binding_resource = "capacity: the offered rate reaches the best case";
    words = fmt::format("capacity: the offered {:.4g} requests/s reach the cost chain's best case of {:.4g} requests/s "
                        "(no queueing, no overheads), so the queue grows; ",
                        a.offered_req_per_s, a.capacity_req_per_s);
  }
  words += fmt::format("{}: the {} iteration of {} sequences is {:.0f}% {}-bound", bound_words(a.bound), a.phase, a.batch,
                       100 * a.bound_share, a.bound);
  if (a.batch_limit == "KV cache") {
    words += fmt::format("; the batch is capped by the KV cache ({} tokens hold {} sequences of {:.0f} tokens), below max_seqs {}",
                         a.kv_tokens, a.kv_batch, a.footprint, a.max_seqs);
  } else if (a.batch_limit == "max_seqs") {
    words += fmt::format("; the batch is capped by max_seqs {} (the KV cache would hold {} sequences of {:.0f} tokens)",
                         a.max_seqs, a.kv_batch, a.footprint);
  } else if (a.kv_batch < a.batch) {
    words += fmt::format("; the KV cache holds only {} sequences of {:.0f} tokens, fewer than the {} priced", a.kv_batch,
                         a.footprint, a.batch);
  }
  a.binding = words;
  return a;
}

std::vector<FrontierPoint> interactivity_frontier(const sim::Scenario& s, const ServeAnalysis& a, int points) {
  std::vector<FrontierPoint> out;
  if (!s.serve || points < 1) return out;
  const int64_t top = std::max<int64_t>({1, a.kv_batch, a.decode_batch});
  std::vector<int64_t> batches;
  for (int i = 0; i < points; ++i) {
    const double f = points == 1 ? 1.0 : static_cast<double>(i) / (points - 1);
    batches.push_back(std::max<int64_t>(1, std::llround(std::pow(static_cast<double>(top), f))));
  }
  batches.push_back(a.decode_batch);
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
  sim::Scenario priced = s;
  if (s.serve->sim && s.serve->sim->disagg) priced.serve->layout = s.serve->sim->disagg->decode.layout;
  for (int64_t b : batches) {
    const double t = price(priced, model::Phase::kDecode, b, a.decode_context).total_s;
    if (!(t > 0)) continue;
    out.push_back({b, t, static_cast<double>(b) / (t * a.gpus_per_replica), 1.0 / t});
  }
  return out;
}

}  // namespace fathom::serve
