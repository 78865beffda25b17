#pragma once
// Valid files that scenario and GPU inputs can name by a relative path; written once into the
// scratch folder so that the fuzzer reaches the code that loads them (fuzz_scenario, fuzz_gpu).
#include <string>

#include "common/version.h"
#include "tests/fuzz/fuzz_util.h"

namespace fathom::fuzz {

inline constexpr const char* kProfileBody = R"(gpu: "h100-sxm"
device: {name: "NVIDIA H100 SXM5 80GB", uuid: "fuzz-h100", sm_count: 132}
source: {database: "s.db", created_at: "", fathom_version: "0.1.0"}
launch_gap_s: 2.0e-06
gemm:
  bf16: {peak_fraction: 0.8, k_half: 103.2, memory_fraction: 0.85, fixed_s: 3.0e-06, points: 371, folds: 5, heldout_median: 0.0075, heldout_p90: 0.023, insample_median: 0.0073}
  fp8: {peak_fraction: 0.68, k_half: 131.6, memory_fraction: 0.85, fixed_s: 3.0e-06}
memory:
  copy: {memory_fraction: 0.92, fixed_s: 1.9e-06}
elementwise: {memory_fraction: 0.82, fixed_s: 2.4e-06}
reduction: {memory_fraction: 0.74, fixed_s: 3.1e-06}
attention: {peak_fraction: 0.3, memory_fraction: 0.7, fixed_s: 5.1e-06, kernel: "flash", apply: true}
)";

inline constexpr const char* kTrace = R"(TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:15:46.6805900,374,44
2023-11-16 18:15:50.9951690,396,109
2023-11-16 18:15:53.0000000,99,355
)";

inline constexpr const char* kTraceSessions = R"(timestamp,input_tokens,output_tokens,session_id
0.0,100,20,a
0.5,300,10,a
0.7,50,5,b
)";

inline constexpr const char* kHfConfig = R"({
  "model_type": "llama",
  "vocab_size": 32000,
  "hidden_size": 512,
  "intermediate_size": 1376,
  "num_hidden_layers": 4,
  "num_attention_heads": 8,
  "num_key_value_heads": 2,
  "max_position_embeddings": 4096,
  "tie_word_embeddings": false
}
)";

// Writes profile.yaml (synthetic), measured.yaml (the same, as measured), trace.csv,
// trace_small.csv, sessions.csv, model.yaml (a catalog model) and config.json.
inline void write_scratch_files() {
  const Scratch& s = Scratch::get();
  s.write("profile.yaml", std::string("profile: 1\nsynthetic: true\n") + kProfileBody);
  s.write("measured.yaml", std::string("profile: 1\nsynthetic: false\n") + kProfileBody);
  s.write("trace.csv", kTrace);
  s.write("trace_small.csv", kTrace);
  s.write("sessions.csv", kTraceSessions);
  s.write("config.json", kHfConfig);
  s.write("model.yaml", R"(name: tiny-llama
display_name: Tiny Llama
family: llama
source: fuzz scratch file
vocab_size: 32000
hidden_size: 512
layers: 4
max_position: 4096
attention: {kind: gqa, heads: 8, kv_heads: 2, head_dim: 64}
ffn: {kind: gated, activation: silu, hidden: 1376}
)");
}

}  // namespace fathom::fuzz
