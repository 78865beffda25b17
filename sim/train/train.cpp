#include "sim/train/train.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.h"
#include "sim/model/params.h"
#include "sim/train/stage.h"

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

std::string to_string(Framework f) {
  switch (f) {
    case Framework::kAuto: return "auto";
    case Framework::kMegatron: return "megatron";
    case Framework::kFsdp: return "fsdp";
  }
  return "?";
}

Framework parse_framework(const std::string& s) {
  if (s == "auto") return Framework::kAuto;
  if (s == "megatron" || s == "megatron-lm" || s == "nemo") return Framework::kMegatron;
  if (s == "fsdp" || s == "fsdp2" || s == "deepspeed" || s == "zero3") return Framework::kFsdp;
  throw std::invalid_argument("expected auto, megatron or fsdp, found '" + s + "'");
}

Framework framework_of(const TrainConfig& c) {
  if (c.framework != Framework::kAuto) return c.framework;
  return c.zero >= 3 && c.layout.tp == 1 && c.layout.pp == 1 ? Framework::kFsdp : Framework::kMegatron;
}

int64_t megatron_padded_vocab(int64_t vocab, int tp) {
  const int64_t unit = 128 * static_cast<int64_t>(std::max(1, tp));
  return (vocab + unit - 1) / unit * unit;
}

int64_t padded_vocab_size(int64_t vocab, const TrainConfig& c) {
  return framework_of(c) == Framework::kMegatron ? megatron_padded_vocab(vocab, c.layout.tp) : vocab;
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
    if (uneven) {
      // Interleaving with uneven end stages (Llama 3 405B: one layer fewer on the first and the
      // last stage): the middle stages split into equal chunks; the end stages' chunks may be
      // shorter, never longer.
      const int64_t mid = L.pp > 2 ? (m.layers - c.first_stage_layers - c.last_stage_layers) / (L.pp - 2) : c.first_stage_layers;
      if (mid % c.virtual_stages != 0) {
        return bad("parallel.virtual_stages", fmt::format("expected virtual_stages to divide the {} layers of a middle stage, found {}",
                                                          mid, c.virtual_stages));
      }
      if (c.first_stage_layers > mid || c.last_stage_layers > mid || c.first_stage_layers < c.virtual_stages ||
          c.last_stage_layers < c.virtual_stages) {
        return bad("parallel.first_stage_layers",
                   fmt::format("expected first and last stages of {} to {} layers with {} virtual stages, found {} and {}",
                               c.virtual_stages, mid, c.virtual_stages, c.first_stage_layers, c.last_stage_layers));
      }
    } else if (m.layers % (static_cast<int64_t>(L.pp) * c.virtual_stages) != 0) {
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
  if (c.shard_group != 0) {
    const int64_t dpg = static_cast<int64_t>(L.dp) * L.cp;
    if (c.zero < 3) return bad("shard_group", fmt::format("expected a shard group only with zero 3 (HSDP), found zero {}", c.zero));
    if (c.shard_group < 1 || dpg % c.shard_group != 0) {
      return bad("shard_group", fmt::format("expected a shard group that divides dp × cp = {}, found {}", dpg, c.shard_group));
    }
    if (m.moe && L.ep > 1 && c.shard_group % L.ep != 0) {
      return bad("shard_group", fmt::format("expected a shard group that is a multiple of ep = {}, found {}", L.ep, c.shard_group));
    }
  }
  if (c.prefetch_depth < 1 || c.prefetch_depth > 16) {
    return bad("prefetch_depth", fmt::format("expected a prefetch depth from 1 to 16, found {}", c.prefetch_depth));
  }
  if (!(c.loop_efficiency > 0 && c.loop_efficiency <= 1)) {
    return bad("loop_efficiency", fmt::format("expected a loop efficiency above 0 and at most 1, found {}", c.loop_efficiency));
  }
  if (L.cp_all_to_all && c.cp_kind == CpKind::kAllGather) {
    return bad("parallel.cp_kind", "expected one context-parallel kind, found both all-to-all and all-gather");
  }
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
      (static_cast<uint64_t>(c.flash_attention) << 2) |
      (static_cast<uint64_t>(framework_of(c) == Framework::kMegatron) << 3);  // vocabulary padding
  return k ^ (static_cast<uint64_t>(c.seq_len) * 0x9E3779B97F4A7C15ull);
}
}  // namespace

