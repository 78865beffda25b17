#include "sim/train/train.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::train {

using model::Recompute;

std::string to_string(Optimizer o) {
  switch (o) {
    case Optimizer::kAdam: return "adam";
    case Optimizer::kSgd: return "sgd";
    case Optimizer::kAdafactor: return "adafactor";
    case Optimizer::kAdam8bit: return "adam-8bit";
  }
  return "?";
}

Optimizer parse_optimizer(const std::string& s) {
  if (s == "adam" || s == "adamw") return Optimizer::kAdam;
  if (s == "sgd") return Optimizer::kSgd;
  if (s == "adafactor") return Optimizer::kAdafactor;
  if (s == "adam-8bit" || s == "adam8bit") return Optimizer::kAdam8bit;
  throw std::invalid_argument("expected adam, adamw, sgd, adafactor or adam-8bit, found '" + s + "'");
}

double optimizer_state_bytes(Optimizer o) {
  switch (o) {
    case Optimizer::kAdam: return 12.0;      // fp32 master, first and second moments
    case Optimizer::kSgd: return 8.0;        // fp32 master and momentum
    case Optimizer::kAdafactor: return 4.0;  // fp32 master; factored second moments are O(rows + cols)
    case Optimizer::kAdam8bit: return 6.0;   // fp32 master and two 8-bit moments (Dettmers et al. 2022)
  }
  return 12.0;
}

namespace {

int64_t layers_on_stage(const model::ModelSpec& m, const TrainConfig& c, int stage) {
  const int p = c.layout.pp;
  if (c.first_stage_layers == 0 && c.last_stage_layers == 0) return m.layers / p;
  if (stage == 0) return c.first_stage_layers;
  if (stage == p - 1) return c.last_stage_layers;
  return (m.layers - c.first_stage_layers - c.last_stage_layers) / (p - 2);
}

Infeasible bad(const std::string& field, std::string reason) { return Infeasible{field, std::move(reason)}; }

}  // namespace

std::optional<Infeasible> check_config(const model::ModelSpec& m, const TrainConfig& c, int64_t gpus) {
  const auto& L = c.layout;
  const bool uneven = c.first_stage_layers > 0 || c.last_stage_layers > 0;
  if (auto p = model::layout_problem(m, L, !uneven)) return bad("parallel." + p->field, p->message);
  if (c.virtual_stages < 1) return bad("parallel.virtual_stages", fmt::format("expected >= 1, found {}", c.virtual_stages));
  if (c.seq_len < 1 || c.global_batch < 1 || c.microbatch < 1) {
    return bad("seq_len", "expected a positive sequence length, global batch and microbatch");
  }
  if (c.gpus() != gpus) {
    return bad("parallel", fmt::format("expected tp × cp × dp × pp = {} GPUs, found {} × {} × {} × {} = {}", gpus, L.tp, L.cp,
                                       L.dp, L.pp, c.gpus()));
  }
  if (m.moe && L.ep > 1 && (static_cast<int64_t>(L.dp) * L.cp) % L.ep != 0) {
    return bad("parallel.ep", fmt::format("expected an expert-parallel degree that divides dp × cp = {}, found {}",
                                          static_cast<int64_t>(L.dp) * L.cp, L.ep));
  }
  if (L.cp > 1) {
    const int64_t unit = L.cp_all_to_all ? L.cp : 2 * static_cast<int64_t>(L.cp);
    if (c.seq_len % unit != 0) {
      return bad("parallel.cp", fmt::format("expected the sequence length {} to be a multiple of {} ({}), found cp = {}",
                                            c.seq_len, unit, L.cp_all_to_all ? "cp" : "2 × cp for load-balanced ring attention", L.cp));
    }
  }
  if (m.position == model::PositionKind::kLearned && c.seq_len > m.max_position) {
    return bad("seq_len", fmt::format("expected at most the model's {} learned positions, found {}", m.max_position, c.seq_len));
  }
  if (c.global_batch % (static_cast<int64_t>(L.dp) * c.microbatch) != 0) {
    return bad("global_batch", fmt::format("expected a multiple of dp × microbatch = {} × {} = {}, found {}", L.dp, c.microbatch,
                                           static_cast<int64_t>(L.dp) * c.microbatch, c.global_batch));
  }
  const int64_t micro = c.microbatches();
  if (uneven) {
    if (c.virtual_stages > 1) {
      return bad("parallel.virtual_stages", "expected 1 with uneven first/last stages (interleaving needs equal chunks)");
    }
    if (L.pp < 2) return bad("parallel.first_stage_layers", fmt::format("expected pp >= 2 for uneven stages, found pp = {}", L.pp));
    if (c.first_stage_layers < 1 || c.last_stage_layers < 1) {
      return bad("parallel.first_stage_layers", "expected both first_stage_layers and last_stage_layers >= 1 when either is set");
    }
    const int64_t rest = m.layers - c.first_stage_layers - c.last_stage_layers;
    if (L.pp == 2 ? rest != 0 : (rest < L.pp - 2 || rest % (L.pp - 2) != 0)) {
      return bad("parallel.first_stage_layers",
                 fmt::format("expected the {} layers left after the first ({}) and last ({}) stages to split evenly over the {} middle stages",
                             rest, c.first_stage_layers, c.last_stage_layers, L.pp - 2));
    }
  }
  if (c.virtual_stages > 1) {
    if (L.pp < 2) return bad("parallel.virtual_stages", "expected pp >= 2 for an interleaved schedule");
    if (m.layers % (static_cast<int64_t>(L.pp) * c.virtual_stages) != 0) {
      return bad("parallel.virtual_stages", fmt::format("expected pp × virtual_stages to divide the {} layers, found {} × {}", m.layers,
                                                        L.pp, c.virtual_stages));
    }
    if (micro % L.pp != 0) {
      return bad("parallel.virtual_stages", fmt::format("expected the number of microbatches ({}) to be a multiple of pp = {} for the interleaved schedule",
                                                        micro, L.pp));
    }
  }
  if (c.recompute_layers > 0) {
    if (c.recompute != Recompute::kFull) return bad("recompute", "expected a number of layers only with full recomputation");
    if (c.recompute_layers > (m.layers + L.pp - 1) / L.pp) {
      return bad("recompute", fmt::format("expected at most the {} layers of a stage, found {}", (m.layers + L.pp - 1) / L.pp,
                                          c.recompute_layers));
    }
  }
  if (c.zero < 0 || c.zero > 3) return bad("zero", fmt::format("expected a ZeRO stage 0, 1, 2 or 3, found {}", c.zero));
  return std::nullopt;
}

