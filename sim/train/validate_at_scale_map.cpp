#include "sim/train/validate_at_scale_map.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "common/error.h"
#include "hw/efficiency.h"
#include "sim/model/params.h"

namespace fathom::train::at_scale {

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

std::optional<double> first_number(const std::string& text, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return std::stod(m[1].str());
}

model::Precision precision(bool fp8) {
  model::Precision p;  // bf16 weights and activations
  // fp8 GEMMs (Transformer Engine in llm-foundry's amp_fp8, torchao Float8 linears in torchtitan):
  // weights kept in bf16 with an fp8 copy, activations between kernels in bf16 (docs/training.md).
  if (fp8) p.weights = DType::kFp8;
  return p;
}

namespace {

// --- Model shapes -----------------------------------------------------------------------------

// MPT as benchmarked by llm-foundry (scripts/train/yamls/pretrain/mpt-*.yaml: d_model, n_heads,
// n_layers, expansion_ratio 4, vocab 50368; MPTConfig defaults for what the yamls leave out:
// learned positions of max_seq_len, biases, LayerNorm, tied embeddings, no ALiBi). The logged
// NumParams of every row (its notes) equals this model's count, position table included.
model::ModelSpec mpt_model(const std::string& name, int64_t layers, int64_t hidden, int64_t heads, int64_t seq) {
  model::ModelSpec m = gpt_model(name, layers, hidden, heads, 50368, seq);
  m.family = "mpt";
  m.source = "mosaicml/llm-foundry@8c8dd48 scripts/train/yamls/pretrain/mpt-*.yaml and MPTConfig defaults";
  return m;
}

// BLOOM and its pre-run candidates (bigscience tr11-176B-ml.slurm: ALiBi positions, embedding
// LayerNorm, vocabulary padded to 250880, bf16; Megatron-DeepSpeed GPT block: MHA, GeLU MLP 4h,
// biases, LayerNorm, tied embeddings). ALiBi adds no parameters (PositionKind::kNone); the
// embedding LayerNorm (2h parameters) has no field and is left out.
model::ModelSpec bloom_model(const std::string& name, int64_t layers, int64_t hidden, int64_t heads) {
  model::ModelSpec m = gpt_model(name, layers, hidden, heads, 250880, 2048);
  m.family = "bloom";
  m.position = model::PositionKind::kNone;
  m.source = "bigscience-workshop/bigscience@9e64ede train/tr11-176B-ml/tr11-176B-ml.slurm";
  return m;
}

// Catalog entries for the Llama rows. Llama 3 8B/70B have the shapes of Llama 3.1 8B/70B (only
// the RoPE scaling and context differ), so they reuse those entries.
const char* llama_catalog_name(const std::string& label) {
  if (label == "Llama-3.1-8B" || label == "Llama-3-8B") return "llama-3.1-8b";
  if (label == "Llama-3.1-70B" || label == "Llama-3-70B") return "llama-3.1-70b";
  if (label == "Llama-3.1-405B") return "llama-3.1-405b";
  if (label == "Llama-2-13B") return "llama-2-13b";
  if (label == "Llama-2-70B") return "llama-2-70b";
  return nullptr;
}

}  // namespace

// --- GPUs -----------------------------------------------------------------------------------

std::optional<GpuChoice> map_gpu(const std::string& type, const hw::HardwareCatalog& hardware) {
  auto pick = [&](const char* name) -> std::optional<GpuChoice> {
    const hw::GpuSpec* g = hardware.find_gpu(name);
    if (!g) return std::nullopt;
    return GpuChoice{*g, name, ""};
  };
  if (type == "A100-40GB") return pick("a100-sxm-40gb");
  if (type == "A100-80GB") return pick("a100-sxm-80gb");
  if (type == "H100-80GB") return pick("h100-sxm");
  if (type == "H200") return pick("h200-sxm");
  if (type.rfind("H100-96GB-HBM2e", 0) == 0 || type.rfind("H100-HBM2e", 0) == 0) {
    // torchtitan's Grand Teton H100s: 96 GB HBM2e at 500 W (benchmarks/llama3_h100_202412_torchtitan.md;
    // docs/performance.md calls them "94/95GB HBM2e, lower TDP" with a lower true peak than SXM).
    // No datasheet gives their peaks or bandwidth: h100-sxm figures with 96 GiB and 500 W, so
    // predictions for these rows lean fast.
    auto c = pick("h100-sxm");
    if (!c) return c;
    c->gpu.name = "h100-96gb-hbm2e";
    c->gpu.display_name = "NVIDIA H100 96GB HBM2e 500 W (h100-sxm peaks)";
    c->gpu.memory_bytes = 96.0 * 1073741824.0;
    c->gpu.tdp_W = 500;
    c->tag = "h100-96gb-hbm2e";
    c->note = "H100 96GB HBM2e 500W as h100-sxm peaks";
    return c;
  }
  if (type == "NVIDIA-Ampere (model not named)") {
    // MegaScale names only "NVIDIA Ampere"; the A100's 312 TFLOP/s reproduces its MFU (notes).
    auto c = pick("a100-sxm-80gb");
    if (c) c->note = "Ampere GPU taken as A100-80GB";
    return c;
  }
  return std::nullopt;
}

namespace {

// --- Pipeline splits ------------------------------------------------------------------------

// Megatron-DeepSpeed's pipeline partition (DeepSpeed PipelineModule, partition_balanced over a
// 0/1 weight per layer): the largest stage holds ceil(units / pp) units; with
// 'type:transformer|embedding' (BLOOM's final run and the candidates from 02-28) the embedding
// and the tied LM head count as one unit on the first and last stage. Returns {first, last} with
// the middle stages equal, or {0, 0} for an even split.
std::optional<std::pair<int64_t, int64_t>> deepspeed_split(int64_t layers, int pp, bool embedding_units) {
  if (pp < 2) return std::pair<int64_t, int64_t>{0, 0};
  if (!embedding_units && layers % pp == 0) return std::pair<int64_t, int64_t>{0, 0};
  const int64_t extra = embedding_units ? 2 : 0;
  const int64_t units = layers + extra;
  const int64_t mid = (units + pp - 1) / pp;
  const int64_t ends = units - static_cast<int64_t>(pp - 2) * mid;  // units on the first and last stage
  const int64_t f = ends / 2 - (embedding_units ? 1 : 0);
  const int64_t l = ends - ends / 2 - (embedding_units ? 1 : 0);
  if (f < 1 || l < 1 || f > mid || l > mid) return std::nullopt;
  if (f == mid && l == mid) return std::pair<int64_t, int64_t>{0, 0};
  return std::pair<int64_t, int64_t>{f, l};
}

// --- Describing a configuration ---------------------------------------------------------------

std::string recompute_text(const TrainConfig& c, int64_t stage_layers) {
  switch (c.recompute) {
    case model::Recompute::kNone: return "rc none";
    case model::Recompute::kSelective: return "rc sel";
    case model::Recompute::kFull:
      return c.recompute_layers > 0 ? fmt::format("rc full {}/{}", c.recompute_layers, stage_layers) : "rc full";
  }
  return "rc ?";
}

}  // namespace

std::string describe(const TrainConfig& c, const model::ModelSpec& m) {
  const auto& L = c.layout;
  std::string s = fmt::format("tp{} pp{} dp{}", L.tp, L.pp, L.dp);
  if (L.cp > 1) s += fmt::format(" cp{}", L.cp);
  s += fmt::format(" mb{} B{} s{}", c.microbatch, c.global_batch, c.seq_len);
  if (c.virtual_stages > 1) s += fmt::format(" v{}", c.virtual_stages);
  if (c.first_stage_layers > 0) s += fmt::format(" ends {}/{}", c.first_stage_layers, c.last_stage_layers);
  s += " " + recompute_text(c, (m.layers + L.pp - 1) / L.pp);
  s += fmt::format(" z{}", c.zero);
  if (c.zero == 3 && !c.reshard_after_forward) s += " no-reshard";
  if (L.sequence_parallel) s += " sp";
  if (c.overlap_tp) s += " tp-overlap";
  if (!c.flash_attention) s += " no-flash";
  return s;
}


namespace {

// Sharding as the set's README defines its values.
void apply_sharding(const std::string& sharding, TrainConfig& t) {
  if (sharding == "fsdp-full" || sharding == "fsdp") {
    t.zero = 3;
    t.reshard_after_forward = true;
    t.framework = Framework::kFsdp;
  } else if (sharding == "fsdp-grad-op") {
    t.zero = 3;
    t.reshard_after_forward = false;
    t.framework = Framework::kFsdp;
  } else if (sharding == "zero1") {
    t.zero = 1;
    t.framework = Framework::kMegatron;
  }
}

// Recomputation as the README defines its values; false when not stated or not known.
bool apply_recompute(Row& r, TrainConfig& t, int64_t stage_layers) {
  if (r.recompute == "full") {
    t.recompute = model::Recompute::kFull;
  } else if (r.recompute == "none") {
    t.recompute = model::Recompute::kNone;
  } else if (r.recompute == "selective-op") {
    // Op-level SAC recomputes every second GEMM of a block and saves the attention output:
    // taken as full recomputation of the same share of the stage's layers (the same recomputed
    // GEMM FLOPs; the attention core is recomputed in neither).
    const double f = op_sac_recompute_fraction(r.c.model);
    t.recompute = model::Recompute::kFull;
    t.recompute_layers = std::max<int64_t>(1, std::llround(f * static_cast<double>(stage_layers)));
    r.map_notes.push_back(fmt::format("sel-op as full {}/{} ({:.0f}% of GEMMs)", t.recompute_layers, stage_layers, 100 * f));
  } else if (r.recompute == "selective-layer") {
    // torchtitan selective_ac_option "2" (the default then): every second block checkpointed.
    t.recompute = model::Recompute::kFull;
    t.recompute_layers = std::max<int64_t>(1, stage_layers / 2);
  } else {
    return false;
  }
  return true;
}

// A run on FlashAttention 1: FlashAttention-2 is about 2x faster than FlashAttention (Dao 2023,
// abstract and Fig. 4-6), so the GPU's FlashAttention-2 rate is halved.
void use_flash_attention_1(Row& r) {
  const double fa2 = r.c.gpu.measured.attention_bf16_flops ? *r.c.gpu.measured.attention_bf16_flops
                                                           : hw::DefaultEfficiencyOptions{}.attention * r.c.gpu.peak(DType::kBf16);
  r.c.gpu.measured.attention_bf16_flops = 0.5 * fa2;
  r.map_notes.push_back("FlashAttention 1");
}

}  // namespace

std::string map_llm_foundry(Row& r) {
  r.c.model = mpt_model(r.c.label, r.L, r.h, r.H, r.s);
  TrainConfig& t = r.base;
  if (t.microbatch < 1) return "microbatch not stated";
  apply_sharding(r.sharding, t);
  if (!apply_recompute(r, t, r.L)) return "recompute '" + r.recompute + "' not stated";
  // Composer FSDP mixed precision: DEFAULT reduces gradients in fp32, PURE in bf16.
  t.grad_reduce_dtype = has(r.notes, "mixed-precision mode DEFAULT") ? DType::kFp32 : DType::kBf16;
  r.fp8 = has(r.notes, "amp_fp8");
  // FlashAttention 1: MPT's flash attention of that time asks for flash-attn 1.0.3.post0
  // (llmfoundry/models/layers/attention.py, flash_attn_fn) and its fp8 path for
  // TransformerEngine, which requires flash-attn 1.0.6.
  use_flash_attention_1(r);
  r.c.candidates.push_back(t);
  return "";
}

std::string map_torchtitan(Row& r, const model::ModelCatalog& models) {
  const char* name = llama_catalog_name(r.c.label);
  const model::ModelSpec* m = name ? models.find(name) : nullptr;
  if (!m) return "no catalog model for '" + r.c.label + "'";
  if (m->layers != r.L || m->hidden_size != r.h || m->attention.heads != r.H) {
    return fmt::format("shape l{} h{} a{} differs from the catalog's {}", r.L, r.h, r.H, name);
  }
  r.c.model = *m;
  TrainConfig& t = r.base;
  // Interleaved 1F1B runs 2 stages per rank by default (generate_split_points), and the number
  // of microbatches defaults to the pipeline degree (build_pipeline_schedule;
  // torchtitan/parallelisms/pipelining_utils.py at 6806473).
  const int v = has(r.notes, "Interleaved 1F1B") ? 2 : 1;
  if (t.microbatch < 1) {
    const int64_t per_rank = r.B / r.dp;
    const int64_t micro = r.pp > 1 ? r.pp : 1;
    if (per_rank % micro != 0 || per_rank < micro) return "microbatch not stated and not derivable";
    t.microbatch = per_rank / micro;
    r.map_notes.push_back(r.pp > 1 ? fmt::format("mb = local batch / {} PP microbatches", r.pp) : "mb = local batch");
  }
  int64_t stage_layers = r.L;
  if (r.pp > 1) {
    t.virtual_stages = v;
    stage_layers = r.L / r.pp;
    if (r.L % (static_cast<int64_t>(r.pp) * v) != 0) {
      const StageSplit sp = torchtitan_split(r.L, r.pp, v);
      if (sp.middle < 0) return "torchtitan's default split leaves unequal middle stages";
      t.first_stage_layers = sp.first;
      t.last_stage_layers = sp.last;
      stage_layers = sp.middle;
    }
  }
  apply_sharding(r.sharding, t);
  if (!apply_recompute(r, t, stage_layers)) return "recompute '" + r.recompute + "' not stated";
  // torchtitan defaults: FSDP2 reduces gradients in fp32 (training.mixed_precision_reduce), TP
  // with sequence parallelism on the norms, context parallelism by all-gathering K and V
  // (experimental.context_parallel_rotate_method = allgather).
  t.grad_reduce_dtype = DType::kFp32;
  t.layout.sequence_parallel = r.tp > 1;
  t.cp_kind = CpKind::kAllGather;
  static const std::regex fp8_re(R"(\+ Float8|optimizations: Float8|quantization float8|float8 linears)");
  static const std::regex async_re(R"(AsyncTP|[Aa]sync TP)");
  r.fp8 = std::regex_search(r.notes, fp8_re);
  t.overlap_tp = r.tp > 1 && std::regex_search(r.notes, async_re);
  if (has(r.notes, "torch.compile")) r.features.push_back("compile");
  if (has(r.notes, "float8 rowwise")) r.features.push_back("fp8 rowwise");
  if (has(r.notes, "FSDP float8 all-gather")) r.features.push_back("fp8 all-gather");
  if (t.overlap_tp) r.features.push_back("async TP as overlap_tp");
  r.c.candidates.push_back(t);
  return "";
}

std::string map_bigscience(Row& r) {
  r.c.model = bloom_model(r.c.label, r.L, r.h, r.H);
  TrainConfig t = megatron_2021_config();
  t.layout = r.base.layout;
  t.seq_len = r.s;
  t.global_batch = r.B;
  t.microbatch = r.base.microbatch;
  if (t.microbatch < 1) return "microbatch not stated";
  // tr11-176B-ml.slurm: bf16 with BF16_Optimizer (ZeRO-1 with fp32 gradient accumulation and
  // reduction), full activation checkpointing, Megatron-DeepSpeed's default dropout 0.1 (the
  // script sets none), fused softmax (no FlashAttention), DeepSpeed's pipeline engine (no
  // overlap of gradient reduction or pipeline transfers: megatron_2021_config). The candidates
  // measured before the BF16_Optimizer switch keep fp16 reduction.
  apply_sharding(r.sharding, t);
  t.recompute = model::Recompute::kFull;
  if (!has(r.notes, "before the BF16_Optimizer")) t.grad_reduce_dtype = DType::kFp32;
  const bool production = has(r.source, "README.md");
  const bool embedding_units = production || has(r.notes, "embedding-aware");
  auto split = deepspeed_split(r.L, r.pp, embedding_units);
  if (!split) return fmt::format("no stage split of {} layers over pp{} with equal middle stages", r.L, r.pp);
  t.first_stage_layers = split->first;
  t.last_stage_layers = split->second;
  if (embedding_units) r.map_notes.push_back("embedding-aware PP split");
  if (production) r.features.push_back("CUDA_LAUNCH_BLOCKING=1");
  r.features.push_back("embedding LayerNorm");
  // Jean Zay (notes): 4 × 100 Gb/s Omni-Path per node of 8 A100 = 50 Gb/s per GPU.
  if (r.c.cluster.levels.size() > 1) r.c.cluster.levels[1].bandwidth_per_direction_Bps = 50e9 / 8.0;
  r.map_notes.push_back("50 Gb/s per GPU");
  r.c.candidates.push_back(t);
  return "";
}

// MegaScale's Megatron-LM baseline (commit 285068c8) and Nemotron-4 (Megatron-Core): the rows
// state TP, PP (and MegaScale's virtual stages) but not the microbatch, the recomputation,
// sequence parallelism or (MegaScale) the distributed optimizer; the fastest feasible of those
// is taken.
std::string map_megatron(Row& r, const model::ModelCatalog& models) {
  const bool nemotron = r.c.tags.source == "nemotron";
  if (nemotron) {
    // data/models/nemotron-4-340b.yaml (the report's Table 1 and NVIDIA's config).
    const model::ModelSpec* m = models.find("nemotron-4-340b");
    if (!m || m->layers != r.L || m->hidden_size != r.h || m->attention.heads != r.H) {
      return fmt::format("shape l{} h{} a{} differs from the catalog's nemotron-4-340b (or it is absent)", r.L, r.h, r.H);
    }
    r.c.model = *m;
  } else {
    // MegaScale Table 1: GPT-style 175B (h 12288, 128 heads) and 530B, vocabulary 64000.
    r.c.model = gpt_model(r.c.label, r.L, r.h, r.H, 64000, r.s);
    r.c.model.source = "Jiang et al. MegaScale, NSDI 2024 (arXiv 2402.15627v1) Table 1";
    // The baseline commit 285068c8 is the merge of FlashAttention into Megatron-LM (January
    // 2023): `--use-flash-attn` calls flash-attn 1's flash_attn_unpadded_func (its help cites
    // arXiv 2205.14135), and FlashAttention-2, which MegaScale lists among its own operator
    // changes, came in July 2023. The fastest attention that baseline could run is FlashAttention 1.
    use_flash_attention_1(r);
  }
  TrainConfig& base = r.base;
  // bf16 with fp32 gradient reduction (Megatron sets accumulate_allreduce_grads_in_fp32 for
  // bf16), FlashAttention, overlapped DP reduction and pipeline transfers (TrainConfig defaults).
  base.framework = Framework::kMegatron;
  base.grad_reduce_dtype = DType::kFp32;
  base.dropout = !nemotron;  // Megatron-LM's default dropout 0.1; neither row states it
  if (!nemotron) {
    // Nor could the baseline overlap its data-parallel or pipeline communication: Megatron-LM
    // added --overlap-p2p-communication in May 2023 (f9283c5a) and --overlap-grad-reduce in August
    // 2023 (2d5220a4), after 285068c8; gradients were reduced after the backward pass.
    base.overlap_dp = false;
    base.overlap_pp = false;
  }
  static const std::regex virtual_re(R"(interleaved with ([0-9]+) virtual stages)");
  std::vector<int> vs;
  if (auto stated_v = first_number(r.notes, virtual_re)) {
    vs.push_back(static_cast<int>(*stated_v));
  } else if (has(r.notes, "with interleaving")) {
    for (int v = 2; v <= r.L / r.pp; ++v) {
      if ((r.L / r.pp) % v == 0) vs.push_back(v);
    }
    r.map_notes.push_back("v searched");
  } else {
    vs.push_back(1);
  }
  const std::vector<int> zeros = nemotron ? std::vector<int>{1} : std::vector<int>{0, 1};
  if (nemotron) r.sharding_tag = "zero1";
  const std::vector<int64_t> mbs = base.microbatch > 0 ? std::vector<int64_t>{base.microbatch} : std::vector<int64_t>{1, 2, 4, 8};
  std::vector<model::Recompute> rcs{model::Recompute::kSelective, model::Recompute::kFull};
  if (!r.recompute.empty()) {
    if (!apply_recompute(r, base, r.L / r.pp)) return "recompute '" + r.recompute + "' not mapped";
    rcs = {base.recompute};
  }
  r.map_notes.push_back(nemotron ? "mb, recompute, SP searched" : "mb, recompute, SP, zero 0/1 searched");
  for (int v : vs) {
    for (int64_t mb : mbs) {
      for (model::Recompute rc : rcs) {
        for (bool sp : {false, true}) {
          for (int z : zeros) {
            TrainConfig t = base;
            t.virtual_stages = v;
            t.microbatch = mb;
            t.recompute = rc;
            t.layout.sequence_parallel = sp && r.tp > 1;
            t.zero = z;
            r.c.candidates.push_back(t);
          }
        }
      }
    }
  }
  return "";
}


}  // namespace fathom::train::at_scale
