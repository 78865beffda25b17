// Time per optimizer step of one layout: per-layer costs from the cost chain, pipeline stages
// and schedule, and the overlap model (docs/training.md, "Step time" and "Overlap"): every
// collective is priced whole, then split into the part hidden behind compute and the part
// exposed on the critical path; the hidden part slows the compute beside it (contention).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/train/stage.h"
#include "sim/train/train.h"

namespace fathom::train {

using model::Recompute;

namespace {

// A communication hidden behind a compute window of `window` seconds: the exposed part.
double exposed_beyond(double comm, double window) { return std::max(0.0, comm - window); }

struct Stage {
  double T = 0, F = 0, B = 0, R = 0;  // per microbatch: whole, forward, backward, recompute
  double dense = 0, expert = 0;       // parameters on one GPU
  double layers = 0, rc_layers = 0;
  double zero3 = 0;                   // per microbatch, exposed ZeRO-3/FSDP time + its contention
  CommTerm gather, grad;              // per microbatch, ZeRO-3/FSDP parameter gathers and gradient reduction
  double p2p = 0;                     // exposed per microbatch
  int index = 0;                      // pipeline rank
  double copies = 1;                  // middle stages are alike: one stands for all of them
};

}  // namespace

TrainResult TrainModel::evaluate(const TrainConfig& c, std::optional<double> train_tokens) const {
  TrainResult r;
  r.config = c;
  const auto& Lay = c.layout;
  r.infeasible = check_config(m_, c, c.gpus());
  if (!r.infeasible && c.gpus() > cluster_.total_gpus()) {
    r.infeasible = bad("parallel", fmt::format("expected at most the {} GPUs of {}, found tp × cp × dp × pp = {}", cluster_.total_gpus(),
                                               cluster_.name, c.gpus()));
  }
  if (!r.infeasible && (c.offload_optimizer || c.offload_activations) && gpu_.host_bw_Bps <= 0) {
    r.infeasible = bad("offload", fmt::format("{} has no host-link bandwidth in its catalog file to offload over", gpu_.name));
  }
  if (r.infeasible) return r;

  const LayerCosts& lc = layer_costs(c);
  const int p = Lay.pp;
  const double v = c.virtual_stages;
  const double m = static_cast<double>(c.microbatches());
  const double t = Lay.tp;
  const int gpn = cluster_.gpus_per_node;
  const double act = dtype_bytes(precision_.activations);
  const double wb = dtype_bytes(precision_.weights == DType::kFp8 ? DType::kBf16 : precision_.weights);
  const double h = static_cast<double>(m_.hidden_size);
  const double tokens_mb = static_cast<double>(c.microbatch) * static_cast<double>(c.seq_len) / Lay.cp;
  const double kappa = kContention;
  const bool overlap = c.overlap_dp;

  // ---- per-layer times: TP and CP exchanges, exposed and hidden parts ----
  CommTerm tp_f{lc.tp_fwd, lc.tp_fwd}, tp_b{lc.tp_bwd, lc.tp_bwd};
  if (c.overlap_tp) {
    // Userbuffers / async TP (Wang et al. 2023, §3): each collective is decomposed into tp ring
    // steps, each overlapped with the GEMM on the chunk already received; the first step has no
    // GEMM to hide behind, so at least 1/tp of the exchange stays exposed.
    tp_f.exposed = std::max(lc.tp_fwd / t, exposed_beyond(lc.tp_fwd, lc.gemm_fwd));
    tp_b.exposed = std::max(lc.tp_bwd / t, exposed_beyond(lc.tp_bwd, lc.gemm_bwd));
  }
  CommTerm cp_f{lc.cp_raw_fwd, lc.cp_fwd}, cp_b{lc.cp_raw_bwd, lc.cp_bwd};
  if (Lay.cp > 1 && c.cp_kind == CpKind::kAllGather && !Lay.cp_all_to_all) {
    // All-gather context parallelism (Llama 3, §3.3.2): K and V of the whole sequence gathered
    // before the attention of every layer, their gradients reduce-scattered after it; the
    // exchange waits on the projections before it and blocks the attention after it (exposed).
    const auto& a = m_.attention;
    const double kv_width = a.kind == model::AttentionKind::kMla
                                ? static_cast<double>(a.heads) / t * static_cast<double>(a.qk_dim() + a.v_dim())
                                : 2.0 * std::max(1.0, static_cast<double>(a.kv_heads) / t) * static_cast<double>(a.head_dim);
    const double kv_bytes = static_cast<double>(c.microbatch) * static_cast<double>(c.seq_len) * kv_width * act;
    const int cp_per_node = std::max(1, std::min(Lay.cp, gpn / std::max(1, Lay.tp)));
    const double ag = collective(hw::Collective::kAllGather, kv_bytes, Lay.cp, cp_per_node);
    const double rs = collective(hw::Collective::kReduceScatter, kv_bytes, Lay.cp, cp_per_node);
    cp_f = CommTerm{ag, ag};
    cp_b = CommTerm{rs, rs};
  }
  // A pass over a layer takes at least the host's time to issue its kernels (eager frameworks
  // run ahead of the GPU only while kernels outlast their dispatch).
  const double cont_f = kappa * (tp_f.overlapped() + cp_f.overlapped());
  const double cont_b = kappa * (tp_b.overlapped() + cp_b.overlapped());
  const double gpu_f = lc.fwd + tp_f.exposed + cp_f.exposed + lc.ep_fwd + cont_f;
  const double gpu_b = lc.bwd + tp_b.exposed + cp_b.exposed + lc.ep_bwd + cont_b;
  const double lf = std::max(gpu_f, lc.ops_fwd * c.host_overhead_per_op_s);
  const double lb = std::max(gpu_b, lc.ops_bwd * c.host_overhead_per_op_s);
  double lr = 0;  // recomputation per recomputed layer
  if (c.recompute == Recompute::kFull) lr = lf;
  else if (c.recompute == Recompute::kSelective && !c.flash_attention) lr = lc.attn_fwd;

  // ---- gradient groups and parameters per stage ----
  const int dpg = Lay.dp * Lay.cp;  // gradients are reduced over data- and context-parallel ranks
  const int dp_per_node = std::max(1, std::min(dpg, gpn / std::max(1, Lay.tp)));
  const int edpg = std::max(1, dpg / Lay.ep);
  const int shard = c.zero >= 3 && c.shard_group > 0 ? c.shard_group : dpg;  // HSDP shard group
  const int replicas = dpg / shard;
  const int eshard = std::max(1, shard / Lay.ep);
  const int shard_per_node = std::max(1, std::min(shard, dp_per_node));
  const double head = m_.tie_embeddings ? (p > 1 ? embedding_params_ : 0.0) : head_params_;
  const double grad_b = dtype_bytes(c.grad_reduce_dtype);
  const double main_grad_b = dtype_bytes(c.main_grad_dtype);
  const double state_b = optimizer_state_bytes(c.optimizer);
  const double t_p2p = p > 1 ? collective(hw::Collective::kSendRecv, tokens_mb * h * act / (Lay.sequence_parallel ? t : 1.0), 2,
                                          static_cast<int64_t>(Lay.tp) * Lay.cp * Lay.dp * 2 <= gpn ? 2 : 1)
                             : 0.0;
  const double layer_dense = layer_dense_params_ / t, layer_expert = layer_expert_params_ / (t * Lay.ep);

  // ZeRO-3 / FSDP (Zhao et al. 2023, §3.3–3.4; Rajbhandari et al. 2020, §5.3): parameters are
  // gathered per layer (FSDP unit) before its forward and, when resharded after it, again before
  // its backward; gradients are reduce-scattered per layer after its backward (and all-reduced
  // across HSDP replicas), every microbatch. Gathers prefetch ahead of compute, so in steady state
  // a layer costs max(compute, communication); the first gather of each pass and the last
  // reduction cannot hide. The root unit (embedding, head, final norm) is gathered first and
  // reduced last. One layer's gather, reduce-scatter and replica all-reduce are alike on every
  // stage, so they are priced once.
  const bool sharded = c.zero >= 3 && dpg > 1;
  const double layer_ag = !sharded ? 0.0
                                   : collective(hw::Collective::kAllGather, layer_dense * wb, shard, shard_per_node) +
                                         collective(hw::Collective::kAllGather, layer_expert * wb, eshard, 1);
  const double layer_rs = !sharded ? 0.0
                                   : collective(hw::Collective::kReduceScatter, layer_dense * grad_b, shard, shard_per_node) +
                                         collective(hw::Collective::kReduceScatter, layer_expert * grad_b, eshard, 1);
  const double layer_ar =
      sharded && replicas > 1
          ? collective(hw::Collective::kAllReduce, (layer_dense / shard + layer_expert / eshard) * grad_b, replicas, 1)
          : 0.0;
  auto sharded_comm = [&](Stage& s) {
    if (!sharded) return;
    const double L = s.layers;
    const double root = std::max(0.0, s.dense - L * layer_dense);
    const double ag_root = collective(hw::Collective::kAllGather, root * wb, shard, shard_per_node);
    const double rs_root = collective(hw::Collective::kReduceScatter, root * grad_b, shard, shard_per_node) +
                           (replicas > 1 ? collective(hw::Collective::kAllReduce, root / shard * grad_b, replicas, 1) : 0.0);
    const double bwd_ag = c.reshard_after_forward ? layer_ag : 0.0;
    s.gather.total = ag_root + L * layer_ag + L * bwd_ag;
    s.grad.total = L * (layer_rs + layer_ar) + rs_root;
    if (!overlap) {
      s.gather.exposed = s.gather.total;
      s.grad.exposed = s.grad.total;
    } else {
      const double f = s.F / std::max(1.0, L), b = (s.B + s.R) / std::max(1.0, L);
      s.gather.exposed = ag_root + layer_ag + std::max(0.0, L - 1.0) * exposed_beyond(layer_ag, f) + bwd_ag;
      // Backward: the gather of the layer before and the reduction of the layer after share the
      // network while a layer's backward runs.
      const double back = std::max(0.0, L - 1.0) * exposed_beyond(bwd_ag + layer_rs + layer_ar, b);
      s.grad.exposed = back + layer_rs + layer_ar + rs_root;
    }
    s.zero3 = s.gather.exposed + s.grad.exposed + kappa * (s.gather.overlapped() + s.grad.overlapped());
  };

  // Representative stages: the first, one middle stage standing for the p − 2 alike, and the last.
  Stage st[3];
  int n_st = 0;
  st[n_st++].index = 0;
  if (p > 2) {
    st[n_st].index = 1;
    st[n_st++].copies = p - 2;
  }
  if (p > 1) st[n_st++].index = p - 1;
  double max_T = 0, sum_T = 0;
  int slow = 0;
  for (int k = 0; k < n_st; ++k) {
    Stage& s = st[k];
    const int i = s.index;
    s.layers = static_cast<double>(layers_on_stage(m_, c, i));
    s.rc_layers = c.recompute == Recompute::kFull && c.recompute_layers > 0
                      ? std::min<double>(static_cast<double>(c.recompute_layers), s.layers)
                      : (lr > 0 ? s.layers : 0.0);
    s.F = s.layers * lf + (i == 0 ? lc.first_fwd : 0.0) + (i == p - 1 ? lc.last_fwd : 0.0);
    s.B = s.layers * lb + (i == 0 ? lc.first_bwd : 0.0) + (i == p - 1 ? lc.last_bwd : 0.0);
    s.R = s.rc_layers * lr;
    s.dense = s.layers * layer_dense + (i == 0 ? (embedding_params_ + encoder_params_) / t : 0.0) +
              (i == p - 1 ? head / t + final_norm_params_ : 0.0);
    s.expert = s.layers * layer_expert;
    s.T = s.F + s.B + s.R;
    if (!c.overlap_pp && p > 1) s.p2p = 2.0 * v * t_p2p;
    sharded_comm(s);
    s.T += s.p2p + s.zero3;
    sum_T += s.T * s.copies;
    if (s.T > max_T) {
      max_T = s.T;
      slow = k;
    }
  }

  // ---- pipeline schedule: 1F1B, interleaved over v chunks, possibly uneven stages ----
  // Fill and drain: every other stage's time once, divided by the chunks per rank (Narayanan et
  // al. 2021, §2.2.2); with uneven end stages the sum is over the stages as they are.
  const double pipe = m * max_T + (sum_T - max_T) / v;
  const Stage& S = st[slow];
  const bool slow_first = S.index == 0, slow_last = S.index == p - 1;
  auto& T = r.time;
  T.forward = m * (S.layers * lc.fwd + (slow_first ? lc.first_fwd : 0.0) + (slow_last ? lc.last_fwd : 0.0));
  T.backward = m * (S.layers * lc.bwd + (slow_first ? lc.first_bwd : 0.0) + (slow_last ? lc.last_bwd : 0.0));
  T.recompute = m * S.R;
  // Forward and backward passes over a layer; a recomputed forward pass (its communication and
  // contention included) is the `recompute` row.
  const double passes_f = m * S.layers;
  const double passes_b = m * S.layers;
  T.tp = CommTerm{passes_f * tp_f.total + passes_b * tp_b.total, passes_f * tp_f.exposed + passes_b * tp_b.exposed};
  T.cp = CommTerm{passes_f * cp_f.total + passes_b * cp_b.total, passes_f * cp_f.exposed + passes_b * cp_b.exposed};
  T.ep = CommTerm{passes_f * lc.ep_fwd + passes_b * lc.ep_bwd, passes_f * lc.ep_fwd + passes_b * lc.ep_bwd};
  T.tp_comm = T.tp.exposed;
  T.cp_comm = T.cp.exposed;
  T.ep_comm = T.ep.exposed;
  T.bubble = (sum_T - max_T) / v;
  // Send/receive at the pipeline's fill and drain is exposed even when overlapped in steady state.
  const double pp_extra = p > 1 ? 2.0 * (p - 1) * t_p2p : 0.0;
  T.pp = CommTerm{p > 1 ? m * 2.0 * v * t_p2p + pp_extra : 0.0, m * S.p2p + pp_extra};
  T.pp_comm = T.pp.exposed;
  T.contention = passes_f * cont_f + passes_b * cont_b;
  T.host = passes_f * (lf - gpu_f) + passes_b * (lb - gpu_b);

  // ---- data-parallel gradient reduction and ZeRO-1/2 gathers (Megatron-style buckets) ----
  double dp_exposed = 0;
  CommTerm grad_term, gather_term;
  double dp_contention = 0;
  if (c.zero >= 3) {
    grad_term = CommTerm{m * S.grad.total, m * S.grad.exposed};
    gather_term = CommTerm{m * S.gather.total, m * S.gather.exposed};
    T.contention += m * kappa * (S.gather.overlapped() + S.grad.overlapped());
  } else if (dpg > 1) {
    for (int k = 0; k < n_st; ++k) {
      const Stage& s = st[k];
      const hw::Collective red = c.zero == 0 ? hw::Collective::kAllReduce : hw::Collective::kReduceScatter;
      const double reduce = collective(red, s.dense * grad_b, dpg, dp_per_node) + collective(red, s.expert * grad_b, edpg, 1);
      const double ag = c.zero >= 1 ? collective(hw::Collective::kAllGather, s.dense * wb, dpg, dp_per_node) +
                                          collective(hw::Collective::kAllGather, s.expert * wb, edpg, 1)
                                    : 0.0;
      const double bucket = std::min(kBucketElements, s.dense) / std::max(1.0, s.dense);
      CommTerm g, a;
      if (c.zero <= 1) {
        // Buckets reduce while the last microbatch's backward runs; the last bucket cannot hide.
        g = CommTerm{reduce, overlap ? std::max(bucket * reduce, exposed_beyond(reduce, s.B + s.R)) : reduce};
      } else {
        // ZeRO-2: gradients reduce-scattered after every microbatch's backward.
        g = CommTerm{m * reduce, overlap ? m * std::max(bucket * reduce, exposed_beyond(reduce, s.B + s.R)) : m * reduce};
      }
      // Updated parameters gathered after the step, bucket by bucket ahead of the next forward;
      // the first bucket cannot hide.
      a = CommTerm{ag, overlap ? std::max(bucket * ag, exposed_beyond(ag, s.F)) : ag};
      const double cont = kappa * (g.overlapped() + a.overlapped());
      const double e = g.exposed + a.exposed + cont;
      if (e >= dp_exposed) {
        dp_exposed = e;
        grad_term = g;
        gather_term = a;
        dp_contention = cont;
      }
    }
    T.contention += dp_contention;
  }
  T.dp_grad = grad_term;
  T.param_gather = gather_term;
  // Exposed communication only; what the hidden part costs the compute beside it is `contention`.
  T.dp_comm = dp_exposed - dp_contention + m * (S.gather.exposed + S.grad.exposed);

  // ---- step tail: gradient-norm all-reduce (clipping) and loss reduction over every rank ----
  const int world = static_cast<int>(std::min<int64_t>(c.gpus(), 1 << 30));
  const double tail = world > 1 ? 2.0 * collective(hw::Collective::kAllReduce, 8.0, world, std::min(world, gpn)) : 0.0;
  T.step_tail = CommTerm{tail, tail};

  // ---- optimizer step (and offload) ----
  double opt_params = 0;  // on the most loaded GPU
  for (int k = 0; k < n_st; ++k) {
    const Stage& s = st[k];
    const double shard_d = c.zero >= 3 ? shard : c.zero >= 1 ? dpg : 1;
    const double shard_e = c.zero >= 3 ? eshard : c.zero >= 1 ? edpg : 1;
    opt_params = std::max(opt_params, s.dense / shard_d + s.expert / shard_e);
  }
  if (c.offload_optimizer) {
    const double link = gpu_.host_bw_Bps * 0.8;
    T.offload = opt_params * (grad_b + wb) / link + opt_params * (2.0 * state_b + 4.0 + 4.0) / host_.cpu_optimizer_Bps;
  } else {
    hw::Op op;
    op.kind = hw::OpKind::kElementwise;
    // The update reads and writes the state, reads the gradient (twice: its norm for clipping,
    // then the update) and writes the 16-bit weights.
    op.bytes = opt_params * (2.0 * state_b + 2.0 * main_grad_b + wb);
    op.flops = 12.0 * opt_params;
    op.dtype = DType::kFp32;
    T.optimizer = cost_.cost(op).time_s / c.loop_efficiency;
  }

  // ---- memory per stage ----
  MemoryBreakdown best;
  best.total = -1;
  for (int k = 0; k < n_st; ++k) {
    const Stage& s = st[k];
    MemoryBreakdown mb = stage_memory(c, s.index, s.layers, s.rc_layers, s.dense, s.expert);
    if (mb.total > best.total) best = mb;
  }
  r.memory = best;

  // Activation offload: saved activations go to host memory during the forward pass and come
  // back for the backward pass, overlapped with that pass's compute.
  if (c.offload_activations) {
    const double link = gpu_.host_bw_Bps * 0.8;
    const double bytes = S.layers * activation_bytes_per_token_layer(m_, c, precision_.activations) * tokens_mb;
    T.offload += m * (exposed_beyond(bytes / link, S.F) + exposed_beyond(bytes / link, S.B + S.R));
  }

  T.step = pipe + pp_extra + dp_exposed + tail + T.optimizer + T.offload;

  // ---- throughput, utilisation, time to train ----
  const double gpus = static_cast<double>(c.gpus());
  const double microbatches_job = static_cast<double>(c.global_batch) / static_cast<double>(c.microbatch);
  const double group = static_cast<double>(Lay.tp) * Lay.cp;
  r.tokens_per_step = static_cast<double>(c.global_batch) * static_cast<double>(c.seq_len);
  r.tokens_per_s = r.tokens_per_step / T.step;
  r.model_flops_per_step = lc.model_flops * group * microbatches_job;
  double rc_flops = 0;
  for (int k = 0; k < n_st; ++k) rc_flops += st[k].rc_layers * st[k].copies;
  rc_flops *= c.recompute == Recompute::kFull ? lc.layer_fwd_flops : 0.0;
  r.hardware_flops_per_step = (lc.flops + rc_flops) * group * microbatches_job;
  const DType g = precision_.gemm_dtype();
  r.peak_flops = gpu_.peak(g) > 0 ? gpu_.peak(g) : gpu_.peak(DType::kBf16) > 0 ? gpu_.peak(DType::kBf16) : gpu_.peak(DType::kFp16);
  r.mfu = r.model_flops_per_step / (T.step * gpus * r.peak_flops);
  r.hfu = r.hardware_flops_per_step / (T.step * gpus * r.peak_flops);
  if (train_tokens && *train_tokens > 0) {
    r.train_tokens = *train_tokens;
    r.train_time_s = r.train_tokens / r.tokens_per_s;
    r.gpu_hours = r.train_time_s * gpus / 3600.0;
    r.usd = r.gpu_hours * usd_per_gpu_hour_;
    r.kwh = r.gpu_hours * gpu_.tdp_W / 1000.0;
  }
  if (!best.fits()) {
    r.infeasible = bad("memory", fmt::format("expected at most {:.1f} GiB per GPU, found {:.1f} GiB needed on pipeline stage {}",
                                             best.capacity / 1073741824.0, best.total / 1073741824.0, best.stage));
  }
  return r;
}

}  // namespace fathom::train