double activation_bytes_per_token_layer(const model::ModelSpec& m, const TrainConfig& c, DType activations) {
  // Korthikanti et al. 2022, §4.1: bytes per token of one layer kept for the backward pass, with
  // 16-bit activations and 1-byte dropout masks. For GPT (MHA, MLP 4h, dropout) this is
  // h·(34 + 5·a·s/h) without parallelism, h·(10 + 24/t + 5·a·s/(h·t)) under TP, and
  // h·(34/t + 5·a·s/(h·t)) under TP with sequence parallelism.
  const double b = dtype_bytes(activations);
  const double h = static_cast<double>(m.hidden_size);
  const double t = c.layout.tp;
  const double rep = c.layout.sequence_parallel ? 1.0 / t : 1.0;  // parts replicated over TP without SP
  const double mask = c.dropout ? 1.0 : 0.0;
  const auto& a = m.attention;
  const double Hl = static_cast<double>(a.heads) / t;
  const double kv = a.kind == model::AttentionKind::kMla ? Hl : std::max(1.0, static_cast<double>(a.kv_heads) / t);
  const double s_kv = static_cast<double>(c.seq_len);  // keys each local query attends to

  // Attention mixer.
  double attn = 2.0 * b * h * rep;  // norm input and QKV-projection input
  if (a.kind == model::AttentionKind::kMla) {
    const double qk = static_cast<double>(a.qk_dim()), vd = static_cast<double>(a.v_dim());
    attn += b * (static_cast<double>(a.q_lora_rank) + static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim));
    attn += b * Hl * (2.0 * qk + vd);  // Q, K, V after the up-projections
    attn += b * Hl * vd;               // output-projection input
  } else {
    const double d = static_cast<double>(a.head_dim);
    attn += b * (Hl + 2.0 * kv) * d;  // Q, K, V
    attn += b * Hl * d;               // output-projection input
  }
  // Softmax output (and dropout mask and output) of the s² score matrix, unless fused attention
  // or selective recomputation drops it; FlashAttention keeps the fp32 log-sum-exp per head.
  if (!c.flash_attention && c.recompute != Recompute::kSelective) {
    attn += Hl * s_kv * (b + mask * (1.0 + b));
  } else if (c.flash_attention) {
    attn += 4.0 * Hl;
  }
  attn += mask * h * rep;  // dropout mask after the output projection

  auto ffn = [&](double width, double tokens_factor) {
    const double f = width / t;
    const double inner = m.ffn.kind == model::FfnKind::kGated ? 3.0 * b * f : 2.0 * b * f;
    return tokens_factor * (b * h * rep + inner);
  };
  double dense = b * h * rep + ffn(static_cast<double>(m.ffn.hidden), 1.0) + mask * h * rep;  // norm input, FFN, mask
  double moe = 0;
  if (m.moe) {
    const auto& s = *m.moe;
    moe = b * h * rep + 4.0 * static_cast<double>(s.experts)  // norm input, router logits (fp32)
          + ffn(static_cast<double>(s.expert_hidden), static_cast<double>(s.top_k)) + mask * h * rep;
    if (s.shared_experts > 0) moe += ffn(static_cast<double>(s.shared_experts * s.shared_expert_hidden), 1.0);
  }
  double ssm = 0;
  if (m.ssm) {
    const double di = static_cast<double>(m.ssm->expand) * h / t;
    const double ds = static_cast<double>(m.ssm->d_state);
    // Norm and in-projection inputs, in-projection output (x, z), convolution output, Δ, B, C,
    // scan output and out-projection input (Gu and Dao 2023; the scan recomputes its states).
    ssm = 2.0 * b * h * rep + b * (2.0 * di + di + di + 2.0 * ds + di + di);
  }
  const double layers = static_cast<double>(m.layers);
  const double n_attn = static_cast<double>(m.attention_layer_count());
  const double n_moe = m.moe ? static_cast<double>(m.moe_layer_count()) : 0.0;
  double total = n_attn * attn + (layers - n_attn) * ssm + n_moe * moe + (layers - n_moe) * dense;
  if (m.encoder) total += n_attn * attn;  // cross-attention of encoder–decoders (approximate)
  return total / layers;
}

