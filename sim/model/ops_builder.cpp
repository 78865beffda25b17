#include "sim/model/ops_builder.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::model {

using hw::Collective;
using hw::Op;
using hw::OpKind;
using hw::Pass;

std::string to_string(Phase p) {
  switch (p) {
    case Phase::kTrain: return "train";
    case Phase::kPrefill: return "prefill";
    case Phase::kDecode: return "decode";
  }
  return "?";
}

std::string to_string(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kSelective: return "selective";
    case Recompute::kFull: return "full";
  }
  return "?";
}

DType Precision::gemm_dtype() const {
  if (weights == DType::kFp8 || weights == DType::kInt8) return weights;
  if (weights == DType::kInt4 || weights == DType::kFp4) return activations == DType::kFp8 ? DType::kFp8 : activations;
  return activations;
}

std::optional<LayoutProblem> layout_problem(const ModelSpec& m, const Layout& L, bool check_pp) {
  auto bad = [](const std::string& field, std::string msg) { return LayoutProblem{field, std::move(msg)}; };
  if (L.tp < 1) return bad("tp", fmt::format("expected a tensor-parallel degree >= 1, found {}", L.tp));
  if (L.pp < 1) return bad("pp", fmt::format("expected a pipeline-parallel degree >= 1, found {}", L.pp));
  if (L.dp < 1) return bad("dp", fmt::format("expected a data-parallel degree >= 1, found {}", L.dp));
  if (L.ep < 1) return bad("ep", fmt::format("expected an expert-parallel degree >= 1, found {}", L.ep));
  if (L.cp < 1) return bad("cp", fmt::format("expected a context-parallel degree >= 1, found {}", L.cp));
  const auto& a = m.attention;
  if (a.heads % L.tp != 0) {
    return bad("tp", fmt::format("expected a tensor-parallel degree that divides the {} attention heads of {}, found {}",
                                 a.heads, m.name, L.tp));
  }
  if (a.kind != AttentionKind::kMla && a.kv_heads % L.tp != 0 && L.tp % a.kv_heads != 0) {
    return bad("tp", fmt::format("expected a tensor-parallel degree that divides or is a multiple of the {} KV heads of {}, found {}",
                                 a.kv_heads, m.name, L.tp));
  }
  if (check_pp && m.layers % L.pp != 0) {
    return bad("pp", fmt::format("expected a pipeline degree that divides the {} layers of {}, found {}", m.layers, m.name, L.pp));
  }
  if (L.pp > m.layers) {
    return bad("pp", fmt::format("expected at most one pipeline stage per layer ({} layers), found {}", m.layers, L.pp));
  }
  if (m.ffn.hidden % L.tp != 0) {
    return bad("tp", fmt::format("expected a tensor-parallel degree that divides the FFN width {} of {}, found {}",
                                 m.ffn.hidden, m.name, L.tp));
  }
  if (m.moe) {
    if (m.moe->experts % L.ep != 0) {
      return bad("ep", fmt::format("expected an expert-parallel degree that divides the {} experts of {}, found {}",
                                   m.moe->experts, m.name, L.ep));
    }
  } else if (L.ep != 1) {
    return bad("ep", fmt::format("expected ep = 1 for {}, which has no experts; found {}", m.name, L.ep));
  }
  if (m.ssm && (m.ssm->expand * m.hidden_size) % L.tp != 0) {
    return bad("tp", fmt::format("expected a tensor-parallel degree that divides the Mamba width of {}", m.name));
  }
  if (L.cp > 1) {
    if (m.encoder) return bad("cp", fmt::format("expected cp = 1 for the encoder–decoder {}, found {}", m.name, L.cp));
    if (L.cp_all_to_all && a.heads % (static_cast<int64_t>(L.tp) * L.cp) != 0) {
      return bad("cp", fmt::format("expected tp × cp to divide the {} attention heads of {} for all-to-all context parallelism, found {} × {}",
                                   a.heads, m.name, L.tp, L.cp));
    }
  }
  return std::nullopt;
}

void validate_layout(const ModelSpec& m, const Layout& L, const std::string& where, const std::string& key_prefix) {
  if (auto p = layout_problem(m, L)) throw ConfigError(where, "'" + key_prefix + p->field + "': " + p->message);
}

namespace {

class Builder {
 public:
  Builder(const ModelSpec& m, Phase phase, const Batch& b, const Layout& L, const Precision& P, const OpsOptions& o)
      : m_(m), phase_(phase), b_(b), L_(L), P_(P), o_(o) {
    train_ = phase == Phase::kTrain;
    act_ = dtype_bytes(P.activations);
    wb_ = dtype_bytes(P.weights);
    kvb_ = dtype_bytes(P.kv_cache);
    gdt_ = P.gemm_dtype();
    adt_ = P.activations == DType::kFp8 ? DType::kFp8 : DType::kBf16;
    const double B = static_cast<double>(b.sequences);
    const double s = static_cast<double>(b.seq_len);
    cp_ = train_ ? std::max(1, L.cp) : 1;
    // Training under context parallelism: each GPU holds s/cp tokens of every sequence.
    T_ = phase == Phase::kDecode ? B : B * s / cp_;
    // Training counts are per GPU, averaged over pipeline stages; serving walks every layer of
    // the replica once per iteration (stages run one after the other for one batch).
    mult_ = train_ ? static_cast<double>(b.microbatches) / L.pp : 1.0;
    t_ = L.tp;
    tp_per_node_ = std::min(L.tp, L.gpus_per_node);
  }

