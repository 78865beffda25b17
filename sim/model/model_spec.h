#pragma once
// Model architectures: dense decoders (MHA/GQA/MQA), multi-head latent attention (MLA),
// mixtures of experts with shared experts, hybrid attention + Mamba, and encoder–decoders.
// File format: docs/catalogs.md.
#include <cstdint>
#include <optional>
#include <string>

#include "common/yaml.h"

namespace fathom::model {

enum class Architecture { kDecoder, kEncoderDecoder };
enum class AttentionKind { kMha, kGqa, kMqa, kMla };
enum class FfnKind { kGated, kMlp };
enum class NormKind { kRmsNorm, kLayerNorm };
enum class PositionKind { kRope, kLearned, kSinusoidal, kNone };

std::string to_string(Architecture a);
std::string to_string(AttentionKind a);
std::string to_string(FfnKind f);
std::string to_string(NormKind n);
std::string to_string(PositionKind p);

struct AttentionSpec {
  AttentionKind kind = AttentionKind::kGqa;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // for MLA: qk_nope_head_dim + qk_rope_head_dim
  bool qkv_bias = false;
  bool out_bias = false;
  // MLA (DeepSeek-V2/V3): low-rank query and joint key/value compression.
  int64_t q_lora_rank = 0;  // 0 = queries projected directly
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  int64_t qk_dim() const { return kind == AttentionKind::kMla ? qk_nope_head_dim + qk_rope_head_dim : head_dim; }
  int64_t v_dim() const { return kind == AttentionKind::kMla ? v_head_dim : head_dim; }
};

struct FfnSpec {
  FfnKind kind = FfnKind::kGated;
  std::string activation = "silu";
  int64_t hidden = 0;
  bool bias = false;
};

struct MoeSpec {
  int64_t experts = 0;
  int64_t top_k = 0;
  int64_t expert_hidden = 0;
  int64_t shared_experts = 0;
  int64_t shared_expert_hidden = 0;
  int64_t first_dense_layers = 0;
  int64_t layer_period = 1;
  int64_t layer_offset = 0;
  bool router_bias = false;
};

struct SsmSpec {
  std::string kind = "mamba1";
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t dt_rank = 0;
  int64_t attention_period = 1;
  int64_t attention_offset = 0;
};

struct EncoderSpec {
  int64_t layers = 0;
  int64_t seq_len = 0;
  std::string frontend = "none";  // none | conv1d-audio
  int64_t in_channels = 0;
  int64_t kernel = 0;
};

struct ModelSpec {
  std::string name;
  std::string display_name;
  std::string family;
  std::string source;
  Architecture architecture = Architecture::kDecoder;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t layers = 0;
  int64_t max_position = 0;
  NormKind norm = NormKind::kRmsNorm;
  PositionKind position = PositionKind::kRope;
  bool tie_embeddings = false;
  AttentionSpec attention;
  FfnSpec ffn;
  std::optional<MoeSpec> moe;
  std::optional<SsmSpec> ssm;
  std::optional<EncoderSpec> encoder;
  std::optional<double> released_params;
  std::optional<double> released_active_params;
  std::string file;

  bool is_moe_layer(int64_t layer) const;
  bool is_attention_layer(int64_t layer) const;  // false: a Mamba mixer (hybrid models)
  int64_t moe_layer_count() const;
  int64_t attention_layer_count() const;
};

// Parses and validates a model file (every size positive, heads divisible by KV heads, ...).
ModelSpec parse_model(const YamlNode& root);

// Writes the catalog YAML of a model (the format parse_model reads).
std::string to_yaml(const ModelSpec& m);

}  // namespace fathom::model