TrainModel::TrainModel(model::ModelSpec m, hw::GpuSpec gpu, hw::ClusterSpec cluster, model::Precision precision,
                       hw::DefaultEfficiencyOptions efficiency, hw::CollectiveAlgo algo, double usd_per_gpu_hour,
                       std::shared_ptr<const hw::CalibratedProfile> profile)
    : m_(std::move(m)),
      gpu_(std::move(gpu)),
      cluster_(std::move(cluster)),
      precision_(precision),
      cost_(gpu_, cluster_, hw::make_efficiency_model(efficiency, std::move(profile)), {}, algo),
      usd_per_gpu_hour_(usd_per_gpu_hour) {
  const model::ParamCount pc = model::count_params(m_);
  const double h = static_cast<double>(m_.hidden_size);
  total_params_ = pc.total;
  embedding_params_ = pc.embedding;
  head_params_ = pc.lm_head;
  encoder_params_ = pc.encoder;
  final_norm_params_ = m_.norm == model::NormKind::kLayerNorm ? 2 * h : h;
  double routed = 0;
  if (m_.moe) {
    const double per_expert = (m_.ffn.kind == model::FfnKind::kGated ? 3.0 : 2.0) * h * static_cast<double>(m_.moe->expert_hidden);
    routed = static_cast<double>(m_.moe_layer_count()) * static_cast<double>(m_.moe->experts) * per_expert;
  }
  const double layers = static_cast<double>(m_.layers);
  layer_expert_params_ = routed / layers;
  layer_dense_params_ = (pc.total - pc.embedding - pc.lm_head - pc.encoder - final_norm_params_ - routed) / layers;
}

double TrainModel::collective(hw::Collective k, double bytes, int group, int per_node) const {
  if (group <= 1 || bytes <= 0) return 0.0;
  hw::Op op;
  op.kind = hw::OpKind::kCollective;
  op.collective = k;
  op.bytes = bytes;
  op.group = group;
  op.group_per_node = std::max(1, std::min(per_node, group));
  return cost_.cost(op).time_s;
}