  std::vector<Op> build();
  Op serve_attention(double seqs, double q_len, double kv_len);

 private:
  double dt() const { return static_cast<double>(t_); }
  // Tokens seen by norms and element-wise passes: split by TP under sequence parallelism.
  double T_sp() const { return (train_ && L_.sequence_parallel) ? T_ / dt() : T_; }

  void push(Op op) { ops_.push_back(std::move(op)); }

  // A weight GEMM of M×N×K (N, K already split by TP) occurring `n` times per pass; `batch`
  // independent products of that shape run as one batched (grouped) kernel, as the experts of a
  // fused MoE layer or the per-head products of absorbed MLA do.
  void gemm(const std::string& name, const std::string& cat, double M, double N, double K, double n,
            double weight_fraction = 1.0, DType dtype_override = DType::kFp64, bool weights = true,
            double batch = 1.0) {
    if (n <= 0 || M <= 0) return;
    const DType dtype = dtype_override == DType::kFp64 ? (weights ? gdt_ : adt_) : dtype_override;
    const double wbytes = batch * (weights ? N * K * wb_ * weight_fraction : N * K * act_);
    auto mk = [&](const std::string& suffix, Pass pass, double mm, double nn, double kk, double bytes, double wbyt,
                  double model) {
      Op op;
      op.name = name + suffix;
      op.category = cat;
      op.kind = OpKind::kGemm;
      op.pass = pass;
      op.dtype = dtype;
      op.count = n * mult_;
      op.flops = 2.0 * M * N * K * batch;
      op.model_flops = model;
      op.bytes = bytes;
      op.weight_bytes = wbyt;
      op.m = static_cast<int64_t>(std::ceil(mm));
      op.n = static_cast<int64_t>(std::ceil(nn));
      op.k = static_cast<int64_t>(std::ceil(kk));
      op.batch = static_cast<int64_t>(std::ceil(batch));
      push(op);
    };
    const double f = 2.0 * M * N * K * batch;
    const double fwd_bytes = wbytes + batch * (M * K + M * N) * act_;
    if (!train_) {
      mk("", Pass::kInference, M, N, K, fwd_bytes, wbytes, f);
      return;
    }
    mk("", Pass::kForward, M, N, K, fwd_bytes, wbytes, f);
    // Backward: input gradient (M×K = M×N · N×K) and weight gradient (N×K = N×M · M×K), the
    // latter accumulated in fp32.
    mk(".dgrad", Pass::kBackward, M, K, N, batch * (M * N + M * K) * act_ + wbytes, wbytes, f);
    mk(".wgrad", Pass::kBackward, N, K, M, batch * ((M * N + M * K) * act_ + N * K * 4.0), 0.0, f);
    if (o_.recompute == Recompute::kFull) mk(".recompute", Pass::kRecompute, M, N, K, fwd_bytes, wbytes, 0.0);
  }

  // A memory-bound pass reading and writing `bytes`, doing `flops`.
  void pass(const std::string& name, const std::string& cat, OpKind kind, double bytes, double flops, double n,
            double kv = 0.0) {
    if (n <= 0) return;
    auto mk = [&](const std::string& suffix, Pass p, double by, double fl, double model) {
      Op op;
      op.name = name + suffix;
      op.category = cat;
      op.kind = kind;
      op.pass = p;
      op.dtype = P_.activations;
      op.count = n * mult_;
      op.flops = fl;
      op.model_flops = model;
      op.bytes = by;
      op.kv_bytes = kv;
      push(op);
    };
    if (!train_) {
      mk("", Pass::kInference, bytes, flops, 0.0);
      return;
    }
    mk("", Pass::kForward, bytes, flops, 0.0);
    mk(".bwd", Pass::kBackward, 2.0 * bytes, 2.0 * flops, 0.0);
    if (o_.recompute == Recompute::kFull) mk(".recompute", Pass::kRecompute, bytes, flops, 0.0);
  }

  void collective(const std::string& name, const std::string& cat, Collective c, double bytes, int group,
                  int per_node, double n, bool backward_too = true) {
    if (!o_.include_communication || group <= 1 || n <= 0 || bytes <= 0) return;
    auto mk = [&](const std::string& suffix, Pass p, double count) {
      Op op;
      op.name = name + suffix;
      op.category = cat;
      op.kind = OpKind::kCollective;
      op.pass = p;
      op.collective = c;
      op.bytes = bytes;
      op.group = group;
      op.group_per_node = std::max(1, std::min(per_node, group));
      op.count = count;
      push(op);
    };
    if (!train_) {
      mk("", Pass::kInference, n);
      return;
    }
    mk("", Pass::kForward, n * mult_);
    if (backward_too) mk(".bwd", Pass::kBackward, n * mult_);
    if (o_.recompute == Recompute::kFull) mk(".recompute", Pass::kRecompute, n * mult_);
  }