size_t TrainModel::CacheKeyHash::operator()(const CacheKey& k) const {
  return static_cast<size_t>(k.shape ^ (std::bit_cast<uint64_t>(k.loop_efficiency) * 0xC2B2AE3D27D4EB4Full));
}

const LayerCosts& TrainModel::layer_costs(const TrainConfig& c) const {
  if (c.cp_kind == CpKind::kAllToAll && !c.layout.cp_all_to_all) {
    TrainConfig a = c;  // the ops builder knows all-to-all context parallelism by the layout flag
    a.layout.cp_all_to_all = true;
    return layer_costs(a);
  }
  const CacheKey key{shape_key(c), c.loop_efficiency};
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(key, compute_layer_costs(c)).first->second;
}

// fp8 training with per-tensor scaling (Micikevicius et al. 2022, "FP8 Formats for Deep
// Learning", §4.3; TransformerEngine's and torchao's float8 linears): before a GEMM each bf16
// operand is reduced for its absolute maximum, cast to fp8 and written transposed as well for the
// other pass (cast-transpose): read 2 + read 2 + write 1 + write 1 = 6 bytes per element. The
// forward casts the input (m × k) and the weight (k × n); the data-gradient GEMM casts the output
// gradient (its m × k); the weight-gradient GEMM reuses the transposed copies. Memory-bound, and
// absent from the GEMM rate.
double TrainModel::fp8_cast_time(const hw::Op& op) const {
  const bool wgrad = op.name.ends_with(".wgrad");
  if (wgrad) return 0.0;
  const double m = static_cast<double>(op.m), n = static_cast<double>(op.n), k = static_cast<double>(op.k);
  const double b = static_cast<double>(std::max<int64_t>(1, op.batch));
  const bool dgrad = op.name.ends_with(".dgrad");
  const double elements = b * (dgrad ? m * k : m * k + k * n);
  if (elements <= 0) return 0.0;
  hw::Op cast;
  cast.kind = hw::OpKind::kElementwise;
  cast.dtype = DType::kBf16;
  cast.bytes = 6.0 * elements;
  cast.flops = 2.0 * elements;
  return cost_.cost(cast).time_s * op.count;
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
  const int64_t vocab = padded_vocab_size(m_.vocab_size, c);
  std::optional<model::ModelSpec> padded;
  if (vocab != m_.vocab_size) {
    padded = m_;
    padded->vocab_size = vocab;
  }
  const auto ops = model::build_ops(padded ? *padded : m_, model::Phase::kTrain, b, L, precision_, o);
  LayerCosts r;
  double attn_bwd = 0;
  for (const auto& op : ops) {
    // Kernels run at the loop's sustained rate; collectives keep their own (hw/collective.h).
    const double rate = op.kind == hw::OpKind::kCollective ? 1.0 : c.loop_efficiency;
    const double t = cost_.cost(op).time_s * op.count / rate;
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
    if (op.kind == hw::OpKind::kGemm && !core && op.dtype == DType::kFp8) {
      const double cast = fp8_cast_time(op) / c.loop_efficiency;
      (fwd ? r.fwd : r.bwd) += cast;
      (fwd ? r.ops_fwd : r.ops_bwd) += cast > 0 ? op.count : 0.0;
    }
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
  r.attn_bwd = attn_bwd;
  r.cp_raw_fwd = r.cp_fwd;
  r.cp_raw_bwd = r.cp_bwd;
  // Ring attention hides its exchange behind the attention kernels of the same pass.
  if (!c.layout.cp_all_to_all) {
    r.cp_fwd = std::max(0.0, r.cp_fwd - r.attn_fwd);
    r.cp_bwd = std::max(0.0, r.cp_bwd - attn_bwd);
  }
  return r;
}

}  // namespace fathom::train
