#include "sim/serve/config.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.h"
#include "common/suggest.h"
#include "common/units.h"
#include "sim/model/params.h"

namespace fathom::serve {

std::string to_string(SchedulerKind k) {
  switch (k) {
    case SchedulerKind::kStatic: return "static";
    case SchedulerKind::kOrca: return "orca";
    case SchedulerKind::kVllm: return "vllm";
    case SchedulerKind::kSarathi: return "sarathi";
    case SchedulerKind::kDisaggregated: return "disaggregated";
  }
  return "?";
}

std::string to_string(Preemption p) { return p == Preemption::kRecompute ? "recompute" : "swap"; }

std::string to_string(RouterKind r) {
  switch (r) {
    case RouterKind::kRoundRobin: return "round_robin";
    case RouterKind::kLeastOutstanding: return "least_outstanding";
    case RouterKind::kLeastKv: return "least_kv";
    case RouterKind::kPrefixAffinity: return "prefix_affinity";
  }
  return "?";
}

double SpecConfig::expected_tokens() const {
  if (acceptance >= 1.0) return tokens + 1.0;
  return (1.0 - std::pow(acceptance, tokens + 1)) / (1.0 - acceptance);
}

namespace {
constexpr double kGiB = 1073741824.0;
// CUDA context, CUDA graphs, communication buffers and allocator slack per GPU: the memory an
// engine holds besides weights, activations and the KV cache (docs/serving.md).
constexpr double kRuntimeBytes = 1.5 * kGiB;
// Input limits (docs/scenario.md). Sequence and block counts are 32-bit in the engine.
constexpr int64_t kMaxSeqs = 1'000'000;
constexpr int64_t kMaxTokenBudget = 1'000'000'000;
constexpr double kMaxSwapBytes = 1125899906842624.0;  // 1 PiB per GPU
constexpr double kMinLinkBps = 1e6;                   // 1 MB/s
constexpr double kMaxLinkLatencyS = 1.0;
const std::vector<std::string> kEngines = {"vllm", "vllm-v0", "sglang", "trtllm"};
const std::vector<std::string> kSchedulers = {"static", "orca", "vllm", "sarathi", "disaggregated"};
const std::vector<std::string> kRouters = {"round_robin", "least_outstanding", "least_kv", "prefix_affinity"};
}  // namespace

ServeConfig engine_preset(const std::string& engine, const hw::GpuSpec& gpu) {
  ServeConfig c;
  c.engine = engine;
  const bool big = gpu.memory_bytes >= 70 * kGiB;
  auto& s = c.scheduler;
  auto& kv = c.kv;
  if (engine == "vllm") {
    // vLLM V1 (0.8 and later): chunked prefill with running requests first under
    // max_num_batched_tokens, prefix caching on, recomputation on preemption. Defaults of the
    // OpenAI server (arg_utils _set_default_args_v1): 8192 tokens and 1024 sequences on GPUs with
    // at least 70 GiB, else 2048 and 256. gpu_memory_utilization 0.9, block size 16.
    s.kind = SchedulerKind::kSarathi;
    s.token_budget = big ? 8192 : 2048;
    s.max_seqs = big ? 1024 : 256;
    kv.block_size = 16;
    kv.memory_fraction = 0.9;
    kv.prefix_caching = true;
    c.iteration_overhead_s = 1.0e-3;
  } else if (engine == "vllm-v0") {
    // vLLM V0 without chunked prefill: prefills first, whole prompts, up to
    // max(max_model_len, 2048) tokens (set when max_model_len is known), 256 sequences,
    // watermark 1%, swap space 4 GiB, prefix caching off.
    s.kind = SchedulerKind::kVllm;
    s.token_budget = 2048;
    s.max_seqs = 256;
    s.watermark = 0.01;
    kv.block_size = 16;
    kv.memory_fraction = 0.9;
    c.iteration_overhead_s = 3.0e-3;
  } else if (engine == "sglang") {
    // SGLang: chunked prefill (chunked_prefill_size 8192 on large GPUs, 2048 on small), radix
    // prefix cache at token granularity (page size 1), mem_fraction_static about 0.88.
    s.kind = SchedulerKind::kSarathi;
    s.token_budget = big ? 8192 : 2048;
    s.max_seqs = 4096;
    kv.block_size = 1;
    kv.memory_fraction = 0.88;
    kv.prefix_caching = true;
    c.iteration_overhead_s = 1.0e-3;
  } else if (engine == "trtllm") {
    // TensorRT-LLM (v0.17, C++ runtime): in-flight batching of whole prompts and decodes under
    // max_num_tokens 8192 and max_batch_size 2048, GUARANTEED_NO_EVICT capacity scheduling,
    // KV cache of 90% of the memory free after weights, 32 tokens per block, block reuse off.
    s.kind = SchedulerKind::kOrca;
    s.token_budget = 8192;
    s.max_seqs = 2048;
    s.reserve_full = true;
    kv.block_size = 32;
    kv.memory_fraction = 0.9;
    kv.of_free = true;
    c.iteration_overhead_s = 0.3e-3;
  } else {
    throw std::invalid_argument(fmt::format("one of {}", fmt::join(kEngines, ", ")));
  }
  return c;
}

ReplicaMemory replica_memory(const model::ModelSpec& mo, const hw::GpuSpec& gpu, const model::Precision& precision,
                             const ServeConfig& c, const model::Layout& L) {
  ReplicaMemory m;
  m.runtime = kRuntimeBytes;
  const auto pc = model::count_params(mo);
  const double wb = dtype_bytes(precision.weights);
  const double shards = static_cast<double>(L.tp) * L.pp;
  // Quantised checkpoints keep the embedding and LM head in 16-bit (TensorRT-LLM and vLLM FP8).
  const double embed = pc.embedding + pc.lm_head;
  m.weights = ((pc.total - embed) * wb + embed * std::max(wb, 2.0)) / shards;
  if (c.spec.draft) {
    const auto dp = model::count_params(*c.spec.draft);
    m.weights += dp.total * wb / shards;
  }
  // Peak activations of the largest iteration (the token budget), as the engine's profiling
  // run measures them: hidden states, the widest MLP intermediate and the QKV projection per
  // token, plus fp32 logits of the sampled sequences.
  const double act = dtype_bytes(precision.activations);
  double width = static_cast<double>(mo.ffn.hidden);
  if (mo.moe) width = std::max(width, static_cast<double>(mo.moe->expert_hidden * mo.moe->top_k));
  const double qkv = static_cast<double>((mo.attention.heads + 2 * mo.attention.kv_heads) * mo.attention.head_dim);
  const double tokens = static_cast<double>(std::min<int64_t>(c.scheduler.token_budget, 1 << 20));
  const double sampled = static_cast<double>(std::min(c.scheduler.max_seqs, c.scheduler.token_budget));
  m.activations = tokens * act * (4.0 * static_cast<double>(mo.hidden_size) + (2.0 * width + qkv) / L.tp) +
                  sampled * static_cast<double>(mo.vocab_size) / L.tp * 4.0;
  m.kv_token = model::kv_bytes_per_token_per_gpu(mo, precision.kv_cache, L.tp, L.pp);
  const double mem = gpu.memory_bytes;
  if (c.kv.of_free) {
    m.kv = c.kv.memory_fraction * (mem - m.weights - m.activations - m.runtime);
  } else {
    m.kv = c.kv.memory_fraction * mem - m.weights - m.activations - m.runtime;
  }
  if (c.kv.blocks) {
    m.blocks = *c.kv.blocks;
    m.kv = static_cast<double>(m.blocks) * static_cast<double>(c.kv.block_size) * m.kv_token;
  } else {
    if (m.kv <= 0 || m.kv_token <= 0) {
      m.problem_key = "parallel";
      m.problem = fmt::format("weights ({:.1f} GiB per GPU), activations ({:.1f} GiB) and runtime ({:.1f} GiB) leave no "
                              "memory for the KV cache on the {:.0f} GiB {}; use more GPUs per replica (tp) or "
                              "lower-precision weights",
                              m.weights / kGiB, m.activations / kGiB, m.runtime / kGiB, mem / kGiB, gpu.name);
      return m;
    }
    const double blocks = std::floor(m.kv / (static_cast<double>(c.kv.block_size) * m.kv_token));
    if (blocks * static_cast<double>(c.kv.block_size) > static_cast<double>(kMaxKvTokens)) {
      m.problem_key = "kv_cache";
      m.problem = fmt::format("the KV cache of a replica would hold {:.3g} tokens, more than the simulator's limit of {}; "
                              "set serve.kv_cache.blocks or lower serve.kv_cache.memory_fraction",
                              blocks * static_cast<double>(c.kv.block_size), kMaxKvTokens);
      return m;
    }
    m.blocks = static_cast<int64_t>(blocks);
  }
  const int64_t capacity = m.blocks * c.kv.block_size;
  const int64_t one = c.kv.compression >= 1
                          ? c.max_model_len
                          : static_cast<int64_t>(std::ceil(c.kv.compression * static_cast<double>(c.max_model_len)));
  if (capacity < one) {
    m.problem_key = "max_model_len";
    m.problem = fmt::format("the KV cache of a replica holds {} tokens, fewer than one request of the maximum model "
                            "length {}; set serve.max_model_len to at most {} or give the replica more memory",
                            capacity, c.max_model_len, capacity);
  }
  return m;
}


namespace {

// Index of the node's value among `names` (in enum order); the error lists them and the closest.
int pick(const YamlNode& n, const std::vector<std::string>& names) {
  const std::string v = n.as_string();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == v) return static_cast<int>(i);
  }
  n.fail(fmt::format("one of {}", fmt::join(names, ", ")) + did_you_mean(v, names));
}