  void tp_reduce(const std::string& name, double tokens, double n) {
    if (t_ <= 1) return;
    const double bytes = tokens * static_cast<double>(m_.hidden_size) * act_;
    if (train_ && L_.sequence_parallel) {
      collective(name + ".all_gather", "comm", Collective::kAllGather, bytes, t_, tp_per_node_, n);
      collective(name + ".reduce_scatter", "comm", Collective::kReduceScatter, bytes, t_, tp_per_node_, n);
    } else {
      collective(name + ".all_reduce", "comm", Collective::kAllReduce, bytes, t_, tp_per_node_, n);
    }
  }

  // Context-parallel exchange around one attention layer. Ring attention (Liu et al. 2023)
  // passes each GPU's key/value chunk around the ring, cp − 1 steps, overlapped with the
  // attention kernels; the backward pass sends keys/values and their gradients (twice the
  // bytes). Ulysses (Jacobs et al. 2023) swaps the sequence split for a head split with one
  // all-to-all of Q, K, V before attention and one of the output after, in both passes.
  void cp_exchange(double n, double q_heads, double kv_heads, double d_qk, double d_v) {
    if (!train_ || cp_ <= 1 || !o_.include_communication || n <= 0) return;
    const int per_node_group = std::max(1, std::min(cp_, L_.gpus_per_node / std::max(1, L_.tp)));
    if (L_.cp_all_to_all) {
      const double in = T_ * (q_heads * d_qk + kv_heads * (d_qk + d_v)) * act_;
      const double out = T_ * q_heads * d_v * act_;
      collective("attn.cp.all_to_all_qkv", "comm", Collective::kAllToAll, in, cp_, per_node_group, n);
      collective("attn.cp.all_to_all_out", "comm", Collective::kAllToAll, out, cp_, per_node_group, n);
      return;
    }
    const double chunk = T_ * kv_heads * (d_qk + d_v) * act_;
    const int per_node = per_node_group >= cp_ ? 2 : 1;
    Op op;
    op.name = "attn.cp.ring";
    op.category = "comm";
    op.kind = OpKind::kCollective;
    op.collective = Collective::kSendRecv;
    op.bytes = chunk;
    op.group = 2;
    op.group_per_node = per_node;
    op.pass = Pass::kForward;
    op.count = n * (cp_ - 1) * mult_;
    push(op);
    op.name = "attn.cp.ring.bwd";
    op.pass = Pass::kBackward;
    op.bytes = 2.0 * chunk;
    push(op);
    if (o_.recompute == Recompute::kFull) {
      op.name = "attn.cp.ring.recompute";
      op.pass = Pass::kRecompute;
      op.bytes = chunk;
      push(op);
    }
  }

  // Attention as separate kernels (Megatron-LM before FlashAttention): a batched score GEMM
  // writes the full s² matrix (no causal skipping), a fused scale-mask-softmax reads and writes
  // it, dropout reads it and writes it with a 1-byte mask, and the context GEMM reads it. The
  // backward pass mirrors each (GEMM input and weight-style gradients, softmax and dropout
  // backward). Per head and sequence; context parallelism splits the queries.
  void unfused_attention(const std::string& name, double seqs, double q_len, double kv_len, double heads, double d_qk,
                         double d_v, double n) {
    const double q = q_len / static_cast<double>(cp_);
    const double batch = seqs * heads;
    const double elems = batch * q * kv_len;
    gemm(name + ".scores", "attention", q, kv_len, d_qk, n, 1.0, adt_, false, batch);
    pass(name + ".softmax", "attention", OpKind::kElementwise, 2.0 * elems * act_, 5.0 * elems, n);
    if (o_.dropout) pass(name + ".dropout", "attention", OpKind::kElementwise, elems * (2.0 * act_ + 1.0), elems, n);
    gemm(name + ".context", "attention", q, d_v, kv_len, n, 1.0, adt_, false, batch);
  }

