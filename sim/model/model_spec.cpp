#include "sim/model/model_spec.h"

#include <sstream>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::model {

std::string to_string(Architecture a) { return a == Architecture::kDecoder ? "decoder" : "encoder-decoder"; }
std::string to_string(AttentionKind a) {
  switch (a) {
    case AttentionKind::kMha: return "mha";
    case AttentionKind::kGqa: return "gqa";
    case AttentionKind::kMqa: return "mqa";
    case AttentionKind::kMla: return "mla";
  }
  return "?";
}
std::string to_string(FfnKind f) { return f == FfnKind::kGated ? "gated" : "mlp"; }
std::string to_string(NormKind n) { return n == NormKind::kRmsNorm ? "rmsnorm" : "layernorm"; }
std::string to_string(PositionKind p) {
  switch (p) {
    case PositionKind::kRope: return "rope";
    case PositionKind::kLearned: return "learned";
    case PositionKind::kSinusoidal: return "sinusoidal";
    case PositionKind::kNone: return "none";
  }
  return "?";
}

bool ModelSpec::is_moe_layer(int64_t layer) const {
  if (!moe) return false;
  if (layer < moe->first_dense_layers) return false;
  return layer % moe->layer_period == moe->layer_offset;
}

bool ModelSpec::is_attention_layer(int64_t layer) const {
  if (!ssm) return true;
  return layer % ssm->attention_period == ssm->attention_offset;
}

int64_t ModelSpec::moe_layer_count() const {
  int64_t n = 0;
  for (int64_t i = 0; i < layers; ++i) n += is_moe_layer(i) ? 1 : 0;
  return n;
}

int64_t ModelSpec::attention_layer_count() const {
  int64_t n = 0;
  for (int64_t i = 0; i < layers; ++i) n += is_attention_layer(i) ? 1 : 0;
  return n;
}

