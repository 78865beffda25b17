#include "sim/train/validate_at_scale.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <regex>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::train {

namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

std::optional<double> first_number(const std::string& text, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return std::stod(m[1].str());
}

std::string source_tag(const std::string& s) {
  if (has(s, "llm-foundry")) return "llm-foundry";
  if (has(s, "torchtitan")) return "torchtitan";
  if (has(s, "bigscience")) return "bigscience";
  if (has(s, "MegaScale")) return "megascale";
  if (has(s, "Nemotron")) return "nemotron";
  if (has(s, "PyTorch FSDP")) return "fsdp-paper";
  if (has(s, "OPT")) return "opt";
  if (has(s, "LLaMA")) return "llama";
  return "other";
}

model::Precision precision(bool fp8) {
  model::Precision p;  // bf16 weights and activations
  // fp8 GEMMs (Transformer Engine in llm-foundry's amp_fp8, torchao Float8 linears in torchtitan):
  // weights kept in bf16 with an fp8 copy, activations between kernels in bf16 (docs/training.md).
  if (fp8) p.weights = DType::kFp8;
  return p;
}

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

// --- GPUs -----------------------------------------------------------------------------------

struct GpuChoice {
  hw::GpuSpec gpu;
  std::string tag;
  std::string note;  // mapping note, empty when the catalog entry is the GPU as run
};

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

// --- Rows -------------------------------------------------------------------------------------

struct Columns {
  size_t source, model, params, layers, hidden, heads, seq, gpus, gpu_type, tp, pp, dp, cp, batch, micro, recompute,
      achieved, mfu, notes, sharding;
  explicit Columns(const CsvTable& t)
      : source(t.column("source")), model(t.column("model")), params(t.column("params_B")), layers(t.column("layers")),
        hidden(t.column("hidden")), heads(t.column("heads")), seq(t.column("seq_len")), gpus(t.column("gpus")),
        gpu_type(t.column("gpu_type")), tp(t.column("tp")), pp(t.column("pp")), dp(t.column("dp")), cp(t.column("cp")),
        batch(t.column("global_batch")), micro(t.column("microbatch")), recompute(t.column("recompute")),
        achieved(t.column("achieved_tflops_per_gpu")), mfu(t.column("mfu_pct")), notes(t.column("notes")),
        sharding(t.column("sharding")) {}
};

std::optional<double> opt_number(const CsvTable& t, size_t row, size_t col) {
  if (t.cell(row, col).empty()) return std::nullopt;
  return t.number(row, col);
}

int64_t int_or(const CsvTable& t, size_t row, size_t col, int64_t fallback) {
  auto v = opt_number(t, row, col);
  return v ? static_cast<int64_t>(*v) : fallback;
}

double megascale_flops_per_token(double L, double h, double s) {
  // MegaScale's MFU (notes: reproduces its Table 2): model FLOPs without recomputation,
  // 72·l·h²·(1 + s/6h) + 6·V·h per token with V = 64000.
  return 72.0 * L * h * h * (1.0 + s / (6.0 * h)) + 6.0 * 64000.0 * h;
}

// FLOPs per token in the source's own convention (README of the set; each row's notes), used
// only to check that a stated tokens/s and a stated TFLOP/s agree.
std::optional<double> source_flops_per_token(const std::string& source, const std::string& notes, double L, double h,
                                             double s) {
  static const std::regex num_params(R"(NumParams ([0-9]+))");
  static const std::regex gflop(R"(x ([0-9.]+) GFLOP/token)");
  if (source == "llm-foundry") {
    if (auto n = first_number(notes, num_params)) return 6.0 * *n + 12.0 * L * h * s;
  } else if (source == "torchtitan") {
    if (auto g = first_number(notes, gflop)) return *g * 1e9;
  } else if (source == "bigscience") {
    // Narayanan et al. 2021 eq. 3 per token, recomputed forward included, V = 250880.
    return 96.0 * L * h * h * (1.0 + s / (6.0 * h) + 250880.0 / (16.0 * L * h));
  } else if (source == "megascale") {
    return megascale_flops_per_token(L, h, s);
  }
  return std::nullopt;
}

}  // namespace

