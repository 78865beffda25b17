#include "sim/model/hf_import.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/error.h"
#include "common/yaml.h"

namespace fathom::model {

namespace fs = std::filesystem;

namespace {

int64_t get_int(const YamlNode& root, const char* key) { return root.at(key).as_positive_int(); }

int64_t get_int_or(const YamlNode& root, const char* key, int64_t def) {
  auto n = root.find(key);
  return n ? n->as_nonnegative_int() : def;
}

std::string default_name(const std::string& path) {
  fs::path p(path);
  std::string n = p.stem().string();
  if (n == "config") {
    std::string parent = fs::absolute(p).parent_path().filename().string();
    if (!parent.empty()) n = parent;
  }
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return n;
}

}  // namespace

ModelSpec import_hf_config(const std::string& path, const std::string& name) {
  YamlNode root = load_yaml_file(path);  // JSON is read by the YAML parser, with line numbers
  const std::string type = root.str("model_type");
  static const char* kSupported[] = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "deepseek_v3"};
  if (std::find(std::begin(kSupported), std::end(kSupported), type) == std::end(kSupported)) {
    root.at("model_type").fail("one of llama, mistral, mixtral, qwen2, qwen3, deepseek_v3");
  }
  ModelSpec m;
  m.name = name.empty() ? default_name(path) : name;
  m.display_name = m.name;
  m.family = type;
  m.source = "HuggingFace config.json imported from " + fs::path(path).filename().string();
  m.file = path;
  m.vocab_size = get_int(root, "vocab_size");
  m.hidden_size = get_int(root, "hidden_size");
  m.layers = root.small_count("num_hidden_layers", 100000);
  // Positive, as the catalog requires (0 was accepted here and refused when the file was read back).
  m.max_position = root.count_or("max_position_embeddings", 4096);
  m.norm = NormKind::kRmsNorm;
  m.position = PositionKind::kRope;
  m.tie_embeddings = root.flag_or("tie_word_embeddings", false);

  auto& a = m.attention;
  a.heads = root.small_count("num_attention_heads", 1 << 20);
  a.kv_heads = root.small_count("num_key_value_heads", 1 << 20, a.heads);
  if (a.heads % a.kv_heads != 0) root.at("num_key_value_heads").fail("a divisor of num_attention_heads");
  if (root.has("head_dim") && type != "deepseek_v3") {
    a.head_dim = get_int(root, "head_dim");
  } else {
    if (m.hidden_size % a.heads != 0) root.at("num_attention_heads").fail("a divisor of hidden_size");
    a.head_dim = m.hidden_size / a.heads;
  }
  const bool attention_bias = root.flag_or("attention_bias", false);
  a.qkv_bias = type == "qwen2" ? true : attention_bias;
  a.out_bias = type == "qwen2" ? false : attention_bias;
  a.kind = a.kv_heads == a.heads ? AttentionKind::kMha : a.kv_heads == 1 ? AttentionKind::kMqa : AttentionKind::kGqa;

  m.ffn.kind = FfnKind::kGated;
  m.ffn.activation = root.str_or("hidden_act", "silu");
  m.ffn.hidden = get_int(root, "intermediate_size");
  m.ffn.bias = root.flag_or("mlp_bias", false);

  if (type == "mixtral") {
    MoeSpec s;
    s.experts = root.small_count("num_local_experts", 1 << 20);
    s.top_k = get_int(root, "num_experts_per_tok");
    if (s.top_k > s.experts) root.at("num_experts_per_tok").fail("at most num_local_experts");
    s.expert_hidden = m.ffn.hidden;
    s.shared_expert_hidden = s.expert_hidden;
    m.moe = s;
  }
  if (type == "deepseek_v3") {
    a.kind = AttentionKind::kMla;
    a.q_lora_rank = get_int_or(root, "q_lora_rank", 0);
    a.kv_lora_rank = get_int(root, "kv_lora_rank");
    a.qk_nope_head_dim = get_int(root, "qk_nope_head_dim");
    a.qk_rope_head_dim = get_int(root, "qk_rope_head_dim");
    a.v_head_dim = get_int(root, "v_head_dim");
    a.head_dim = a.qk_nope_head_dim + a.qk_rope_head_dim;
    a.kv_heads = a.heads;
    MoeSpec s;
    s.experts = root.small_count("n_routed_experts", 1 << 20);
    s.top_k = get_int(root, "num_experts_per_tok");
    if (s.top_k > s.experts) root.at("num_experts_per_tok").fail("at most n_routed_experts");
    s.expert_hidden = get_int(root, "moe_intermediate_size");
    s.shared_experts = get_int_or(root, "n_shared_experts", 0);
    s.shared_expert_hidden = s.expert_hidden;
    s.first_dense_layers = get_int_or(root, "first_k_dense_replace", 0);
    s.layer_period = std::max<int64_t>(1, get_int_or(root, "moe_layer_freq", 1));
    s.layer_offset = 0;
    // noaux_tc routing keeps a per-expert score-correction bias (DeepSeek-V3 §2.1.2).
    s.router_bias = root.str_or("topk_method", "noaux_tc") == "noaux_tc";
    m.moe = s;
  }
  return m;
}

}  // namespace fathom::model