namespace {

template <class E>
E parse_enum(const YamlNode& node, std::initializer_list<std::pair<const char*, E>> options) {
  std::string s = node.as_string();
  std::string list;
  for (const auto& [name, value] : options) {
    if (s == name) return value;
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  node.fail("one of " + list);
}

}  // namespace

ModelSpec parse_model(const YamlNode& root) {
  root.expect_keys({"name", "display_name", "family", "source", "architecture", "vocab_size", "hidden_size", "layers",
                    "max_position", "norm", "position", "tie_embeddings", "attention", "ffn", "moe", "ssm",
                    "encoder", "released_params", "released_active_params", "notes"});
  ModelSpec m;
  m.file = root.file();
  m.name = root.str("name");
  m.display_name = root.str_or("display_name", m.name);
  m.family = root.str_or("family", "");
  m.source = root.str_or("source", "");
  if (auto a = root.find("architecture")) {
    m.architecture = parse_enum<Architecture>(
        *a, {{"decoder", Architecture::kDecoder}, {"encoder-decoder", Architecture::kEncoderDecoder}});
  }
  m.vocab_size = root.count("vocab_size");
  m.hidden_size = root.count("hidden_size");
  m.layers = root.small_count("layers", 100000);  // loops run over layers
  m.max_position = root.count_or("max_position", 4096);
  if (auto n = root.find("norm")) {
    m.norm = parse_enum<NormKind>(*n, {{"rmsnorm", NormKind::kRmsNorm}, {"layernorm", NormKind::kLayerNorm}});
  }
  if (auto p = root.find("position")) {
    m.position = parse_enum<PositionKind>(*p, {{"rope", PositionKind::kRope},
                                               {"learned", PositionKind::kLearned},
                                               {"sinusoidal", PositionKind::kSinusoidal},
                                               {"none", PositionKind::kNone}});
  }
  m.tie_embeddings = root.flag_or("tie_embeddings", false);

  auto at = root.at("attention");
  at.expect_keys({"kind", "heads", "kv_heads", "head_dim", "qkv_bias", "out_bias", "q_lora_rank", "kv_lora_rank",
                  "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "sliding_window"});
  auto& a = m.attention;
  a.heads = at.small_count("heads", 1 << 20);
  a.kv_heads = at.small_count("kv_heads", 1 << 20, a.heads);
  if (auto hd = at.find("head_dim")) {
    a.head_dim = hd->as_positive_int();
  } else {
    if (m.hidden_size % a.heads != 0) {
      at.fail_message(fmt::format("expected 'head_dim' (hidden_size {} is not a multiple of heads {})", m.hidden_size, a.heads));
    }
    a.head_dim = m.hidden_size / a.heads;
  }
  a.qkv_bias = at.flag_or("qkv_bias", false);
  a.out_bias = at.flag_or("out_bias", false);
  if (auto k = at.find("kind")) {
    a.kind = parse_enum<AttentionKind>(*k, {{"mha", AttentionKind::kMha},
                                           {"gqa", AttentionKind::kGqa},
                                           {"mqa", AttentionKind::kMqa},
                                           {"mla", AttentionKind::kMla}});
  } else {
    a.kind = a.kv_heads == a.heads ? AttentionKind::kMha
             : a.kv_heads == 1     ? AttentionKind::kMqa
                                   : AttentionKind::kGqa;
  }
  if (a.kind == AttentionKind::kMla) {
    if (auto q = at.find("q_lora_rank")) a.q_lora_rank = q->as_nonnegative_int();
    a.kv_lora_rank = at.count("kv_lora_rank");
    a.qk_nope_head_dim = at.count("qk_nope_head_dim");
    a.qk_rope_head_dim = at.count("qk_rope_head_dim");
    a.v_head_dim = at.count("v_head_dim");
    a.kv_heads = a.heads;
  } else {
    if (a.heads % a.kv_heads != 0) {
      at.at("kv_heads").fail(fmt::format("a divisor of heads ({})", a.heads));
    }
    if (a.kind == AttentionKind::kMha && a.kv_heads != a.heads) at.at("kv_heads").fail("kv_heads = heads for kind mha");
    if (a.kind == AttentionKind::kMqa && a.kv_heads != 1) at.at("kv_heads").fail("kv_heads = 1 for kind mqa");
  }

  auto ff = root.at("ffn");
  ff.expect_keys({"kind", "activation", "hidden", "bias"});
  m.ffn.kind = parse_enum<FfnKind>(ff.at("kind"), {{"gated", FfnKind::kGated}, {"mlp", FfnKind::kMlp}});
  m.ffn.activation = ff.str_or("activation", m.ffn.kind == FfnKind::kGated ? "silu" : "gelu");
  m.ffn.hidden = ff.count("hidden");
  m.ffn.bias = ff.flag_or("bias", false);

  if (auto mo = root.find("moe")) {
    mo->expect_keys({"experts", "top_k", "expert_hidden", "shared_experts", "shared_expert_hidden",
                     "first_dense_layers", "layer_period", "layer_offset", "router_bias"});
    MoeSpec s;
    s.experts = mo->small_count("experts", 1 << 20);
    s.top_k = mo->small_count("top_k", 1 << 20);
    if (s.top_k > s.experts) mo->at("top_k").fail(fmt::format("top_k <= experts ({})", s.experts));
    s.expert_hidden = mo->count("expert_hidden");
    if (auto v = mo->find("shared_experts")) s.shared_experts = v->as_nonnegative_int();
    s.shared_expert_hidden = mo->count_or("shared_expert_hidden", s.expert_hidden);
    if (auto v = mo->find("first_dense_layers")) s.first_dense_layers = v->as_nonnegative_int();
    s.layer_period = mo->count_or("layer_period", 1);
    if (auto v = mo->find("layer_offset")) s.layer_offset = v->as_nonnegative_int();
    if (s.layer_offset >= s.layer_period) mo->at("layer_offset").fail("an offset smaller than layer_period");
    s.router_bias = mo->flag_or("router_bias", false);
    m.moe = s;
  }
  if (auto ss = root.find("ssm")) {
    ss->expect_keys({"kind", "d_state", "d_conv", "expand", "dt_rank", "attention_period", "attention_offset"});
    SsmSpec s;
    s.kind = ss->str_or("kind", "mamba1");
    if (s.kind != "mamba1") ss->at("kind").fail("'mamba1'");
    s.d_state = ss->count("d_state");
    s.d_conv = ss->count("d_conv");
    s.expand = ss->count("expand");
    s.dt_rank = ss->count_or("dt_rank", (m.hidden_size + 15) / 16);
    s.attention_period = ss->count("attention_period");
    if (auto v = ss->find("attention_offset")) s.attention_offset = v->as_nonnegative_int();
    if (s.attention_offset >= s.attention_period) ss->at("attention_offset").fail("an offset smaller than attention_period");
    m.ssm = s;
  }
  if (auto en = root.find("encoder")) {
    en->expect_keys({"layers", "seq_len", "frontend"});
    EncoderSpec e;
    e.layers = en->small_count("layers", 100000);
    e.seq_len = en->count("seq_len");
    if (auto fr = en->find("frontend")) {
      fr->expect_keys({"kind", "in_channels", "kernel"});
      e.frontend = fr->str("kind");
      if (e.frontend == "conv1d-audio") {
        e.in_channels = fr->count("in_channels");
        e.kernel = fr->count("kernel");
      } else if (e.frontend != "none") {
        fr->at("kind").fail("'conv1d-audio' or 'none'");
      }
    }
    m.encoder = e;
  }
  if (m.architecture == Architecture::kEncoderDecoder && !m.encoder) {
    root.fail_message("missing required key 'encoder' for architecture encoder-decoder");
  }
  if (m.architecture == Architecture::kDecoder && m.encoder) {
    root.at("encoder").fail_message("an 'encoder' section needs architecture: encoder-decoder");
  }
  if (auto r = root.find("released_params")) m.released_params = r->as_positive_number();
  if (auto r = root.find("released_active_params")) m.released_active_params = r->as_positive_number();
  return m;
}

std::string to_yaml(const ModelSpec& m) {
  std::ostringstream o;
  auto b = [](bool v) { return v ? "true" : "false"; };
  // Text is quoted and escaped: a name, source or activation taken from a config.json may hold
  // quotes, ": " or '#', which unquoted (or quoted without escapes) make the file unreadable.
  o << "name: " << yaml_quote(m.name) << "\n";
  o << "display_name: " << yaml_quote(m.display_name) << "\n";
  o << "family: " << yaml_quote(m.family) << "\n";
  o << "source: " << yaml_quote(m.source) << "\n";
  o << "architecture: " << to_string(m.architecture) << "\n";
  o << "vocab_size: " << m.vocab_size << "\n";
  o << "hidden_size: " << m.hidden_size << "\n";
  o << "layers: " << m.layers << "\n";
  o << "max_position: " << m.max_position << "\n";
  o << "norm: " << to_string(m.norm) << "\n";
  o << "position: " << to_string(m.position) << "\n";
  o << "tie_embeddings: " << b(m.tie_embeddings) << "\n";
  const auto& a = m.attention;
  o << "attention:\n  kind: " << to_string(a.kind) << "\n  heads: " << a.heads << "\n  kv_heads: " << a.kv_heads
    << "\n  head_dim: " << a.head_dim << "\n  qkv_bias: " << b(a.qkv_bias) << "\n  out_bias: " << b(a.out_bias) << "\n";
  if (a.kind == AttentionKind::kMla) {
    o << "  q_lora_rank: " << a.q_lora_rank << "\n  kv_lora_rank: " << a.kv_lora_rank
      << "\n  qk_nope_head_dim: " << a.qk_nope_head_dim << "\n  qk_rope_head_dim: " << a.qk_rope_head_dim
      << "\n  v_head_dim: " << a.v_head_dim << "\n";
  }
  o << "ffn:\n  kind: " << to_string(m.ffn.kind) << "\n  activation: " << yaml_quote(m.ffn.activation)
    << "\n  hidden: " << m.ffn.hidden << "\n  bias: " << b(m.ffn.bias) << "\n";
  if (m.moe) {
    const auto& s = *m.moe;
    o << "moe:\n  experts: " << s.experts << "\n  top_k: " << s.top_k << "\n  expert_hidden: " << s.expert_hidden
      << "\n  shared_experts: " << s.shared_experts << "\n  shared_expert_hidden: " << s.shared_expert_hidden
      << "\n  first_dense_layers: " << s.first_dense_layers << "\n  layer_period: " << s.layer_period
      << "\n  layer_offset: " << s.layer_offset << "\n  router_bias: " << b(s.router_bias) << "\n";
  }
  if (m.ssm) {
    const auto& s = *m.ssm;
    o << "ssm:\n  kind: " << yaml_quote(s.kind) << "\n  d_state: " << s.d_state << "\n  d_conv: " << s.d_conv
      << "\n  expand: " << s.expand << "\n  dt_rank: " << s.dt_rank << "\n  attention_period: " << s.attention_period
      << "\n  attention_offset: " << s.attention_offset << "\n";
  }
  if (m.encoder) {
    const auto& e = *m.encoder;
    o << "encoder:\n  layers: " << e.layers << "\n  seq_len: " << e.seq_len << "\n";
    if (e.frontend != "none") {
      o << "  frontend: {kind: " << yaml_quote(e.frontend) << ", in_channels: " << e.in_channels
        << ", kernel: " << e.kernel << "}\n";
    }
  }
  if (m.released_params) o << "released_params: " << fmt::format("{:.6g}", *m.released_params) << "\n";
  if (m.released_active_params) o << "released_active_params: " << fmt::format("{:.6g}", *m.released_active_params) << "\n";
  return o.str();
}

}  // namespace fathom::model