namespace {
uint64_t shape_key(const TrainConfig& c) {
  // tp, cp, ep < 2^12; microbatch < 2^20; seq_len < 2^24 (checked by the callers' ranges).
  const auto& L = c.layout;
  uint64_t k = static_cast<uint64_t>(L.tp) & 0xfff;
  k = (k << 12) | (static_cast<uint64_t>(L.cp) & 0xfff);
  k = (k << 12) | (static_cast<uint64_t>(L.ep) & 0xfff);
  k = (k << 20) | (static_cast<uint64_t>(c.microbatch) & 0xfffff);
  k = (k << 5) | (static_cast<uint64_t>(L.sequence_parallel) << 0) | (static_cast<uint64_t>(L.cp_all_to_all) << 1) |
      (static_cast<uint64_t>(c.flash_attention) << 2);
  return k ^ (static_cast<uint64_t>(c.seq_len) * 0x9E3779B97F4A7C15ull);
}
}  // namespace

const LayerCosts& TrainModel::layer_costs(const TrainConfig& c) const {
  const uint64_t key = shape_key(c);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(key, compute_layer_costs(c)).first->second;
}

LayerCosts TrainModel::compute_layer_costs(const TrainConfig& c) const {
  model::Layout L = c.layout;
  L.pp = 1;
  L.dp = 1;
  L.gpus_per_node = cluster_.gpus_per_node;
  model::Batch b;
  b.sequences = c.microbatch;
  b.seq_len = c.seq_len;
  b.microbatches = 1;
  model::OpsOptions o;
  o.causal_skip = c.flash_attention;
  o.fused_attention = c.flash_attention;
  o.dropout = c.dropout;
  o.recompute = Recompute::kNone;
  o.include_communication = true;
  o.include_optimizer = false;
  const auto ops = model::build_ops(m_, model::Phase::kTrain, b, L, precision_, o);
  LayerCosts r;
  double attn_bwd = 0;
  for (const auto& op : ops) {
    const double t = cost_.cost(op).time_s * op.count;
    const bool fwd = op.pass == hw::Pass::kForward;
    const std::string& n = op.name;
    const bool first = n.starts_with("embedding") || n.starts_with("encoder.");
    const bool last = n.starts_with("final_norm") || n.starts_with("lm_head");
    if (op.kind != hw::OpKind::kCollective) {
      r.model_flops += op.model_flops * op.count;
      r.flops += op.flops * op.count;
    }
    if (first) {
      (fwd ? r.first_fwd : r.first_bwd) += t;
      continue;
    }
    if (last) {
      (fwd ? r.last_fwd : r.last_bwd) += t;
      continue;
    }
    if (op.kind == hw::OpKind::kCollective) {
      (fwd ? r.ops_fwd : r.ops_bwd) += op.count;
      if (n.find(".cp.") != std::string::npos) (fwd ? r.cp_fwd : r.cp_bwd) += t;
      else if (n.starts_with("moe.dispatch") || n.starts_with("moe.combine")) (fwd ? r.ep_fwd : r.ep_bwd) += t;
      else (fwd ? r.tp_fwd : r.tp_bwd) += t;
      continue;
    }
    (fwd ? r.fwd : r.bwd) += t;
    (fwd ? r.ops_fwd : r.ops_bwd) += op.count;
    const bool core = n.starts_with("attn.core");
    if (op.kind == hw::OpKind::kGemm && !core) (fwd ? r.gemm_fwd : r.gemm_bwd) += t;
    if (core) (fwd ? r.attn_fwd : attn_bwd) += t;
    if (fwd) r.layer_fwd_flops += op.flops * op.count;
  }
  const double layers = static_cast<double>(m_.layers);
  for (double* v : {&r.fwd, &r.bwd, &r.gemm_fwd, &r.gemm_bwd, &r.attn_fwd, &r.tp_fwd, &r.tp_bwd, &r.cp_fwd, &r.cp_bwd,
                    &r.ep_fwd, &r.ep_bwd, &r.layer_fwd_flops, &r.ops_fwd, &r.ops_bwd}) {
    *v /= layers;
  }
  attn_bwd /= layers;
  // Ring attention hides its exchange behind the attention kernels of the same pass.
  if (!c.layout.cp_all_to_all) {
    r.cp_fwd = std::max(0.0, r.cp_fwd - r.attn_fwd);
    r.cp_bwd = std::max(0.0, r.cp_bwd - attn_bwd);
  }
  return r;
}

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
  const double fp8_copy = precision_.gemm_dtype() == DType::kFp8 ? 1.0 : 0.0;
  const double h = static_cast<double>(m_.hidden_size);
  const double tokens_mb = static_cast<double>(c.microbatch) * static_cast<double>(c.seq_len) / Lay.cp;

  // ---- per-layer times with overlap rules ----
  const double tp_f = c.overlap_tp ? std::max(0.0, lc.tp_fwd - lc.gemm_fwd) : lc.tp_fwd;
  const double tp_b = c.overlap_tp ? std::max(0.0, lc.tp_bwd - lc.gemm_bwd) : lc.tp_bwd;
  // A pass over a layer takes at least the host's time to issue its kernels (eager frameworks
  // run ahead of the GPU only while kernels outlast their dispatch).
  const double lf = std::max(lc.fwd + tp_f + lc.cp_fwd + lc.ep_fwd, lc.ops_fwd * c.host_overhead_per_op_s);
  const double lb = std::max(lc.bwd + tp_b + lc.cp_bwd + lc.ep_bwd, lc.ops_bwd * c.host_overhead_per_op_s);
  double lr = 0;  // recomputation per recomputed layer
  if (c.recompute == Recompute::kFull) lr = lf;
  else if (c.recompute == Recompute::kSelective && !c.flash_attention) lr = lc.attn_fwd;

  // ---- gradient group and parameters per stage ----
  const int dpg = Lay.dp * Lay.cp;  // gradients are reduced over data- and context-parallel ranks
  const int dp_per_node = std::max(1, std::min(dpg, gpn / std::max(1, Lay.tp)));
  const int edpg = std::max(1, dpg / Lay.ep);
  const double head = m_.tie_embeddings ? (p > 1 ? embedding_params_ : 0.0) : head_params_;
  const double grad_b = dtype_bytes(c.grad_reduce_dtype);
  const double main_grad_b = dtype_bytes(c.main_grad_dtype);
  const double state_b = optimizer_state_bytes(c.optimizer);
  const double a_tok = activation_bytes_per_token_layer(m_, c, precision_.activations);
  const double ckpt_tok = act * h * (Lay.sequence_parallel ? 1.0 / t : 1.0);
  const double t_p2p = p > 1 ? collective(hw::Collective::kSendRecv, tokens_mb * h * act / (Lay.sequence_parallel ? t : 1.0), 2,
                                          static_cast<int64_t>(Lay.tp) * Lay.cp * Lay.dp * 2 <= gpn ? 2 : 1)
                             : 0.0;

  struct Stage {
    double T = 0, F = 0, B = 0, R = 0;
    double dense = 0, expert = 0;  // parameters on one GPU
    double layers = 0, rc_layers = 0;
    double zero3 = 0, p2p = 0;  // exposed per microbatch
    int index = 0;              // pipeline rank
    double copies = 1;          // middle stages are alike: one stands for all of them
  };
  // Representative stages: the first, one middle stage (the one holding the most
  // microbatches in flight) standing for the p − 2 alike, and the last.
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
    s.dense = s.layers * layer_dense_params_ / t + (i == 0 ? (embedding_params_ + encoder_params_) / t : 0.0) +
              (i == p - 1 ? head / t + final_norm_params_ : 0.0);
    s.expert = s.layers * layer_expert_params_ / (t * Lay.ep);
    s.T = s.F + s.B + s.R;
    if (!c.overlap_pp && p > 1) s.p2p = 2.0 * v * t_p2p;
    // ZeRO-3 / FSDP: parameters gathered before the forward and the backward of every
    // microbatch, gradients reduce-scattered after it; prefetching hides them behind compute.
    if (c.zero >= 3 && dpg > 1) {
      const double comm = 2.0 * (collective(hw::Collective::kAllGather, s.dense * wb, dpg, dp_per_node) +
                                 collective(hw::Collective::kAllGather, s.expert * wb, edpg, 1)) +
                          collective(hw::Collective::kReduceScatter, s.dense * grad_b, dpg, dp_per_node) +
                          collective(hw::Collective::kReduceScatter, s.expert * grad_b, edpg, 1);
      s.zero3 = c.overlap_dp ? std::max(0.0, comm - (s.F + s.B + s.R)) : comm;
    }
    s.T += s.p2p + s.zero3;
    sum_T += s.T * s.copies;
    if (s.T > max_T) {
      max_T = s.T;
      slow = k;
    }
  }

  // ---- pipeline schedule: 1F1B, interleaved over v chunks, possibly uneven stages ----
  const double pipe = m * max_T + (sum_T - max_T) / v;
  const Stage& S = st[slow];
  const bool slow_first = S.index == 0, slow_last = S.index == p - 1;
  auto& T = r.time;
  T.forward = m * (S.layers * lc.fwd + (slow_first ? lc.first_fwd : 0.0) + (slow_last ? lc.last_fwd : 0.0));
  T.backward = m * (S.layers * lc.bwd + (slow_first ? lc.first_bwd : 0.0) + (slow_last ? lc.last_bwd : 0.0));
  T.recompute = m * S.R;
  T.tp_comm = m * S.layers * (tp_f + tp_b);
  T.cp_comm = m * S.layers * (lc.cp_fwd + lc.cp_bwd);
  T.ep_comm = m * S.layers * (lc.ep_fwd + lc.ep_bwd);
  T.bubble = (sum_T - max_T) / v;
  // Send/receive at the pipeline's fill and drain is exposed even when overlapped in steady state.
  const double pp_extra = p > 1 ? 2.0 * (p - 1) * t_p2p : 0.0;
  T.pp_comm = m * S.p2p + pp_extra;

  // ---- data-parallel gradient reduction and ZeRO-1/2 gathers ----
  double dp_exposed = 0;
  if (dpg > 1) {
    for (int k = 0; k < n_st; ++k) {
      const Stage& s = st[k];
      const double rs_or_ar =
          c.zero == 0 ? collective(hw::Collective::kAllReduce, s.dense * grad_b, dpg, dp_per_node) +
                            collective(hw::Collective::kAllReduce, s.expert * grad_b, edpg, 1)
                      : collective(hw::Collective::kReduceScatter, s.dense * grad_b, dpg, dp_per_node) +
                            collective(hw::Collective::kReduceScatter, s.expert * grad_b, edpg, 1);
      const double ag = (c.zero == 1 || c.zero == 2)
                            ? collective(hw::Collective::kAllGather, s.dense * wb, dpg, dp_per_node) +
                                  collective(hw::Collective::kAllGather, s.expert * wb, edpg, 1)
                            : 0.0;
      double e = 0;
      if (c.zero <= 1) {
        // Buckets reduce while the last microbatch's backward runs; the last bucket cannot.
        const double bucket = collective(c.zero == 0 ? hw::Collective::kAllReduce : hw::Collective::kReduceScatter,
                                         std::min(kBucketElements, s.dense) * grad_b, dpg, dp_per_node);
        e = c.overlap_dp ? std::max(bucket, rs_or_ar - (s.B + s.R)) : rs_or_ar;
      } else if (c.zero == 2) {
        // Gradients are reduce-scattered after every microbatch's backward.
        e = c.overlap_dp ? m * std::max(0.0, rs_or_ar - (s.B + s.R)) : m * rs_or_ar;
      }
      // Updated parameters gathered after the step, overlapped with the next forward.
      e += c.overlap_dp ? std::max(0.0, ag - s.F) : ag;
      dp_exposed = std::max(dp_exposed, e);
    }
  }
  T.dp_comm = dp_exposed + m * S.zero3;

  // ---- optimizer step (and offload) ----
  double opt_params = 0;  // on the most loaded GPU
  for (int k = 0; k < n_st; ++k) {
    const Stage& s = st[k];
    const double shard_d = c.zero >= 1 ? dpg : 1, shard_e = c.zero >= 1 ? edpg : 1;
    opt_params = std::max(opt_params, s.dense / shard_d + s.expert / shard_e);
  }
  if (c.offload_optimizer) {
    const double link = gpu_.host_bw_Bps * 0.8;
    T.offload = opt_params * (grad_b + wb) / link + opt_params * (2.0 * state_b + 4.0 + 4.0) / host_.cpu_optimizer_Bps;
  } else {
    hw::Op op;
    op.kind = hw::OpKind::kElementwise;
    op.bytes = opt_params * (2.0 * state_b + main_grad_b + wb);
    op.flops = 12.0 * opt_params;
    op.dtype = DType::kFp32;
    T.optimizer = cost_.cost(op).time_s;
  }

  // ---- memory per stage ----
  MemoryBreakdown best;
  best.total = -1;
  for (int k = 0; k < n_st; ++k) {
    const Stage& s = st[k];
    const int i = s.index;
    MemoryBreakdown mb;
    mb.stage = i;
    mb.capacity = gpu_.memory_bytes;
    const double sd3 = c.zero >= 3 ? dpg : 1, se3 = c.zero >= 3 ? edpg : 1;
    const double sd2 = c.zero >= 2 ? dpg : 1, se2 = c.zero >= 2 ? edpg : 1;
    const double sd1 = c.zero >= 1 ? dpg : 1, se1 = c.zero >= 1 ? edpg : 1;
    mb.weights = (s.dense / sd3 + s.expert / se3) * (wb + fp8_copy);
    mb.gradients = (s.dense / sd2 + s.expert / se2) * main_grad_b;
    mb.optimizer = c.offload_optimizer ? 0.0 : (s.dense / sd1 + s.expert / se1) * state_b;
    // Microbatches whose activations a stage holds under 1F1B: p − i (stage i), times
    // (1 + (p − 1)/(p·v)) for the interleaved schedule (Korthikanti et al. 2022, §4.2.3).
    double inflight = std::min<double>(m, p - i);
    if (v > 1) inflight *= 1.0 + (p - 1) / (p * v);
    inflight = std::max(1.0, std::min(inflight, m * v));
    const double full_layer = a_tok * tokens_mb;
    // Fully recomputed layers keep only their input (Korthikanti et al.: 2·s·b·h, split by TP
    // under sequence parallelism); the others keep everything.
    const bool full_rc = c.recompute == Recompute::kFull && s.rc_layers > 0;
    const double per_mb = (full_rc ? s.rc_layers * ckpt_tok * tokens_mb : 0.0) + (s.layers - (full_rc ? s.rc_layers : 0.0)) * full_layer;
    double acts = inflight * per_mb;
    if (full_rc) acts += full_layer;  // the layer being recomputed
    if (i == 0) acts += inflight * tokens_mb * (act + (c.dropout ? 1.0 : 0.0)) * h * (Lay.sequence_parallel ? 1.0 / t : 1.0);
    if (i == p - 1) {
      // Logits of the vocabulary-parallel head: the 16-bit output and the fp32 softmax kept for
      // the cross-entropy backward.
      acts += tokens_mb * (act + 4.0) * std::ceil(static_cast<double>(m_.vocab_size) / t);
    }
    if (c.offload_activations) acts = std::min(acts, 2.0 * full_layer + (i == p - 1 ? tokens_mb * (act + 4.0) * static_cast<double>(m_.vocab_size) / t : 0.0));
    mb.activations = acts;
    mb.inflight_microbatches = inflight;
    mb.activation_bytes_per_layer = full_layer;
    double buf = 0;
    if (dpg > 1 && c.zero <= 2) buf += 2.0 * std::min(kBucketElements, s.dense + s.expert) * grad_b;
    if (c.zero >= 3 && dpg > 1) buf += 2.0 * (layer_dense_params_ / t + layer_expert_params_ / (t * Lay.ep)) * wb;
    if (Lay.tp > 1 && Lay.sequence_parallel) buf += tokens_mb * h * act;  // all-gathered layer input
    mb.buffers = buf;
    mb.runtime = kRuntimeReserveBytes;
    const double tensors = mb.weights + mb.gradients + mb.optimizer + mb.activations + mb.buffers;
    mb.fragmentation = kFragmentation * tensors;
    mb.total = tensors + mb.fragmentation + mb.runtime;
    if (mb.total > best.total) best = mb;
  }
  r.memory = best;

  // Activation offload: saved activations go to host memory during the forward pass and come
  // back for the backward pass, overlapped with that pass's compute.
  if (c.offload_activations) {
    const double link = gpu_.host_bw_Bps * 0.8;
    const double bytes = S.layers * a_tok * tokens_mb;
    T.offload += m * (std::max(0.0, bytes / link - S.F) + std::max(0.0, bytes / link - (S.B + S.R)));
  }

  T.step = pipe + pp_extra + dp_exposed + T.optimizer + T.offload;

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
