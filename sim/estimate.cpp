#include "sim/estimate.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::sim {

std::string to_string(EstimateKind k) { return k == EstimateKind::kTrainStep ? "train-step" : "serve-iteration"; }

EstimateResult estimate(const Scenario& s, EstimateKind kind) {
  EstimateResult r;
  r.kind = kind;
  auto eff = hw::make_efficiency_model(s.efficiency, s.profile);
  hw::CostModel cm(s.gpu, s.cluster, eff, {}, s.collective_algo);
  std::vector<hw::Op> ops;
  const model::ParamCount pc = model::count_params(s.model);
  // MFU is measured against the dense peak of the data type the GEMMs run in (bf16, or fp8 for
  // fp8 weights), so that an fp8 run is not credited with twice the bf16 peak.
  const DType gemm_dtype = s.precision.gemm_dtype();
  const double peak = s.gpu.peak(gemm_dtype) > 0 ? s.gpu.peak(gemm_dtype)
                      : s.gpu.peak(DType::kBf16) > 0 ? s.gpu.peak(DType::kBf16) : s.gpu.peak(DType::kFp16);

  if (kind == EstimateKind::kTrainStep) {
    if (!s.train) throw InputError(s.file, "expected a 'train' section for a training estimate, found none");
    const TrainSection& t = *s.train;
    model::Batch b;
    b.sequences = t.microbatch;
    b.seq_len = t.seq_len;
    b.microbatches = t.microbatches();
    model::OpsOptions o;
    o.recompute = t.recompute;
    ops = model::build_ops(s.model, model::Phase::kTrain, b, t.layout, s.precision, o);
    r.phase = "train";
    r.gpus = static_cast<double>(t.layout.tp) * t.layout.pp * t.layout.dp;
    r.tokens = static_cast<double>(t.global_batch) * static_cast<double>(t.seq_len);
    const double wb = dtype_bytes(s.precision.weights);
    // Mixed-precision Adam state per parameter: bf16 weights, fp32 gradients, fp32 master
    // weights, first and second moments (no ZeRO): wb + 4 + 12 bytes.
    const double local = ((pc.total - pc.moe_experts) / t.layout.tp + pc.moe_experts / (t.layout.tp * t.layout.ep)) / t.layout.pp;
    r.memory.weights_bytes = local * (wb + 4 + 12);
    r.notes.push_back("train memory counts weights, gradients and Adam state only; fathom train gives the full memory and step time");
  } else {
    if (!s.serve) throw InputError(s.file, "expected a 'serve' section for a serving estimate, found none");
    const ServeSection& sv = *s.serve;
    if (!sv.has_iteration) {
      throw InputError(s.file, "expected 'serve.iteration' (phase, sequences, context) for a serving estimate, found "
                               "only a workload; fathom serve simulates the workload");
    }
    model::Batch b;
    b.sequences = sv.sequences;
    b.seq_len = sv.context;
    ops = model::build_ops(s.model, sv.phase, b, sv.layout, s.precision, {});
    r.phase = model::to_string(sv.phase);
    r.gpus = static_cast<double>(sv.layout.tp) * sv.layout.pp;
    r.tokens = sv.phase == model::Phase::kDecode ? static_cast<double>(sv.sequences)
                                                 : static_cast<double>(sv.sequences * sv.context);
    const double wb = dtype_bytes(s.precision.weights);
    r.memory.weights_bytes = pc.total * wb / (sv.layout.tp * sv.layout.pp);
    r.memory.kv_cache_bytes = static_cast<double>(sv.sequences) * static_cast<double>(sv.context) *
                              model::kv_bytes_per_token_per_gpu(s.model, s.precision.kv_cache, sv.layout.tp, sv.layout.pp);
  }
  r.memory.capacity_bytes = s.gpu.memory_bytes;

  double busy = 0;
  for (auto& op : ops) {
    EstimateRow row;
    row.cost = cm.cost(op);
    row.total_s = row.cost.total_s(op);
    row.op = std::move(op);
    busy += row.total_s;
    r.rows.push_back(std::move(row));
  }
  if (kind == EstimateKind::kTrainStep && s.train->layout.pp > 1) {
    // 1F1B pipeline bubble (Narayanan et al. 2021, §2.2): (p − 1)/m of the ideal step time.
    const auto& L = s.train->layout;
    double work = 0;
    for (const auto& row : r.rows) {
      if (row.op.pass != hw::Pass::kOptimizer) work += row.total_s;
    }
    hw::Op bubble;
    bubble.name = "pipeline.bubble";
    bubble.category = "bubble";
    bubble.kind = hw::OpKind::kBubble;
    bubble.pass = hw::Pass::kForward;
    bubble.fixed_time_s = work * (L.pp - 1) / static_cast<double>(s.train->microbatches());
    EstimateRow row;
    row.cost = cm.cost(bubble);
    row.total_s = row.cost.time_s;
    row.op = bubble;
    busy += row.total_s;
    r.rows.push_back(std::move(row));
  }
  r.total_s = busy;
  for (auto& row : r.rows) {
    row.share = busy > 0 ? row.total_s / busy : 0;
    const double n = row.op.count;
    if (row.op.kind != hw::OpKind::kCollective && row.op.kind != hw::OpKind::kBubble) {
      r.flops += row.op.flops * n;
      r.model_flops += row.op.model_flops * n;
      r.bytes += row.op.bytes * n;
      r.weight_bytes += row.op.weight_bytes * n;
      r.kv_bytes += row.op.kv_bytes * n;
    }
    switch (row.cost.bound) {
      case hw::Bound::kCompute: r.compute_bound_s += row.total_s; break;
      case hw::Bound::kMemory: r.memory_bound_s += row.total_s; break;
      case hw::Bound::kLatency: r.latency_bound_s += row.total_s; break;
      case hw::Bound::kCommunication: r.communication_s += row.total_s; break;
      case hw::Bound::kIdle: r.idle_s += row.total_s; break;
    }
  }
  // Per-GPU model FLOPs; training counts are averaged over pipeline stages already.
  r.mfu = r.total_s > 0 ? r.model_flops / (r.total_s * peak) : 0;
  r.tokens_per_s = r.total_s > 0 ? r.tokens / r.total_s : 0;
  if (s.usd_per_gpu_hour > 0 && r.tokens_per_s > 0) {
    r.usd_per_million_tokens = s.usd_per_gpu_hour * r.gpus / 3600.0 / r.tokens_per_s * 1e6;
  }
  if (kind == EstimateKind::kTrainStep && s.train->tokens && r.tokens_per_s > 0) {
    r.train_tokens = *s.train->tokens;
    r.train_time_s = r.train_tokens / r.tokens_per_s;
    r.gpu_hours = r.train_time_s * r.gpus / 3600.0;
    r.train_usd = r.gpu_hours * s.usd_per_gpu_hour;
  }
  if (!r.memory.fits()) {
    r.notes.push_back(fmt::format("does not fit: {:.1f} GiB needed per GPU, {:.1f} GiB available",
                                  (r.memory.weights_bytes + r.memory.kv_cache_bytes) / 1073741824.0,
                                  r.memory.capacity_bytes / 1073741824.0));
  }
  return r;
}

}  // namespace fathom::sim
