#include "sim/model/params.h"

#include <algorithm>

namespace fathom::model {

namespace {

double attention_params(const ModelSpec& m, double& bias_out) {
  const auto& a = m.attention;
  const double h = static_cast<double>(m.hidden_size);
  const double H = static_cast<double>(a.heads);
  double p = 0, bias = 0;
  if (a.kind == AttentionKind::kMla) {
    const double qk = static_cast<double>(a.qk_dim());
    if (a.q_lora_rank > 0) {
      const double r = static_cast<double>(a.q_lora_rank);
      p += h * r + r /* q_a_layernorm */ + r * H * qk;
    } else {
      p += h * H * qk;
    }
    const double kvr = static_cast<double>(a.kv_lora_rank);
    p += h * (kvr + static_cast<double>(a.qk_rope_head_dim)) + kvr /* kv_a_layernorm */;
    p += kvr * H * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim);
    p += H * static_cast<double>(a.v_head_dim) * h;
  } else {
    const double d = static_cast<double>(a.head_dim);
    const double KV = static_cast<double>(a.kv_heads);
    p += h * (H + 2 * KV) * d + H * d * h;
    if (a.qkv_bias) bias += (H + 2 * KV) * d;
    if (a.out_bias) bias += h;
  }
  bias_out = bias;
  return p + bias;
}

double ffn_params(double h, double f, FfnKind kind, bool bias, double& bias_out) {
  double b = 0;
  double p;
  if (kind == FfnKind::kGated) {
    p = 3 * h * f;
    if (bias) b = 2 * f + h;
  } else {
    p = 2 * h * f;
    if (bias) b = f + h;
  }
  bias_out = b;
  return p + b;
}

double mamba_params(const ModelSpec& m) {
  const auto& s = *m.ssm;
  const double h = static_cast<double>(m.hidden_size);
  const double di = static_cast<double>(s.expand) * h;
  const double ds = static_cast<double>(s.d_state);
  const double r = static_cast<double>(s.dt_rank);
  return h * 2 * di                       // in_proj (x and gate z)
         + di * static_cast<double>(s.d_conv) + di  // depthwise conv1d with bias
         + di * (r + 2 * ds)               // x_proj → (Δ, B, C)
         + r * di + di                     // dt_proj with bias
         + di * ds + di                    // A_log, D
         + di * h;                         // out_proj
}

double mamba_matmul_params(const ModelSpec& m) {
  const auto& s = *m.ssm;
  const double h = static_cast<double>(m.hidden_size);
  const double di = static_cast<double>(s.expand) * h;
  return h * 2 * di + di * (static_cast<double>(s.dt_rank) + 2 * static_cast<double>(s.d_state)) +
         static_cast<double>(s.dt_rank) * di + di * h;
}

}  // namespace

ParamCount count_params(const ModelSpec& m) {
  ParamCount c;
  const double h = static_cast<double>(m.hidden_size);
  const double V = static_cast<double>(m.vocab_size);
  const double norm = m.norm == NormKind::kLayerNorm ? 2 * h : h;
  double attn_bias = 0;
  const double attn = attention_params(m, attn_bias);
  // Matrix part of one attention mixer (no biases, no MLA norms).
  double attn_mm = attn - attn_bias;
  if (m.attention.kind == AttentionKind::kMla) {
    attn_mm -= static_cast<double>(m.attention.kv_lora_rank) + static_cast<double>(m.attention.q_lora_rank);
  }
  double dense_bias = 0;
  const double dense_ffn = ffn_params(h, static_cast<double>(m.ffn.hidden), m.ffn.kind, m.ffn.bias, dense_bias);

  c.embedding = V * h;
  if (m.position == PositionKind::kLearned) c.embedding += static_cast<double>(m.max_position) * h;
  c.lm_head = m.tie_embeddings ? 0.0 : V * h;
  c.matmul_active = V * h;  // the LM head multiplies whether tied or not

  const bool enc_dec = m.architecture == Architecture::kEncoderDecoder;
  for (int64_t i = 0; i < m.layers; ++i) {
    // Mixer.
    if (m.is_attention_layer(i)) {
      c.attention += attn;
      c.matmul_active += attn_mm;
    } else {
      c.ssm += mamba_params(m);
      c.matmul_active += mamba_matmul_params(m);
    }
    c.norms += 2 * norm;
    if (enc_dec) {  // cross-attention block and its norm
      c.attention += attn;
      c.matmul_active += attn_mm;
      c.norms += norm;
    }
    // Feed-forward.
    if (m.is_moe_layer(i)) {
      const auto& s = *m.moe;
      double b1 = 0, b2 = 0;
      const double expert = ffn_params(h, static_cast<double>(s.expert_hidden), m.ffn.kind, false, b1);
      const double shared = ffn_params(h, static_cast<double>(s.shared_expert_hidden), m.ffn.kind, false, b2);
      const double E = static_cast<double>(s.experts);
      const double S = static_cast<double>(s.shared_experts);
      c.moe_experts += E * expert + S * shared;
      c.moe_active += static_cast<double>(s.top_k) * expert + S * shared;
      c.router += h * E + (s.router_bias ? E : 0.0);
      c.matmul_active += static_cast<double>(s.top_k) * expert + S * shared + h * E;
    } else {
      c.ffn_dense += dense_ffn;
      c.matmul_active += dense_ffn - dense_bias;
    }
  }
  c.norms += norm;  // final norm
  if (enc_dec) {
    const auto& e = *m.encoder;
    double enc = 0;
    double enc_layer = attn + dense_ffn + 2 * norm;
    enc += static_cast<double>(e.layers) * enc_layer + norm;
    enc += static_cast<double>(e.seq_len) * h;  // encoder positions
    if (e.frontend == "conv1d-audio") {
      const double k = static_cast<double>(e.kernel);
      enc += static_cast<double>(e.in_channels) * h * k + h + h * h * k + h;
    }
    c.encoder = enc;
  }
  c.total = c.embedding + c.lm_head + c.attention + c.ssm + c.ffn_dense + c.moe_experts + c.router + c.norms + c.encoder;
  c.active = c.total - c.moe_experts + c.moe_active;
  return c;
}

double kv_bytes_per_token(const ModelSpec& m, DType kv) {
  const auto& a = m.attention;
  double per_layer;
  if (a.kind == AttentionKind::kMla) {
    per_layer = static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim);
  } else {
    per_layer = 2.0 * static_cast<double>(a.kv_heads * a.head_dim);
  }
  return per_layer * static_cast<double>(m.attention_layer_count()) * dtype_bytes(kv);
}

double kv_bytes_per_token_per_gpu(const ModelSpec& m, DType kv, int tp, int pp) {
  double split = static_cast<double>(tp);
  if (m.attention.kind == AttentionKind::kMla) split = 1;
  else split = std::min<double>(tp, static_cast<double>(std::max<int64_t>(1, m.attention.kv_heads)));
  return kv_bytes_per_token(m, kv) / split / pp;
}

double forward_flops_per_token(const ModelSpec& m, double context) {
  const ParamCount c = count_params(m);
  const auto& a = m.attention;
  // Scores Q·Kᵀ (2·d_qk per key per head) and weighted values P·V (2·d_v per key per head).
  const double per_key = 2.0 * static_cast<double>(a.heads) * static_cast<double>(a.qk_dim() + a.v_dim());
  return 2.0 * c.matmul_active + per_key * context * static_cast<double>(m.attention_layer_count());
}

}  // namespace fathom::model