std::string scale_bucket(int64_t gpus) {
  if (gpus <= 64) return "8-64";
  if (gpus <= 512) return "65-512";
  if (gpus <= 4096) return "513-4096";
  return "4097+";
}

StageSplit torchtitan_split(int64_t layers, int pp, int stages_per_rank) {
  // pytorch/torchtitan@6806473 torchtitan/parallelisms/pipelining_utils.py, generate_split_points:
  // base = layers / stages; the first stage gets base, the next `layers % stages` stages base + 1,
  // the rest base, the last what remains. Stage k runs on rank k mod pp (looped schedules).
  const int64_t stages = static_cast<int64_t>(pp) * stages_per_rank;
  const int64_t base = layers / stages;
  int64_t extra = layers % stages;
  std::vector<int64_t> sizes(static_cast<size_t>(stages), base);
  int64_t used = base;
  for (int64_t k = 1; k + 1 < stages; ++k) {
    if (extra > 0) {
      sizes[static_cast<size_t>(k)] = base + 1;
      --extra;
    }
    used += sizes[static_cast<size_t>(k)];
  }
  sizes.back() = layers - used;
  std::vector<int64_t> rank(static_cast<size_t>(pp), 0);
  for (int64_t k = 0; k < stages; ++k) rank[static_cast<size_t>(k % pp)] += sizes[static_cast<size_t>(k)];
  StageSplit r{rank.front(), pp > 2 ? rank[1] : rank.front(), rank.back()};
  for (int i = 1; i + 1 < pp; ++i) {
    if (rank[static_cast<size_t>(i)] != r.middle) r.middle = -1;
  }
  return r;
}

double op_sac_recompute_fraction(const model::ModelSpec& m) {
  const double h = static_cast<double>(m.hidden_size);
  const double q = h * static_cast<double>(m.attention.heads * m.attention.head_dim);
  const double kv = h * static_cast<double>(m.attention.kv_heads * m.attention.head_dim);
  const double f = h * static_cast<double>(m.ffn.hidden);
  // torchtitan's op-level SAC policy counts aten.mm calls within a block and recomputes every
  // second one (torchtitan/parallelisms/parallelize_llama.py, _custom_policy). In a Llama block
  // the calls are wq, wk, wv, wo, w1, w3, w2 (gated FFN: w2(silu(w1 x) * w3 x)): wk, wo and w3 are
  // recomputed. An MLP block (w1, w2) recomputes w2.
  if (m.ffn.kind == model::FfnKind::kGated) return (kv + q + f) / (2.0 * q + 2.0 * kv + 3.0 * f);
  return (kv + q + f) / (2.0 * q + 2.0 * kv + 2.0 * f);
}