  // Fused attention (FlashAttention IO: one pass over Q, K, V and O).
  void attention_core(const std::string& name, double seqs, double q_len, double kv_len, double heads,
                      double kv_heads, double d_qk, double d_v, bool causal, double n, bool kv_from_cache,
                      double cache_bytes_per_key) {
    if (n <= 0) return;
    if (!o_.fused_attention && !kv_from_cache) {
      unfused_attention(name, seqs, q_len, kv_len, heads, d_qk, d_v, n);
      return;
    }
    double pairs;
    if (causal && q_len > 1 && q_len <= kv_len) {
      // A causal chunk of q_len new tokens after kv_len − q_len cached ones (q_len == kv_len: a
      // whole prompt): each new token sees the cached context and the chunk up to itself.
      pairs = o_.causal_skip ? q_len * (kv_len - q_len) + q_len * (q_len + 1) / 2.0 : q_len * kv_len;
    } else {
      pairs = q_len * kv_len;
    }
    // Context parallelism: the cp GPUs share the score matrix of the whole sequence evenly
    // (load-balanced ring attention or Ulysses head split); queries are local, keys all.
    const double cpd = static_cast<double>(cp_);
    pairs /= cpd;
    const double flops = 2.0 * (d_qk + d_v) * heads * seqs * pairs;
    double kv_read = kv_from_cache ? seqs * kv_len * cache_bytes_per_key
                                   : seqs * kv_len * kv_heads * (d_qk + d_v) * act_;
    const double bytes = seqs * q_len / cpd * heads * (d_qk + d_v) * act_ + kv_read;
    auto mk = [&](const std::string& suffix, Pass p, double fl, double model, double by) {
      Op op;
      op.name = name + suffix;
      op.category = "attention";
      op.kind = OpKind::kAttention;
      op.pass = p;
      op.dtype = adt_;
      op.count = n * mult_;
      op.flops = fl;
      op.model_flops = model;
      op.bytes = by;
      op.kv_bytes = kv_from_cache ? kv_read : 0.0;
      op.m = static_cast<int64_t>(q_len / cpd * seqs);
      op.n = static_cast<int64_t>(kv_len);
      op.k = static_cast<int64_t>(d_qk);
      push(op);
    };
    if (!train_) {
      mk("", Pass::kInference, flops, flops, bytes);
      return;
    }
    mk("", Pass::kForward, flops, flops, bytes);
    // FlashAttention backward recomputes the scores: 5 matrix products against 2 forward
    // (Dao 2023), i.e. 2.5× forward executed for 2× forward of model FLOPs.
    mk(".bwd", Pass::kBackward, 2.5 * flops, 2.0 * flops, 2.5 * bytes);
    if (o_.recompute != Recompute::kNone) mk(".recompute", Pass::kRecompute, flops, 0.0, bytes);
  }

  void norm(const std::string& name, double n) {
    const double h = static_cast<double>(m_.hidden_size);
    pass(name, "norm", OpKind::kNorm, 2.0 * T_sp() * h * act_ + h * wb_, 4.0 * T_sp() * h, n);
  }

  void self_attention_block(double n_layers);
  void cross_attention_block(double n_layers);
  void mamba_block(double n_layers);
  void ffn_dense_block(double n_layers, double width, const std::string& prefix);
  void moe_block(double n_layers);
  void encoder_stack();
  void embedding_and_head();