int pool_degree(const YamlNode& p, const char* key, int def) {
  return p.has(key) ? p.small_count(key, 4096) : def;
}

PoolConfig parse_pool(const YamlNode& n, const model::Layout& base, const model::ModelSpec& m) {
  n.expect_keys({"tp", "pp", "ep", "replicas"});
  PoolConfig p;
  p.layout = base;
  p.layout.tp = pool_degree(n, "tp", base.tp);
  p.layout.pp = pool_degree(n, "pp", base.pp);
  p.layout.ep = pool_degree(n, "ep", base.ep);
  p.replicas = pool_degree(n, "replicas", 1);
  model::validate_layout(m, p.layout, n.where(), n.path() + ".");
  return p;
}

}  // namespace

ServeConfig parse_serve_config(const YamlNode& sv, const model::ModelSpec& m, const hw::GpuSpec& gpu,
                               const model::Precision& precision, const model::Layout& layout,
                               const model::ModelCatalog& models) {
  std::string engine = "vllm";
  if (auto e = sv.find("engine")) engine = e->as_string();
  ServeConfig c;
  try {
    c = engine_preset(engine, gpu);
  } catch (const std::invalid_argument& ex) {
    sv.at("engine").fail(ex.what() + did_you_mean(engine, kEngines));
  }
  if (m.encoder) {
    sv.fail_message(fmt::format("serving simulation supports decoder-only models; {} is an encoder–decoder model "
                                "(use fathom estimate for its iterations)", m.name));
  }
  auto par = sv.at("parallel");
  c.replicas = pool_degree(par, "replicas", 1);

  c.max_model_len = m.max_position;
  if (auto l = sv.find("max_model_len")) {
    c.max_model_len = l->as_positive_int();
    if (c.max_model_len > m.max_position) l->fail(fmt::format("at most the model's {} positions", m.max_position));
    if (c.max_model_len > kMaxModelLen) l->fail(fmt::format("at most {} tokens", kMaxModelLen));
    if (c.max_model_len < 2) l->fail("at least 2 tokens");
  } else if (c.max_model_len > kMaxModelLen) {
    sv.fail_message(fmt::format("expected 'max_model_len' (at most {} tokens) for {}, whose {} positions are more than "
                                "the simulator's limit",
                                kMaxModelLen, m.name, m.max_position));
  }
  if (engine == "vllm-v0") c.scheduler.token_budget = std::max<int64_t>(c.max_model_len, 2048);

  if (auto sc = sv.find("scheduler")) {
    sc->expect_keys({"name", "max_seqs", "token_budget", "preemption", "reserve", "watermark"});
    if (auto n = sc->find("name")) {
      c.scheduler.kind = static_cast<SchedulerKind>(pick(*n, kSchedulers));
      if (c.scheduler.kind == SchedulerKind::kOrca || c.scheduler.kind == SchedulerKind::kStatic) c.scheduler.reserve_full = true;
      if (c.scheduler.kind == SchedulerKind::kVllm || c.scheduler.kind == SchedulerKind::kSarathi) c.scheduler.reserve_full = false;
    }
    if (auto v = sc->find("max_seqs")) {
      c.scheduler.max_seqs = v->as_positive_int();
      if (c.scheduler.max_seqs > kMaxSeqs) v->fail(fmt::format("at most {} sequences", kMaxSeqs));
    }
    if (auto v = sc->find("token_budget")) {
      c.scheduler.token_budget = v->as_positive_int();
      if (c.scheduler.token_budget > kMaxTokenBudget) v->fail(fmt::format("at most {} tokens", kMaxTokenBudget));
    }
    if (auto p = sc->find("preemption")) {
      const std::string v = p->as_string();
      if (v == "recompute") c.scheduler.preemption = Preemption::kRecompute;
      else if (v == "swap") c.scheduler.preemption = Preemption::kSwap;
      else p->fail("recompute or swap");
    }
    if (auto r = sc->find("reserve")) {
      const std::string v = r->as_string();
      if (v == "full") c.scheduler.reserve_full = true;
      else if (v == "incremental") c.scheduler.reserve_full = false;
      else r->fail("full (prompt + output at admission) or incremental (as tokens arrive)");
    }
    if (auto w = sc->find("watermark")) {
      c.scheduler.watermark = w->as_nonnegative_number();
      if (c.scheduler.watermark >= 0.5) w->fail("a fraction below 0.5");
    }
  }
  if (auto kv = sv.find("kv_cache")) {
    kv->expect_keys({"block_size", "memory_fraction", "prefix_caching", "compression", "swap_space", "blocks"});
    if (kv->has("block_size")) c.kv.block_size = kv->small_count("block_size", 4096);
    if (auto f = kv->find("memory_fraction")) {
      c.kv.memory_fraction = f->as_positive_number();
      if (c.kv.memory_fraction > 1) f->fail("a fraction in (0, 1]");
    }
    c.kv.prefix_caching = kv->flag_or("prefix_caching", c.kv.prefix_caching);
    if (auto f = kv->find("compression")) {
      c.kv.compression = f->as_positive_number();
      if (c.kv.compression > 1) f->fail("a retained fraction in (0, 1]");
      // A compressed cache keeps different tokens per sequence, so prefixes cannot be shared.
      if (c.kv.compression < 1) {
        if (kv->has("prefix_caching") && c.kv.prefix_caching) {
          f->fail_message("KV compression below 1 cannot be combined with prefix_caching: true (compressed caches "
                          "keep different tokens per sequence)");
        }
        c.kv.prefix_caching = false;
      }
    }
    if (auto f = kv->find("swap_space")) {
      c.kv.swap_bytes = f->as_quantity(Dimension::kBytes);
      if (c.kv.swap_bytes > kMaxSwapBytes) f->fail("at most 1 PiB per GPU");
    }
    if (auto b = kv->find("blocks")) {
      c.kv.blocks = b->as_positive_int();
      if (*c.kv.blocks * c.kv.block_size > kMaxKvTokens) {
        b->fail(fmt::format("at most {} blocks of {} tokens (a KV cache of at most {} tokens per replica)",
                            kMaxKvTokens / c.kv.block_size, c.kv.block_size, kMaxKvTokens));
      }
    }
  }
  if (auto r = sv.find("router")) c.router = static_cast<RouterKind>(pick(*r, kRouters));
  if (auto sp = sv.find("speculative")) {
    sp->expect_keys({"draft", "tokens", "acceptance"});
    const auto d = sp->at("draft");
    const model::ModelSpec* draft = models.find(d.as_string());
    if (!draft) {
      d.fail(fmt::format("a model of the catalog ({})", fmt::join(models.names(), ", ")));
    }
    if (auto p = model::layout_problem(*draft, layout)) {
      d.fail_message(fmt::format("draft model {} does not fit the replica's layout: {}", draft->name, p->message));
    }
    c.spec.draft = *draft;
    if (sp->has("tokens")) c.spec.tokens = sp->small_count("tokens", 16);
    if (auto a = sp->find("acceptance")) {
      c.spec.acceptance = a->as_nonnegative_number();
      if (c.spec.acceptance > 1) a->fail("a probability in [0, 1]");
    }
  }
  if (auto dg = sv.find("disaggregated")) {
    dg->expect_keys({"prefill", "decode", "link"});
    DisaggConfig d;
    d.prefill = parse_pool(dg->at("prefill"), layout, m);
    d.decode = parse_pool(dg->at("decode"), layout, m);
    // Default link: the GPUs' network bandwidth (RDMA between nodes), 10 µs latency.
    d.link_Bps = gpu.network_bw_per_gpu_Bps > 0 ? gpu.network_bw_per_gpu_Bps : 25e9;
    d.link_latency_s = 10e-6;
    if (auto l = dg->find("link")) {
      l->expect_keys({"bandwidth", "latency"});
      if (auto x = l->find("bandwidth")) {
        d.link_Bps = x->as_quantity(Dimension::kByteRate);
        if (d.link_Bps < kMinLinkBps) x->fail("a bandwidth of at least 1 MB/s");
      }
      if (auto x = l->find("latency")) {
        d.link_latency_s = x->as_quantity(Dimension::kTime);
        if (d.link_latency_s > kMaxLinkLatencyS) x->fail("a latency of at most 1 s");
      }
    }
    c.disagg = d;
    c.scheduler.kind = SchedulerKind::kDisaggregated;
  } else if (c.scheduler.kind == SchedulerKind::kDisaggregated) {
    sv.at("scheduler").at("name").fail_message(
        "scheduler 'disaggregated' needs a 'disaggregated:' section with the prefill and decode pools");
  }
  if (auto o = sv.find("iteration_overhead")) {
    c.iteration_overhead_s = o->as_quantity(Dimension::kTime);
    if (c.iteration_overhead_s > 10) o->fail("at most 10 s per iteration");
  }
  if (auto ts = sv.find("timeseries_interval_s")) {
    c.timeseries_interval_s = ts->as_positive_number();
    if (c.timeseries_interval_s < 1e-6 || c.timeseries_interval_s > 1e6) ts->fail("an interval from 1 µs to 1,000,000 s");
  }
  if (auto slo = sv.find("slo")) {
    slo->expect_keys({"ttft_s", "tpot_s", "e2e_s"});
    if (slo->has("ttft_s")) c.slo.ttft_s = slo->at("ttft_s").as_positive_number();
    if (slo->has("tpot_s")) c.slo.tpot_s = slo->at("tpot_s").as_positive_number();
    if (slo->has("e2e_s")) c.slo.e2e_s = slo->at("e2e_s").as_positive_number();
  }
  c.workload = parse_workload(sv.at("workload"), c.max_model_len);
  // Each pool must hold its weights and at least one request of max_model_len.
  auto check = [&](const model::Layout& pl, const char* pool) {
    const ReplicaMemory rm = replica_memory(m, gpu, precision, c, pl);
    if (rm.problem.empty()) return;
    const std::string msg = pool[0] ? std::string(pool) + ": " + rm.problem : rm.problem;
    if (rm.problem_key == "max_model_len" && sv.has("max_model_len")) sv.at("max_model_len").fail_message(msg);
    if ((rm.problem_key == "max_model_len" || rm.problem_key == "kv_cache") && sv.has("kv_cache")) {
      sv.at("kv_cache").fail_message(msg);
    }
    sv.at("parallel").fail_message(msg);
  };
  if (c.disagg) {
    check(c.disagg->prefill.layout, "prefill pool");
    check(c.disagg->decode.layout, "decode pool");
  } else {
    check(layout, "");
  }
  return c;
}

}  // namespace fathom::serve