namespace {

// One row while it is mapped: the file's figures, and what the source's mapping fills in.
struct Row {
  Row(AtScaleCase& case_, const std::string& source_, const std::string& notes_, const std::string& sharding_,
      const std::string& recompute_)
      : c(case_), source(source_), notes(notes_), sharding(sharding_), recompute(recompute_) {}
  AtScaleCase& c;
  const std::string& source;  // the file's source text
  const std::string& notes;
  const std::string& sharding;
  const std::string& recompute;
  int64_t L = 0, h = 0, H = 0, s = 0, gpus = 0, B = 0;
  int tp = 0, pp = 0, dp = 0, cp = 1;
  TrainConfig base;  // layout, batch, sequence, stated microbatch
  std::vector<std::string> map_notes, features;
  bool fp8 = false;
  std::string sharding_tag;
};

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

std::string map_llm_foundry(Row& r) {
  r.c.model = mpt_model(r.c.label, r.L, r.h, r.H, r.s);
  TrainConfig& t = r.base;
  if (t.microbatch < 1) return "microbatch not stated";
  apply_sharding(r.sharding, t);
  if (!apply_recompute(r, t, r.L)) return "recompute '" + r.recompute + "' not stated";
  // Composer FSDP mixed precision: DEFAULT reduces gradients in fp32, PURE in bf16.
  t.grad_reduce_dtype = has(r.notes, "mixed-precision mode DEFAULT") ? DType::kFp32 : DType::kBf16;
  r.fp8 = has(r.notes, "amp_fp8");
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
  }
  TrainConfig& base = r.base;
  // bf16 with fp32 gradient reduction (Megatron sets accumulate_allreduce_grads_in_fp32 for
  // bf16), FlashAttention, overlapped DP reduction and pipeline transfers (TrainConfig defaults).
  base.framework = Framework::kMegatron;
  base.grad_reduce_dtype = DType::kFp32;
  base.dropout = !nemotron;  // Megatron-LM's default dropout 0.1; neither row states it
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

// Why a row carries no measurement the model can be compared with ("" when it does).
std::string not_comparable(const AtScaleCase& c) {
  if (c.tags.source == "fsdp-paper") {
    return "GPU count not given (a lower bound over 128-512 GPUs) and no FLOP convention stated: no tokens/s to compare";
  }
  if (c.tags.source == "opt") {
    return "no FLOP convention stated and 147 TFLOP/s is an 'up to' peak: no tokens/s to compare; batch ~1024 not divisible by dp 124";
  }
  if (c.tags.source == "llama") {
    return "layout not stated (model- and sequence-parallel degrees unknown); custom backward (hand-written selective recompute)";
  }
  if (c.tags.source == "megascale" && has(c.label, "(MegaScale)")) {
    return "MegaScale's own stack: parallel transformer block, sliding-window attention, LAMB, fused operators (no knob)";
  }
  return "";
}

// Measured tokens/s per GPU: stated in the notes (every source mapped here states it or the
// figures it is derived from); MegaScale's 530B rows give only MFU (their Fig. 9 labels), in the
// convention of its Table 2. A stated TFLOP/s that disagrees with it by more than 3% in the
// source's own convention makes the row contradictory.
std::optional<double> measured_tokens(const CsvTable& csv, size_t i, const Columns& col, const Row& r, std::string& why) {
  static const std::regex tokens_re(R"(([0-9]+(?:\.[0-9]+)?) tokens/s/GPU)");
  const double L = static_cast<double>(r.L), h = static_cast<double>(r.h), s = static_cast<double>(r.s);
  std::optional<double> tokens = first_number(r.notes, tokens_re);
  if (!tokens && r.c.tags.source == "megascale") {
    if (auto mfu = opt_number(csv, i, col.mfu)) tokens = *mfu / 100.0 * 312e12 / megascale_flops_per_token(L, h, s);
  }
  if (!tokens || *tokens <= 0) {
    why = "no tokens/s stated and no FLOP convention to derive it from";
    return std::nullopt;
  }
  if (auto ach = opt_number(csv, i, col.achieved)) {
    if (auto fpt = source_flops_per_token(r.c.tags.source, r.notes, L, h, s)) {
      const double derived = *ach * 1e12 / *fpt;
      if (std::fabs(derived / *tokens - 1.0) > 0.03) {
        why = fmt::format("contradictory numbers: {:.1f} tokens/s/GPU stated, {:.1f} from {} TFLOP/s in the source's convention",
                          *tokens, derived, *ach);
        return std::nullopt;
      }
    }
  }
  return tokens;
}

AtScaleCase map_row(const CsvTable& csv, size_t i, const Columns& col, const hw::HardwareCatalog& hardware,
                    const model::ModelCatalog& models) {
  AtScaleCase c;
  c.line = csv.line(i);
  c.label = csv.cell(i, col.model);
  const std::string& source = csv.cell(i, col.source);
  c.tags.source = source_tag(source);
  const auto gpus = opt_number(csv, i, col.gpus);
  c.stated = fmt::format("{} GPUs {} tp{} pp{} dp{} B{} mb{}", gpus ? fmt::format("{}", *gpus) : "?", csv.cell(i, col.gpu_type),
                         csv.cell(i, col.tp), csv.cell(i, col.pp), csv.cell(i, col.dp), csv.cell(i, col.batch),
                         csv.cell(i, col.micro));
  if (auto p = opt_number(csv, i, col.params)) c.stated_params = *p * 1e9;
  c.unmapped = not_comparable(c);
  if (!c.unmapped.empty()) return c;
  if (!gpus) {
    c.unmapped = "GPU count not stated";
    return c;
  }
  auto gpu = map_gpu(csv.cell(i, col.gpu_type), hardware);
  if (!gpu) {
    c.unmapped = "unknown GPU '" + csv.cell(i, col.gpu_type) + "'";
    return c;
  }
  Row r(c, source, csv.cell(i, col.notes), csv.cell(i, col.sharding), csv.cell(i, col.recompute));
  r.gpus = static_cast<int64_t>(*gpus);
  r.L = int_or(csv, i, col.layers, 0);
  r.h = int_or(csv, i, col.hidden, 0);
  r.H = int_or(csv, i, col.heads, 0);
  r.s = int_or(csv, i, col.seq, 0);
  r.B = int_or(csv, i, col.batch, 0);
  r.tp = static_cast<int>(int_or(csv, i, col.tp, 0));
  r.pp = static_cast<int>(int_or(csv, i, col.pp, 0));
  r.dp = static_cast<int>(int_or(csv, i, col.dp, 0));
  r.cp = static_cast<int>(int_or(csv, i, col.cp, 1));
  if (r.tp < 1 || r.pp < 1 || r.dp < 1 || r.B < 1 || static_cast<int64_t>(r.tp) * r.pp * r.dp * r.cp != r.gpus) {
    c.unmapped = fmt::format("layout incomplete or inconsistent: tp{} pp{} dp{} cp{} B{} on {} GPUs", r.tp, r.pp, r.dp, r.cp, r.B, r.gpus);
    return c;
  }
  std::string why;
  const auto tokens = measured_tokens(csv, i, col, r, why);
  if (!tokens) {
    c.unmapped = why;
    return c;
  }
  c.measured_tokens_per_gpu = *tokens;
  c.gpu = gpu->gpu;
  c.tags.gpu = gpu->tag;
  if (!gpu->note.empty()) r.map_notes.push_back(gpu->note);
  const int per_node = static_cast<int>(std::min<int64_t>(r.gpus, 8));
  const int nodes = static_cast<int>((r.gpus + 7) / 8);
  c.cluster = hw::make_cluster(c.gpu, nodes, per_node);
  // The catalog's fabric of the cluster a source ran on, where it has one (MegaScale's own
  // three-tier Clos; Nemotron-4 on DGX H100 SuperPOD nodes), cut to the row's nodes; otherwise
  // nodes of 8 joined by the GPU's own NIC figure.
  if (const char* fabric = c.tags.source == "megascale"  ? "megascale-a100-12k"
                           : c.tags.source == "nemotron" ? "dgx-h100-superpod-16k"
                                                          : nullptr) {
    const hw::ClusterSpec* cl = hardware.find_cluster(fabric);
    if (cl && cl->gpu == c.gpu.name && cl->gpus_per_node == 8 && cl->nodes >= nodes) {
      c.cluster = *cl;
      c.cluster.nodes = nodes;
      r.map_notes.push_back(std::string("fabric ") + fabric);
    }
  }
  r.base.layout.tp = r.tp;
  r.base.layout.pp = r.pp;
  r.base.layout.dp = r.dp;
  r.base.layout.cp = r.cp;
  r.base.layout.gpus_per_node = per_node;
  r.base.seq_len = r.s;
  r.base.global_batch = r.B;
  r.base.microbatch = int_or(csv, i, col.micro, 0);
  r.sharding_tag = r.sharding.empty() ? "unstated" : r.sharding;
  std::string unmapped;
  if (c.tags.source == "llm-foundry") {
    unmapped = map_llm_foundry(r);
  } else if (c.tags.source == "torchtitan") {
    unmapped = map_torchtitan(r, models);
  } else if (c.tags.source == "bigscience") {
    unmapped = map_bigscience(r);
  } else if (c.tags.source == "megascale" || c.tags.source == "nemotron") {
    unmapped = map_megatron(r, models);
  } else {
    unmapped = "no mapping for source '" + source + "'";
  }
  if (!unmapped.empty()) {
    c.unmapped = unmapped;
    c.candidates.clear();
    return c;
  }
  c.precision = precision(r.fp8);
  c.tags.dtype = r.fp8 ? "fp8" : "bf16";
  c.tags.sharding = r.sharding_tag;
  c.tags.scale = scale_bucket(r.gpus);
  c.tags.framework = to_string(framework_of(c.candidates.front()));
  c.built_params = model::count_params(c.model).total;
  for (const auto& n : r.map_notes) c.mapping += (c.mapping.empty() ? "" : "; ") + n;
  for (const auto& f : r.features) c.features += (c.features.empty() ? "" : ", ") + f;
  return c;
}

}  // namespace