  const ModelSpec& m_;
  Phase phase_;
  Batch b_;
  Layout L_;
  Precision P_;
  OpsOptions o_;
  bool train_ = false;
  double act_ = 2, wb_ = 2, kvb_ = 2;
  DType gdt_ = DType::kBf16, adt_ = DType::kBf16;
  double T_ = 0;
  double mult_ = 1;
  int t_ = 1;
  int cp_ = 1;
  int tp_per_node_ = 1;
  std::vector<Op> ops_;
};

void Builder::self_attention_block(double n) {
  if (n <= 0) return;
  const auto& a = m_.attention;
  const double h = static_cast<double>(m_.hidden_size);
  const double B = static_cast<double>(b_.sequences);
  const double Hl = static_cast<double>(a.heads) / dt();
  const double KVl = a.kind == AttentionKind::kMla ? Hl : std::max(1.0, static_cast<double>(a.kv_heads) / dt());
  const double qk = static_cast<double>(a.qk_dim());
  const double vd = static_cast<double>(a.v_dim());
  const bool decode = phase_ == Phase::kDecode;
  const double q_len = decode ? 1.0 : static_cast<double>(b_.seq_len);
  const double ctx = static_cast<double>(b_.seq_len);
  norm("attn.norm", n);
  if (a.kind == AttentionKind::kMla) {
    const double kvr = static_cast<double>(a.kv_lora_rank);
    const double rope = static_cast<double>(a.qk_rope_head_dim);
    const double nope = static_cast<double>(a.qk_nope_head_dim);
    if (a.q_lora_rank > 0) {
      const double qr = static_cast<double>(a.q_lora_rank);
      gemm("attn.q_a_proj", "attention", T_, qr, h, n);
      gemm("attn.q_b_proj", "attention", T_, Hl * qk, qr, n);
    } else {
      gemm("attn.q_proj", "attention", T_, Hl * qk, h, n);
    }
    gemm("attn.kv_a_proj", "attention", T_, kvr + rope, h, n);
    pass("attn.rope", "attention", OpKind::kElementwise, 2.0 * T_ * (Hl + 1) * rope * act_, 6.0 * T_ * (Hl + 1) * rope, n);
    if (decode) {
      // Absorbed MLA (DeepSeek-V2 §2.1.3): queries are mapped into the latent space and
      // attention runs over the cached latent (kv_lora_rank + rope per token) shared by all heads.
      gemm("attn.q_absorb", "attention", T_, kvr, nope, n, 1.0, DType::kFp64, true, Hl);
      pass("attn.kv_cache_write", "kv_cache", OpKind::kMemory, T_ * (kvr + rope) * kvb_, 0.0, n,
           T_ * (kvr + rope) * kvb_);
      attention_core("attn.core", B, 1.0, ctx, Hl, 1.0, kvr + rope, kvr, true, n, true, (kvr + rope) * kvb_);
      gemm("attn.v_absorb", "attention", T_, vd, kvr, n, 1.0, DType::kFp64, true, Hl);
    } else {
      gemm("attn.kv_b_proj", "attention", T_, Hl * (nope + vd), kvr, n);
      if (!train_) {
        pass("attn.kv_cache_write", "kv_cache", OpKind::kMemory, T_ * (kvr + rope) * kvb_, 0.0, n,
             T_ * (kvr + rope) * kvb_);
      }
      attention_core("attn.core", B, q_len, ctx, Hl, KVl, qk, vd, true, n, false, 0.0);
      cp_exchange(n, Hl, Hl, qk, vd);
    }
    gemm("attn.o_proj", "attention", T_, h, Hl * vd, n);
  } else {
    const double d = static_cast<double>(a.head_dim);
    gemm("attn.qkv_proj", "attention", T_, (Hl + 2 * KVl) * d, h, n);
    if (m_.position == PositionKind::kRope) {
      pass("attn.rope", "attention", OpKind::kElementwise, 2.0 * T_ * (Hl + KVl) * d * act_, 6.0 * T_ * (Hl + KVl) * d, n);
    }
    if (!train_) {
      const double w = T_ * 2.0 * KVl * d * kvb_;
      pass("attn.kv_cache_write", "kv_cache", OpKind::kMemory, w + T_ * 2.0 * KVl * d * act_, 0.0, n, w);
    }
    attention_core("attn.core", B, q_len, decode ? ctx : q_len, Hl, KVl, d, d, true, n, decode,
                   KVl * 2.0 * d * kvb_);
    cp_exchange(n, Hl, KVl, d, d);
    gemm("attn.o_proj", "attention", T_, h, Hl * d, n);
  }
  tp_reduce("attn.tp", T_, n);
  pass("attn.residual_add", "norm", OpKind::kElementwise, 3.0 * T_sp() * h * act_, T_sp() * h, n);
}

void Builder::cross_attention_block(double n) {
  if (n <= 0) return;
  const auto& a = m_.attention;
  const double h = static_cast<double>(m_.hidden_size);
  const double B = static_cast<double>(b_.sequences);
  const double Hl = static_cast<double>(a.heads) / dt();
  const double KVl = std::max(1.0, static_cast<double>(a.kv_heads) / dt());
  const double d = static_cast<double>(a.head_dim);
  const double enc = static_cast<double>(m_.encoder->seq_len);
  const bool decode = phase_ == Phase::kDecode;
  norm("xattn.norm", n);
  gemm("xattn.q_proj", "attention", T_, Hl * d, h, n);
  if (!decode) {
    // Keys and values of the encoder output, computed once per request and cached for decoding.
    gemm("xattn.kv_proj", "attention", B * enc, 2 * KVl * d, h, n);
  }
  const double q_len = decode ? 1.0 : static_cast<double>(b_.seq_len);
  attention_core("xattn.core", B, q_len, enc, Hl, KVl, d, d, false, n, decode, KVl * 2.0 * d * kvb_);
  gemm("xattn.o_proj", "attention", T_, h, Hl * d, n);
  tp_reduce("xattn.tp", T_, n);
  pass("xattn.residual_add", "norm", OpKind::kElementwise, 3.0 * T_sp() * h * act_, T_sp() * h, n);
}

void Builder::mamba_block(double n) {
  if (n <= 0) return;
  const auto& s = *m_.ssm;
  const double h = static_cast<double>(m_.hidden_size);
  const double B = static_cast<double>(b_.sequences);
  const double di = static_cast<double>(s.expand) * h / dt();
  const double ds = static_cast<double>(s.d_state);
  const double r = static_cast<double>(s.dt_rank);
  const double dc = static_cast<double>(s.d_conv);
  norm("ssm.norm", n);
  gemm("ssm.in_proj", "ssm", T_, 2 * di, h, n);
  pass("ssm.conv1d", "ssm", OpKind::kElementwise, 2.0 * T_ * di * act_ + di * dc * wb_, 2.0 * T_ * di * dc, n);
  gemm("ssm.x_proj", "ssm", T_, r + 2 * ds, di, n);
  gemm("ssm.dt_proj", "ssm", T_, di, r, n);
  // Selective scan (Gu and Dao 2023, §3.3): about 9 FLOPs per (token, channel, state); reads
  // x, Δ, z and writes y per channel, B and C per state, and in decoding reads and writes the
  // recurrent state (fp32) of every sequence.
  double bytes = T_ * (4.0 * di + 2.0 * ds) * act_;
  double state = 0;
  if (phase_ == Phase::kDecode) {
    state = B * di * (ds * 4.0 + dc * act_) * 2.0;
    bytes += state;
  }
  pass("ssm.scan", "ssm", OpKind::kScan, bytes, 9.0 * T_ * di * ds, n, state);
  gemm("ssm.out_proj", "ssm", T_, h, di, n);
  tp_reduce("ssm.tp", T_, n);
  pass("ssm.residual_add", "norm", OpKind::kElementwise, 3.0 * T_sp() * h * act_, T_sp() * h, n);
}

void Builder::ffn_dense_block(double n, double width, const std::string& prefix) {
  if (n <= 0) return;
  const double h = static_cast<double>(m_.hidden_size);
  const double f = width / dt();
  if (prefix == "mlp") norm("mlp.norm", n);
  if (m_.ffn.kind == FfnKind::kGated) {
    gemm(prefix + ".gate_up_proj", prefix, T_, 2 * f, h, n);
    pass(prefix + ".act", prefix, OpKind::kElementwise, 3.0 * T_ * f * act_, 8.0 * T_ * f, n);
  } else {
    gemm(prefix + ".up_proj", prefix, T_, f, h, n);
    pass(prefix + ".act", prefix, OpKind::kElementwise, 2.0 * T_ * f * act_, 8.0 * T_ * f, n);
  }
  gemm(prefix + ".down_proj", prefix, T_, h, f, n);
  if (prefix == "mlp") {
    tp_reduce("mlp.tp", T_, n);
    pass("mlp.residual_add", "norm", OpKind::kElementwise, 3.0 * T_sp() * h * act_, T_sp() * h, n);
  }
}

void Builder::moe_block(double n) {
  if (n <= 0) return;
  const auto& s = *m_.moe;
  const double h = static_cast<double>(m_.hidden_size);
  const double E = static_cast<double>(s.experts);
  const double k = static_cast<double>(s.top_k);
  const double ep = static_cast<double>(L_.ep);
  const double E_local = E / ep;
  // Training: the EP group spans data-parallel ranks, each bringing its own T tokens; experts
  // stay tensor-parallel. Serving: EP splits the replica's experts across its TP GPUs, which
  // share the same tokens.
  const double token_factor = train_ ? ep : 1.0;
  const double expert_tp = train_ ? dt() : std::max(1.0, dt() / ep);
  const double tokens_per_expert = T_ * k * token_factor / E;
  // Probability that an expert receives at least one token under uniform routing: only those
  // experts' weights are read (matters for small decode batches).
  const double p_active = 1.0 - std::pow(1.0 - k / E, T_ * token_factor);
  const double fe = static_cast<double>(s.expert_hidden) / expert_tp;
  norm("moe.norm", n);
  gemm("moe.router", "moe", T_, E, h, n, 1.0, adt_, true);
  pass("moe.topk", "moe", OpKind::kElementwise, T_ * E * 4.0 * 2.0, 5.0 * T_ * E, n);
  pass("moe.permute", "moe", OpKind::kElementwise, 2.0 * T_ * k * h * act_, 0.0, n);
  // Serving with EP: after the attention reduction each TP rank keeps its 1/tp share of the
  // tokens and sends each token to the GPUs of its k experts (dispatch), which send the results
  // back (combine); the token shares are gathered again for the next attention. Dispatch and
  // combine replace the MoE block's TP all-reduce.
  const bool serve_ep = !train_ && L_.ep > 1;
  const double serve_share = T_ / dt() * k * h * act_;
  if (train_ && L_.ep > 1) {
    const int per_node = std::max(1, std::min(L_.ep, L_.gpus_per_node / std::max(1, L_.tp)));
    collective("moe.dispatch.all_to_all", "comm", Collective::kAllToAll, T_ * k * h * act_, L_.ep, per_node, n);
  } else if (serve_ep) {
    collective("moe.dispatch.all_to_all", "comm", Collective::kAllToAll, serve_share, L_.ep, std::min(L_.ep, L_.gpus_per_node), n);
  }
  if (m_.ffn.kind == FfnKind::kGated) {
    gemm("moe.experts.gate_up_proj", "moe", tokens_per_expert, 2 * fe, h, n, p_active, DType::kFp64, true, E_local);
    pass("moe.experts.act", "moe", OpKind::kElementwise, 3.0 * T_ * k * token_factor / ep * fe * act_,
         8.0 * T_ * k * token_factor / ep * fe, n);
  } else {
    gemm("moe.experts.up_proj", "moe", tokens_per_expert, fe, h, n, p_active, DType::kFp64, true, E_local);
    pass("moe.experts.act", "moe", OpKind::kElementwise, 2.0 * T_ * k * token_factor / ep * fe * act_,
         8.0 * T_ * k * token_factor / ep * fe, n);
  }
  gemm("moe.experts.down_proj", "moe", tokens_per_expert, h, fe, n, p_active, DType::kFp64, true, E_local);
  if (train_ && L_.ep > 1) {
    const int per_node = std::max(1, std::min(L_.ep, L_.gpus_per_node / std::max(1, L_.tp)));
    collective("moe.combine.all_to_all", "comm", Collective::kAllToAll, T_ * k * h * act_, L_.ep, per_node, n);
  } else if (serve_ep) {
    collective("moe.combine.all_to_all", "comm", Collective::kAllToAll, serve_share, L_.ep, std::min(L_.ep, L_.gpus_per_node), n);
  }
  pass("moe.unpermute", "moe", OpKind::kElementwise, 2.0 * T_ * k * h * act_, T_ * k * h, n);
  if (s.shared_experts > 0) {
    ffn_dense_block(n, static_cast<double>(s.shared_experts * s.shared_expert_hidden), "moe.shared");
  }
  if (serve_ep) {
    // Experts still split by TP inside each EP rank reduce their partial sums there; with
    // shared experts, those run tensor-parallel on every token and reduce over TP.
    if (expert_tp > 1.0 || s.shared_experts > 0) tp_reduce("moe.tp", T_, n);
  } else {
    tp_reduce("moe.tp", T_, n);
  }
  pass("moe.residual_add", "norm", OpKind::kElementwise, 3.0 * T_sp() * h * act_, T_sp() * h, n);
}

void Builder::encoder_stack() {
  // Whisper-style encoder: runs in prefill (once per request) and in training.
  const auto& e = *m_.encoder;
  const double h = static_cast<double>(m_.hidden_size);
  const double B = static_cast<double>(b_.sequences);
  const double S = static_cast<double>(e.seq_len);
  const double n = static_cast<double>(e.layers);
  const double saved_T = T_;
  const Phase saved_phase = phase_;
  T_ = B * S;
  if (e.frontend == "conv1d-audio") {
    const double kk = static_cast<double>(e.kernel);
    // Two 1-D convolutions as GEMMs: the first over 2·S input frames, the second with stride 2.
    gemm("encoder.conv1", "encoder", 2.0 * B * S, h, static_cast<double>(e.in_channels) * kk, 1.0);
    gemm("encoder.conv2", "encoder", B * S, h, h * kk, 1.0);
    pass("encoder.conv_act", "encoder", OpKind::kElementwise, 6.0 * B * S * h * act_, 16.0 * B * S * h, 1.0);
  }
  const auto& a = m_.attention;
  const double Hl = static_cast<double>(a.heads) / dt();
  const double d = static_cast<double>(a.head_dim);
  norm("encoder.attn.norm", n);
  gemm("encoder.attn.qkv_proj", "encoder", T_, 3 * Hl * d, h, n);
  phase_ = Phase::kPrefill;
  attention_core("encoder.attn.core", B, S, S, Hl, Hl, d, d, false, n, false, 0.0);
  phase_ = saved_phase;
  gemm("encoder.attn.o_proj", "encoder", T_, h, Hl * d, n);
  tp_reduce("encoder.attn.tp", T_, n);
  norm("encoder.mlp.norm", n);
  gemm("encoder.mlp.up_proj", "encoder", T_, static_cast<double>(m_.ffn.hidden) / dt(), h, n);
  pass("encoder.mlp.act", "encoder", OpKind::kElementwise, 2.0 * T_ * static_cast<double>(m_.ffn.hidden) / dt() * act_,
       8.0 * T_ * static_cast<double>(m_.ffn.hidden) / dt(), n);
  gemm("encoder.mlp.down_proj", "encoder", T_, h, static_cast<double>(m_.ffn.hidden) / dt(), n);
  tp_reduce("encoder.mlp.tp", T_, n);
  T_ = saved_T;
}

void Builder::embedding_and_head() {
  const double h = static_cast<double>(m_.hidden_size);
  const double V = static_cast<double>(m_.vocab_size);
  const double B = static_cast<double>(b_.sequences);
  // Vocabulary-parallel embedding (Megatron): each TP rank gathers its rows, then an all-reduce.
  pass("embedding.lookup", "embedding", OpKind::kEmbedding, 2.0 * T_ * h * act_, 0.0, 1.0);
  tp_reduce("embedding.tp", T_, 1.0);
  norm("final_norm", 1.0);
  // Serving computes logits for the last position of each sequence only.
  const double T_out = train_ ? T_ : B;
  const double Vl = std::ceil(V / dt());
  gemm("lm_head", "lm_head", T_out, Vl, h, 1.0);
  pass(train_ ? "lm_head.cross_entropy" : "lm_head.softmax_sample", "lm_head", OpKind::kElementwise,
       2.0 * T_out * Vl * 4.0, 5.0 * T_out * Vl, 1.0);
  if (!train_ && t_ > 1) {
    collective("lm_head.logits.all_gather", "comm", Collective::kAllGather, T_out * V * 4.0, t_, tp_per_node_, 1.0);
  }
}

std::vector<Op> Builder::build() {
  // Count layers by kind: identical layers become one operation with a count.
  double n_attn = 0, n_ssm = 0, n_moe = 0, n_dense = 0;
  for (int64_t i = 0; i < m_.layers; ++i) {
    (m_.is_attention_layer(i) ? n_attn : n_ssm) += 1;
    (m_.is_moe_layer(i) ? n_moe : n_dense) += 1;
  }
  if (m_.encoder && phase_ != Phase::kDecode) encoder_stack();
  embedding_and_head();
  self_attention_block(n_attn);
  if (m_.encoder) cross_attention_block(n_attn);
  mamba_block(n_ssm);
  ffn_dense_block(n_dense, static_cast<double>(m_.ffn.hidden), "mlp");
  moe_block(n_moe);

  const double h = static_cast<double>(m_.hidden_size);
  if (L_.pp > 1 && o_.include_communication) {
    const int per_node = (L_.tp * (train_ ? L_.dp : 1) * L_.pp <= L_.gpus_per_node) ? 2 : 1;
    Op op;
    op.name = "pipeline.send_recv";
    op.category = "comm";
    op.kind = OpKind::kCollective;
    op.collective = Collective::kSendRecv;
    op.bytes = (train_ && L_.sequence_parallel ? T_ / dt() : T_) * h * act_;
    op.group = 2;
    op.group_per_node = per_node;
    if (train_) {
      // Each stage boundary carries activations forward and gradients back, per microbatch;
      // averaged over the p stages of a pipeline.
      op.pass = Pass::kForward;
      op.count = static_cast<double>(b_.microbatches) * (L_.pp - 1) / L_.pp;
      push(op);
      op.name += ".bwd";
      op.pass = Pass::kBackward;
      push(op);
    } else {
      op.pass = Pass::kInference;
      op.count = L_.pp - 1;
      push(op);
    }
  }
  if (train_ && o_.include_optimizer) {
    // Parameters held by one GPU: the stage's share of the model split by TP (experts by EP).
    {
      const ParamCount pc = count_params(m_);
      const double total = pc.total;
      const double experts = pc.moe_experts;
      const double local = ((total - experts) / dt() + experts / (dt() * L_.ep)) / L_.pp;
      // Adam with fp32 master weights: reads master, m, v and the fp32 gradient, writes master,
      // m, v and the bf16 copy: 30 bytes and about 12 FLOPs per parameter.
      Op op;
      op.name = "optimizer.adam";
      op.category = "optimizer";
      op.kind = OpKind::kElementwise;
      op.pass = Pass::kOptimizer;
      op.bytes = 30.0 * local;
      op.flops = 12.0 * local;
      op.count = 1;
      push(op);
      if (L_.dp > 1 && o_.include_communication) {
        const int per_node = std::max(1, std::min(L_.dp, L_.gpus_per_node / std::max(1, L_.tp)));
        const double dense_local = (total - experts) / dt() / L_.pp;
        Op ar;
        ar.name = "dp.grad_all_reduce";
        ar.category = "comm";
        ar.kind = OpKind::kCollective;
        ar.pass = Pass::kOptimizer;
        ar.collective = Collective::kAllReduce;
        ar.bytes = dense_local * act_;
        ar.group = L_.dp;
        ar.group_per_node = per_node;
        ar.count = 1;
        push(ar);
        if (experts > 0 && L_.dp / L_.ep > 1) {
          Op ear = ar;
          ear.name = "dp.expert_grad_all_reduce";
          ear.bytes = experts / (dt() * L_.ep) / L_.pp * act_;
          ear.group = L_.dp / L_.ep;
          ear.group_per_node = 1;
          push(ear);
        }
      }
    }
  }
  return std::move(ops_);
}

Op Builder::serve_attention(double seqs, double q_len, double kv_len) {
  double n = 0;
  for (int64_t i = 0; i < m_.layers; ++i) n += m_.is_attention_layer(i) ? 1 : 0;
  const auto& a = m_.attention;
  const double Hl = static_cast<double>(a.heads) / dt();
  const double KVl = a.kind == AttentionKind::kMla ? Hl : std::max(1.0, static_cast<double>(a.kv_heads) / dt());
  // Chunks after cached context read that context from the cache; a whole prompt reads its
  // keys and values from the projections it just made.
  const bool from_cache = q_len == 1.0 || kv_len > q_len;
  if (a.kind == AttentionKind::kMla) {
    const double kvr = static_cast<double>(a.kv_lora_rank);
    const double rope = static_cast<double>(a.qk_rope_head_dim);
    if (q_len == 1.0) {
      attention_core("attn.core", seqs, 1.0, kv_len, Hl, 1.0, kvr + rope, kvr, true, n, true, (kvr + rope) * kvb_);
    } else {
      attention_core("attn.core", seqs, q_len, kv_len, Hl, KVl, static_cast<double>(a.qk_dim()),
                     static_cast<double>(a.v_dim()), true, n, from_cache, (kvr + rope) * kvb_);
    }
  } else {
    const double d = static_cast<double>(a.head_dim);
    attention_core("attn.core", seqs, q_len, kv_len, Hl, KVl, d, d, true, n, from_cache, KVl * 2.0 * d * kvb_);
  }
  if (ops_.empty()) {
    Op none;
    none.name = "attn.core";
    none.category = "attention";
    none.kind = OpKind::kAttention;
    none.count = 0;
    return none;
  }
  return ops_.back();
}

}  // namespace

hw::Op serve_attention_op(const ModelSpec& m, const Layout& layout, const Precision& precision, double seqs,
                          double q_len, double kv_len) {
  FATHOM_CHECK(seqs >= 1 && q_len >= 1 && kv_len >= q_len);
  Batch b;
  Builder builder(m, q_len == 1.0 ? Phase::kDecode : Phase::kPrefill, b, layout, precision, OpsOptions{});
  return builder.serve_attention(seqs, q_len, kv_len);
}

std::vector<Op> build_ops(const ModelSpec& m, Phase phase, const Batch& batch, const Layout& layout,
                          const Precision& precision, const OpsOptions& options) {
  FATHOM_CHECK(batch.sequences >= 1 && batch.seq_len >= 1 && batch.microbatches >= 1);
  validate_layout(m, layout, "layout", "");
  Builder b(m, phase, batch, layout, precision, options);
  return b.build();
}

}  // namespace fathom::model
