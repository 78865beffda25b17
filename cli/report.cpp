#include "cli/report.h"
#include "cli/table.h"

#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/version.h"
#include "sim/model/params.h"

namespace fathom::cli {

using nlohmann::json;

Format parse_format(const std::string& s) {
  if (s == "table") return Format::kTable;
  if (s == "json") return Format::kJson;
  if (s == "csv") return Format::kCsv;
  throw FlagError("--format", "expected table, json or csv, found '" + s + "'");
}

namespace {

std::string tflops(double f) { return f > 0 ? fmt::format("{:.1f}", f / 1e12) : "-"; }

}  // namespace

void report_gpus(std::ostream& os, const hw::HardwareCatalog& c, Format f) {
  if (f == Format::kJson) {
    json arr = json::array();
    for (const auto& g : c.gpus()) {
      json peaks;
      for (DType t : kAllDTypes)
        if (g.supports(t)) peaks[to_string(t)] = g.peak(t);
      arr.push_back({{"name", g.name},
                     {"display_name", g.display_name},
                     {"vendor", g.vendor},
                     {"peak_flops", peaks},
                     {"memory_bytes", g.memory_bytes},
                     {"memory_bandwidth_Bps", g.memory_bw_Bps},
                     {"l2_bytes", g.l2_bytes},
                     {"compute_units", g.compute_units},
                     {"tdp_W", g.tdp_W},
                     {"intra_node", {{"kind", g.intra_node.kind},
                                     {"bandwidth_per_direction_Bps", g.intra_node.bandwidth_per_direction_Bps},
                                     {"gpus_per_node", g.intra_node.gpus_per_node}}},
                     {"network_bandwidth_per_gpu_Bps", g.network_bw_per_gpu_Bps},
                     {"usd_per_gpu_hour", g.usd_per_gpu_hour}});
    }
    os << json{{"context", context("catalog gpus")}, {"gpus", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  Table t{{"name", "vendor", "bf16 TFLOP/s", "fp8 TFLOP/s", "fp4 TFLOP/s", "memory", "mem BW", "link", "link BW/dir", "GPUs/node", "TDP", "$/GPU-h"},
          {false, false, true, true, true, true, true, false, true, true, true, true},
          {}};
  for (const auto& g : c.gpus()) {
    t.rows.push_back({g.name, g.vendor, tflops(g.peak(DType::kBf16)), tflops(g.peak(DType::kFp8)),
                      tflops(g.peak(DType::kFp4)), format_bytes(g.memory_bytes), format_rate(g.memory_bw_Bps),
                      g.intra_node.kind, format_rate(g.intra_node.bandwidth_per_direction_Bps),
                      std::to_string(g.intra_node.gpus_per_node), g.tdp_W > 0 ? fmt::format("{:.0f} W", g.tdp_W) : "-",
                      g.usd_per_gpu_hour > 0 ? fmt::format("{:.2f}", g.usd_per_gpu_hour) : "-"});
  }
  if (f == Format::kCsv) {
    os << "name,vendor,bf16_flops,fp8_flops,fp4_flops,memory_bytes,memory_bandwidth_Bps,link,link_bandwidth_Bps,gpus_per_node,tdp_W,usd_per_gpu_hour\n";
    for (const auto& g : c.gpus()) {
      os << fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{:.6g},{},{:.6g},{:.6g}\n", g.name, g.vendor,
                        g.peak(DType::kBf16), g.peak(DType::kFp8), g.peak(DType::kFp4), g.memory_bytes, g.memory_bw_Bps,
                        g.intra_node.kind, g.intra_node.bandwidth_per_direction_Bps, g.intra_node.gpus_per_node,
                        g.tdp_W, g.usd_per_gpu_hour);
    }
    return;
  }
  t.print(os);
}

void report_clusters(std::ostream& os, const hw::HardwareCatalog& c, Format f) {
  if (f == Format::kJson) {
    json arr = json::array();
    for (const auto& cl : c.clusters()) {
      json levels = json::array();
      for (const auto& l : cl.levels)
        levels.push_back({{"name", l.name}, {"bandwidth_per_direction_Bps", l.bandwidth_per_direction_Bps}, {"latency_s", l.latency_s}});
      arr.push_back({{"name", cl.name}, {"gpu", cl.gpu}, {"nodes", cl.nodes}, {"gpus_per_node", cl.gpus_per_node},
                     {"topology", cl.topology}, {"oversubscription", cl.oversubscription}, {"levels", levels}});
    }
    os << json{{"context", context("catalog clusters")}, {"clusters", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "name,gpu,nodes,gpus_per_node,topology,oversubscription\n";
    for (const auto& cl : c.clusters())
      os << fmt::format("{},{},{},{},{},{}\n", cl.name, cl.gpu, cl.nodes, cl.gpus_per_node, cl.topology, cl.oversubscription);
    return;
  }
  Table t{{"name", "gpu", "nodes", "GPUs/node", "GPUs", "topology", "levels"}, {false, false, true, true, true, false, false}, {}};
  for (const auto& cl : c.clusters()) {
    std::string lv;
    for (const auto& l : cl.levels)
      lv += (lv.empty() ? "" : "; ") + fmt::format("{} {} {}", l.name, format_rate(l.bandwidth_per_direction_Bps), format_seconds(l.latency_s));
    t.rows.push_back({cl.name, cl.gpu, std::to_string(cl.nodes), std::to_string(cl.gpus_per_node),
                      std::to_string(cl.total_gpus()), cl.topology, lv});
  }
  t.print(os);
}

void report_models(std::ostream& os, const model::ModelCatalog& c, Format f) {
  if (f == Format::kJson) {
    json arr = json::array();
    for (const auto& m : c.models()) {
      auto p = model::count_params(m);
      arr.push_back({{"name", m.name}, {"family", m.family}, {"params_total", p.total}, {"params_active", p.active},
                     {"layers", m.layers}, {"hidden_size", m.hidden_size}, {"attention", to_string(m.attention.kind)}});
    }
    os << json{{"context", context("catalog models")}, {"models", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "name,family,params_total,params_active,layers,hidden_size,attention,experts\n";
    for (const auto& m : c.models()) {
      auto p = model::count_params(m);
      os << fmt::format("{},{},{:.6g},{:.6g},{},{},{},{}\n", m.name, m.family, p.total, p.active, m.layers,
                        m.hidden_size, to_string(m.attention.kind), m.moe ? m.moe->experts : 0);
    }
    return;
  }
  Table t{{"name", "family", "params", "active", "layers", "hidden", "attention", "experts", "kind"},
          {false, false, true, true, true, true, false, true, false}, {}};
  for (const auto& m : c.models()) {
    auto p = model::count_params(m);
    std::string kind = m.architecture == model::Architecture::kEncoderDecoder ? "encoder-decoder"
                       : m.ssm                                                ? "hybrid attention+SSM"
                       : m.moe                                                ? "mixture of experts"
                                                                              : "dense decoder";
    t.rows.push_back({m.name, m.family, format_count(p.total), format_count(p.active), std::to_string(m.layers),
                      std::to_string(m.hidden_size),
                      fmt::format("{} {}/{}", to_string(m.attention.kind), m.attention.heads, m.attention.kv_heads),
                      m.moe ? fmt::format("{} (top {})", m.moe->experts, m.moe->top_k) : "-", kind});
  }
  t.print(os);
}

void report_model(std::ostream& os, const model::ModelSpec& m, double context_len, Format f) {
  const auto p = model::count_params(m);
  const double fwd = model::forward_flops_per_token(m, context_len);
  const double fwd0 = 2.0 * p.matmul_active;
  std::vector<std::pair<std::string, double>> weights;
  for (DType t : {DType::kFp32, DType::kBf16, DType::kFp8, DType::kInt4}) weights.emplace_back(to_string(t), p.total * dtype_bytes(t));
  if (f == Format::kJson) {
    json w;
    for (const auto& [k, v] : weights) w[k] = v;
    json j{{"context", context("model show")},
           {"model", {{"name", m.name},
                      {"family", m.family},
                      {"source", m.source},
                      {"params_total", p.total},
                      {"params_active", p.active},
                      {"params_embedding", p.embedding},
                      {"params_lm_head", p.lm_head},
                      {"params_attention", p.attention},
                      {"params_ffn_dense", p.ffn_dense},
                      {"params_moe_experts", p.moe_experts},
                      {"params_ssm", p.ssm},
                      {"params_encoder", p.encoder},
                      {"released_params", m.released_params ? json(*m.released_params) : json(nullptr)},
                      {"forward_flops_per_token", fwd},
                      {"forward_flops_per_token_context", context_len},
                      {"train_flops_per_token", 3.0 * fwd},
                      {"kv_cache_bytes_per_token_bf16", model::kv_bytes_per_token(m, DType::kBf16)},
                      {"kv_cache_bytes_per_token_fp8", model::kv_bytes_per_token(m, DType::kFp8)},
                      {"weight_bytes", w}}}};
    os << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "quantity,value\n";
    os << fmt::format("params_total,{:.10g}\nparams_active,{:.10g}\nforward_flops_per_token,{:.10g}\n", p.total, p.active, fwd);
    os << fmt::format("kv_cache_bytes_per_token_bf16,{:.10g}\n", model::kv_bytes_per_token(m, DType::kBf16));
    for (const auto& [k, v] : weights) os << fmt::format("weight_bytes_{},{:.10g}\n", k, v);
    return;
  }
  os << fmt::format("{} ({})\n", m.display_name, m.name);
  os << fmt::format("  source: {}\n", m.source);
  os << fmt::format("  architecture: {}, {} layers, hidden {}, vocab {}, {} attention {} heads / {} KV heads, head dim {}\n",
                    to_string(m.architecture), m.layers, m.hidden_size, m.vocab_size, to_string(m.attention.kind),
                    m.attention.heads, m.attention.kv_heads, m.attention.head_dim);
  if (m.moe) os << fmt::format("  experts: {} routed (top {}) + {} shared, width {}\n", m.moe->experts, m.moe->top_k, m.moe->shared_experts, m.moe->expert_hidden);
  if (m.ssm) os << fmt::format("  hybrid: attention every {} layers (offset {}), Mamba elsewhere\n", m.ssm->attention_period, m.ssm->attention_offset);
  Table t{{"quantity", "value"}, {false, true}, {}};
  t.rows.push_back({"parameters, total", fmt::format("{:.4g} B", p.total / 1e9)});
  t.rows.push_back({"parameters, active per token", fmt::format("{:.4g} B", p.active / 1e9)});
  if (m.released_params) {
    t.rows.push_back({"released total (for comparison)", fmt::format("{:.4g} B ({:+.2f}%)", *m.released_params / 1e9, (p.total / *m.released_params - 1) * 100)});
  }
  t.rows.push_back({"  embedding (+ positions)", fmt::format("{:.4g} B", p.embedding / 1e9)});
  t.rows.push_back({"  LM head", fmt::format("{:.4g} B", p.lm_head / 1e9)});
  t.rows.push_back({"  attention", fmt::format("{:.4g} B", p.attention / 1e9)});
  if (p.ssm > 0) t.rows.push_back({"  Mamba mixers", fmt::format("{:.4g} B", p.ssm / 1e9)});
  t.rows.push_back({"  dense FFN", fmt::format("{:.4g} B", p.ffn_dense / 1e9)});
  if (p.moe_experts > 0) t.rows.push_back({"  experts (all)", fmt::format("{:.4g} B", p.moe_experts / 1e9)});
  if (p.encoder > 0) t.rows.push_back({"  encoder", fmt::format("{:.4g} B", p.encoder / 1e9)});
  t.rows.push_back({fmt::format("forward FLOPs per token (context {:.0f})", context_len), format_flops(fwd)});
  t.rows.push_back({"  of which 2·N (matrix parameters)", format_flops(fwd0)});
  t.rows.push_back({"training FLOPs per token (3× forward)", format_flops(3 * fwd)});
  t.rows.push_back({"KV cache per token, bf16", format_bytes(model::kv_bytes_per_token(m, DType::kBf16))});
  t.rows.push_back({"KV cache per token, fp8", format_bytes(model::kv_bytes_per_token(m, DType::kFp8))});
  for (const auto& [k, v] : weights) t.rows.push_back({"weights in " + k, format_bytes(v)});
  t.print(os);
}

std::string estimate_json(const sim::Scenario& s, const sim::EstimateResult& r) {
  json rows = json::array();
  for (const auto& row : r.rows) {
    const auto& op = row.op;
    json j{{"name", op.name}, {"category", op.category}, {"kind", hw::to_string(op.kind)},
           {"pass", hw::to_string(op.pass)}, {"dtype", to_string(op.dtype)}, {"count", op.count},
           {"time_s", row.total_s}, {"time_per_instance_s", row.cost.time_s}, {"share", row.share},
           {"flops", op.flops * op.count}, {"bytes", op.bytes * op.count},
           {"weight_bytes", op.weight_bytes * op.count}, {"kv_bytes", op.kv_bytes * op.count},
           {"bound", hw::to_string(row.cost.bound)}};
    if (op.kind == hw::OpKind::kGemm) {
      j["shape"] = {op.m, op.n, op.k};
      j["batch"] = op.batch;
    }
    if (op.kind == hw::OpKind::kCollective) {
      j["collective"] = hw::to_string(op.collective);
      j["group"] = op.group;
      j["algorithm"] = hw::to_string(row.cost.algo);
    }
    rows.push_back(j);
  }
  json doc{{"context", context("estimate")},
           {"scenario", {{"file", s.file}, {"name", s.name}, {"model", s.model.name}, {"gpu", s.gpu.name},
                         {"cluster", s.cluster.name}, {"efficiency", sim::efficiency_source(s)}}},
           {"summary", {{"kind", sim::to_string(r.kind)}, {"phase", r.phase}, {"time_s", r.total_s}, {"gpus", r.gpus},
                        {"flops_per_gpu", r.flops}, {"model_flops_per_gpu", r.model_flops}, {"bytes_per_gpu", r.bytes},
                        {"weight_bytes_per_gpu", r.weight_bytes}, {"kv_bytes_per_gpu", r.kv_bytes},
                        {"compute_bound_s", r.compute_bound_s}, {"memory_bound_s", r.memory_bound_s},
                        {"latency_bound_s", r.latency_bound_s}, {"communication_s", r.communication_s},
                        {"idle_s", r.idle_s}, {"tokens", r.tokens}, {"tokens_per_s", r.tokens_per_s}, {"mfu", r.mfu},
                        {"usd_per_million_tokens", r.usd_per_million_tokens},
                        {"train_tokens", r.train_tokens}, {"train_time_s", r.train_time_s},
                        {"gpu_hours", r.gpu_hours}, {"train_usd", r.train_usd},
                        {"memory", {{"weights_bytes", r.memory.weights_bytes}, {"kv_cache_bytes", r.memory.kv_cache_bytes},
                                    {"capacity_bytes", r.memory.capacity_bytes}, {"fits", r.memory.fits()}}},
                        {"notes", r.notes}}},
           {"operations", rows}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

void report_estimate(std::ostream& os, const sim::Scenario& s, const sim::EstimateResult& r, Format f, size_t top) {
  if (f == Format::kJson) {
    os << estimate_json(s, r) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "name,category,kind,pass,dtype,count,time_s,share,flops,bytes,weight_bytes,kv_bytes,bound,m,n,k,batch,collective,group,algorithm\n";
    for (const auto& row : r.rows) {
      const auto& op = row.op;
      const bool coll = op.kind == hw::OpKind::kCollective;
      os << fmt::format("{},{},{},{},{},{:.6g},{:.9g},{:.6g},{:.9g},{:.9g},{:.9g},{:.9g},{},{},{},{},{},{},{},{}\n",
                        csv_field(op.name), op.category, hw::to_string(op.kind), hw::to_string(op.pass), to_string(op.dtype),
                        op.count, row.total_s, row.share, op.flops * op.count, op.bytes * op.count,
                        op.weight_bytes * op.count, op.kv_bytes * op.count, hw::to_string(row.cost.bound), op.m, op.n, op.k,
                        op.batch, coll ? hw::to_string(op.collective) : "", coll ? std::to_string(op.group) : "",
                        coll ? hw::to_string(row.cost.algo) : "");
    }
    return;
  }
  const bool train = r.kind == sim::EstimateKind::kTrainStep;
  os << fmt::format("{} — {} on {} ({})\n", s.name, s.model.name, s.gpu.name, s.cluster.name);
  if (train) {
    const auto& t = *s.train;
    os << fmt::format("one training step: tp {} pp {} dp {} ep {}{}, seq {}, global batch {}, microbatch {} ({} microbatches), recompute {}\n",
                      t.layout.tp, t.layout.pp, t.layout.dp, t.layout.ep, t.layout.sequence_parallel ? " +SP" : "",
                      t.seq_len, t.global_batch, t.microbatch, t.microbatches(), model::to_string(t.recompute));
  } else {
    const auto& sv = *s.serve;
    os << fmt::format("one {} iteration: tp {} pp {} ep {}, {} sequences, {} {}, weights {}, KV cache {}\n", r.phase,
                      sv.layout.tp, sv.layout.pp, sv.layout.ep, sv.sequences, sv.context,
                      sv.phase == model::Phase::kDecode ? "tokens of context" : "prompt tokens",
                      to_string(s.precision.weights), to_string(s.precision.kv_cache));
  }
  os << "kernels priced by " << sim::efficiency_source(s) << "\n";
  os << fmt::format("time {} per GPU; compute-bound {:.1f}%, memory-bound {:.1f}%, latency-bound {:.1f}%, communication {:.1f}%, bubble {:.1f}%\n",
                    format_seconds(r.total_s), 100 * r.compute_bound_s / r.total_s, 100 * r.memory_bound_s / r.total_s,
                    100 * r.latency_bound_s / r.total_s, 100 * r.communication_s / r.total_s, 100 * r.idle_s / r.total_s);
  const double other = r.bytes - r.weight_bytes - r.kv_bytes;
  os << fmt::format("bytes moved per GPU {}: weights {:.1f}%, KV cache {:.1f}%, activations and other {:.1f}%\n",
                    format_bytes(r.bytes), 100 * r.weight_bytes / r.bytes, 100 * r.kv_bytes / r.bytes, 100 * other / r.bytes);
  os << fmt::format("FLOPs per GPU {} (model {}); MFU {:.1f}%; {:.4g} tokens/s on {:.0f} GPUs",
                    format_flops(r.flops), format_flops(r.model_flops), 100 * r.mfu, r.tokens_per_s, r.gpus);
  if (r.usd_per_million_tokens > 0) os << fmt::format("; ${:.3g} per million tokens", r.usd_per_million_tokens);
  os << "\n";
  if (r.train_time_s > 0) {
    os << fmt::format("{} tokens: {} on {:.0f} GPUs, {:.4g} GPU-hours, ${:.4g}\n", format_count(r.train_tokens),
                      format_seconds(r.train_time_s), r.gpus, r.gpu_hours, r.train_usd);
  }
  os << fmt::format("memory per GPU: weights {}{}, capacity {}{}\n", format_bytes(r.memory.weights_bytes),
                    r.memory.kv_cache_bytes > 0 ? ", KV cache " + format_bytes(r.memory.kv_cache_bytes) : "",
                    format_bytes(r.memory.capacity_bytes), r.memory.fits() ? "" : " — DOES NOT FIT");
  for (const auto& n : r.notes) os << "note: " << n << "\n";
  os << "\n";

  std::vector<const sim::EstimateRow*> rows;
  for (const auto& row : r.rows) rows.push_back(&row);
  std::stable_sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->total_s > b->total_s; });
  Table t{{"operation", "pass", "kind", "count", "time", "share", "FLOPs", "bytes", "bound", "shape / group"},
          {false, false, false, true, true, true, true, true, false, false}, {}};
  size_t shown = 0;
  double rest_t = 0;
  size_t rest_n = 0;
  for (const auto* row : rows) {
    const auto& op = row->op;
    if (top > 0 && shown >= top) {
      rest_t += row->total_s;
      ++rest_n;
      continue;
    }
    std::string detail;
    if (op.kind == hw::OpKind::kGemm || op.kind == hw::OpKind::kAttention) {
      detail = fmt::format("{}x{}x{}{} {}", op.m, op.n, op.k, op.batch > 1 ? fmt::format(" (x{})", op.batch) : "",
                           to_string(op.dtype));
    }
    if (op.kind == hw::OpKind::kCollective) detail = fmt::format("{} {} GPUs ({})", format_bytes(op.bytes), op.group, hw::to_string(row->cost.algo));
    t.rows.push_back({op.name, hw::to_string(op.pass), op.kind == hw::OpKind::kCollective ? hw::to_string(op.collective) : hw::to_string(op.kind),
                      fmt::format("{:.4g}", op.count), format_seconds(row->total_s), fmt::format("{:.1f}%", 100 * row->share),
                      op.flops > 0 ? format_flops(op.flops * op.count) : "-",
                      op.bytes > 0 ? format_bytes(op.bytes * op.count) : "-", hw::to_string(row->cost.bound), detail});
    ++shown;
  }
  if (rest_n > 0) {
    t.rows.push_back({fmt::format("({} more)", rest_n), "", "", "", format_seconds(rest_t),
                      fmt::format("{:.1f}%", 100 * rest_t / r.total_s), "", "", "", ""});
  }
  t.print(os);
}

}  // namespace fathom::cli