std::vector<AtScaleCase> map_at_scale(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                      const model::ModelCatalog& models) {
  const CsvTable csv = CsvTable::load(csv_path);
  const Columns col(csv);
  std::vector<AtScaleCase> out;
  out.reserve(csv.rows());
  for (size_t i = 0; i < csv.rows(); ++i) out.push_back(map_row(csv, i, col, hardware, models));
  return out;
}

ValidationTable validate_at_scale(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                  const model::ModelCatalog& models) {
  ValidationTable t;
  t.name = "at-scale";
  t.source = "public at-scale set (training_at_scale.csv): llm-foundry MPT, torchtitan Llama, BigScience BLOOM, "
             "MegaScale's Megatron-LM baseline, Nemotron-4 340B, PyTorch FSDP, OPT, LLaMA";
  t.metric = "tokens/s per GPU (measured as published; predicted: tokens per step / step time / GPUs)";
  std::error_code ec;
  if (!fs::exists(csv_path, ec)) {
    t.skipped = true;
    t.skip_reason = "at-scale file not found: " + csv_path;
    return t;
  }
  for (const AtScaleCase& c : map_at_scale(csv_path, hardware, models)) {
    ExcludedRow x{c.line, c.label, c.tags.source, c.stated, ""};
    if (c.stated_params > 0 && c.built_params > 0 && std::fabs(c.built_params / c.stated_params - 1.0) > 0.02) {
      ExcludedRow p = x;
      p.reason = fmt::format("params_B {:.3f} vs built model {:.3f} ({:+.1f}%)", c.stated_params / 1e9, c.built_params / 1e9,
                             100 * (c.built_params / c.stated_params - 1.0));
      t.param_mismatches.push_back(p);
    }
    if (!c.unmapped.empty()) {
      x.reason = c.unmapped;
      t.unmapped.push_back(x);
      continue;
    }
    const int64_t gpus = c.candidates.front().gpus();
    TrainModel tm(c.model, c.gpu, c.cluster, c.precision, {}, hw::CollectiveAlgo::kAuto, 0, c.gpu.calibrated_profile);
    std::optional<TrainResult> best;
    std::optional<Infeasible> first_problem;
    for (const TrainConfig& cand : c.candidates) {
      if (auto bad = check_config(c.model, cand, gpus)) {
        if (!first_problem) first_problem = bad;
        continue;
      }
      TrainResult r = tm.evaluate(cand);
      if (!r.feasible()) {
        if (!first_problem) first_problem = r.infeasible;
        continue;
      }
      if (!best || r.tokens_per_s > best->tokens_per_s) best = std::move(r);
    }
    if (!best) {
      x.config = describe(c.candidates.front(), c.model);
      x.reason = first_problem ? first_problem->field + ": " + first_problem->reason : "no configuration evaluated";
      t.rejected.push_back(x);
      continue;
    }
    ValidationRow row;
    row.label = c.label;
    row.line = c.line;
    row.tags = c.tags;
    row.tags.framework = to_string(framework_of(best->config));
    row.config = fmt::format("{} GPUs {}{}", gpus, describe(best->config, c.model), c.tags.dtype == "fp8" ? " fp8" : "");
    if (!c.mapping.empty()) row.config += " (" + c.mapping + ")";
    if (!c.features.empty()) row.config += " [no knob: " + c.features + "]";
    row.measured = c.measured_tokens_per_gpu;
    row.predicted = best->tokens_per_s / static_cast<double>(gpus);
    row.error = row.predicted / row.measured - 1.0;
    t.rows.push_back(row);
  }
  t.summarise();
  return t;
}

}  // namespace fathom::train
