// `fathom train` (one layout, or --search over every layout); `fathom validate training` is in
// validate_training_cmd.cpp.
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/units.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "sim/scenario.h"
#include "sim/model/model_catalog.h"
#include "sim/train/search.h"
#include "store/run_store.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string gib(double b) { return fmt::format("{:.1f}", b / 1073741824.0); }

json config_json(const train::TrainConfig& c) {
  const auto& L = c.layout;
  return json{{"gpus", c.gpus()}, {"tp", L.tp}, {"pp", L.pp}, {"dp", L.dp}, {"cp", L.cp},
              {"cp_kind", L.cp_all_to_all ? "all-to-all" : c.cp_kind == train::CpKind::kAllGather ? "all-gather" : "ring"}, {"ep", L.ep}, {"sequence_parallel", L.sequence_parallel},
              {"virtual_stages", c.virtual_stages}, {"first_stage_layers", c.first_stage_layers},
              {"last_stage_layers", c.last_stage_layers}, {"seq_len", c.seq_len}, {"global_batch", c.global_batch},
              {"microbatch", c.microbatch}, {"microbatches", c.microbatches()}, {"recompute", model::to_string(c.recompute)},
              {"recompute_layers", c.recompute_layers}, {"zero", c.zero}, {"optimizer", train::to_string(c.optimizer)},
              {"offload_optimizer", c.offload_optimizer}, {"offload_activations", c.offload_activations},
              {"overlap", {{"tp", c.overlap_tp}, {"dp", c.overlap_dp}, {"pp", c.overlap_pp}}},
              {"flash_attention", c.flash_attention}, {"dropout", c.dropout}, {"grad_reduce", to_string(c.grad_reduce_dtype)},
              {"host_overhead_per_op_s", c.host_overhead_per_op_s}, {"loop_efficiency", c.loop_efficiency}, {"framework", train::to_string(train::framework_of(c))},
              {"shard_group", c.shard_group}, {"reshard_after_forward", c.reshard_after_forward},
              {"prefetch_depth", c.prefetch_depth}};
}

// Each collective of the step: its whole time as if alone, the part hidden behind compute and
// the part exposed on the critical path (docs/training.md, "Overlap").
struct CommRow {
  const char* key;
  const char* label;
  train::CommTerm term;
};
std::vector<CommRow> comm_rows(const train::TimeBreakdown& T) {
  return {{"tp", "TP/SP collectives", T.tp},
          {"cp", "CP exchange", T.cp},
          {"ep", "EP all-to-all", T.ep},
          {"pp", "pipeline send/receive", T.pp},
          {"dp_grad", "gradient reduction (DP/ZeRO/HSDP)", T.dp_grad},
          {"param_gather", "parameter gathers (ZeRO/FSDP)", T.param_gather},
          {"step_tail", "step tail (grad norm, loss)", T.step_tail}};
}

json result_json(const train::TrainResult& r) {
  const auto& T = r.time;
  const auto& M = r.memory;
  json j{{"config", config_json(r.config)},
         {"feasible", r.feasible()},
         {"time_s", {{"step", T.step}, {"forward", T.forward}, {"backward", T.backward}, {"recompute", T.recompute},
                     {"tp_comm", T.tp_comm}, {"cp_comm", T.cp_comm}, {"ep_comm", T.ep_comm}, {"pp_comm", T.pp_comm},
                     {"bubble", T.bubble}, {"dp_comm", T.dp_comm}, {"optimizer", T.optimizer}, {"offload", T.offload},
                     {"contention", T.contention}, {"host", T.host}, {"step_tail", T.step_tail.exposed}}},
         {"memory_bytes", {{"stage", M.stage}, {"weights", M.weights}, {"gradients", M.gradients}, {"optimizer", M.optimizer},
                           {"activations", M.activations}, {"buffers", M.buffers}, {"runtime", M.runtime},
                           {"fragmentation", M.fragmentation}, {"total", M.total}, {"capacity", M.capacity},
                           {"margin", M.margin()}, {"inflight_microbatches", M.inflight_microbatches},
                           {"activation_bytes_per_layer", M.activation_bytes_per_layer}}},
         {"tokens_per_step", r.tokens_per_step}, {"tokens_per_s", r.tokens_per_s},
         {"model_flops_per_step", r.model_flops_per_step}, {"hardware_flops_per_step", r.hardware_flops_per_step},
         {"mfu", r.mfu}, {"hfu", r.hfu}, {"peak_flops_per_gpu", r.peak_flops}};
  json comm = json::object();
  for (const auto& row : comm_rows(T)) {
    comm[row.key] = {{"total_s", row.term.total}, {"overlapped_s", row.term.overlapped()}, {"exposed_s", row.term.exposed}};
  }
  j["communication"] = comm;
  if (r.train_tokens > 0) {
    j["train"] = {{"tokens", r.train_tokens}, {"time_s", r.train_time_s}, {"gpu_hours", r.gpu_hours}, {"usd", r.usd},
                  {"kwh", r.kwh}};
  }
  if (r.infeasible) j["infeasible"] = {{"field", r.infeasible->field}, {"reason", r.infeasible->reason}};
  return j;
}

void header_json_fields(const sim::Scenario& s, json& doc) {
  doc["scenario"] = {{"name", s.name}, {"file", s.file}, {"model", s.model.name}, {"gpu", s.gpu.name},
                     {"cluster", s.cluster.name}, {"usd_per_gpu_hour", s.usd_per_gpu_hour},
                     {"efficiency", sim::efficiency_source(s)}};
  doc["flop_conventions"] = {{"mfu", train::kMfuConvention}, {"hfu", train::kHfuConvention}};
}

// The loop efficiency beside the kernels' source (docs/training.md, "Loop efficiency").
std::string loop_text(const train::TrainConfig& c) {
  return fmt::format(", {:g} of their rates in the training loop", c.loop_efficiency);
}

// "Megatron-style" or "FSDP-style": the framework whose overlap the prediction assumes.
std::string framework_text(const train::TrainConfig& c) {
  return train::framework_of(c) == train::Framework::kFsdp ? "FSDP-style" : "Megatron-style";
}

// How the text reports name the two utilisations (train::kMfuConvention, kHfuConvention).
constexpr const char* kMfuName = "MFU (model FLOPs, PaLM App. B)";
constexpr const char* kHfuName = "HFU (hardware FLOPs incl. recompute)";

void report_train(std::ostream& os, const sim::Scenario& s, const train::TrainResult& r, Format f, json& doc) {
  doc = json{{"context", context("train")}};
  header_json_fields(s, doc);
  doc["result"] = result_json(r);
  if (f == Format::kJson) {
    os << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  const auto& T = r.time;
  const auto& M = r.memory;
  if (f == Format::kCsv) {
    os << "section,item,value,unit\n";
    const std::pair<const char*, double> times[] = {
        {"forward", T.forward}, {"backward", T.backward}, {"recompute", T.recompute}, {"tp_comm", T.tp_comm},
        {"cp_comm", T.cp_comm}, {"ep_comm", T.ep_comm}, {"pp_comm", T.pp_comm}, {"bubble", T.bubble},
        {"dp_comm", T.dp_comm}, {"optimizer", T.optimizer}, {"offload", T.offload}, {"step", T.step}};
    for (const auto& [k, v] : times) os << fmt::format("time,{},{:.9g},s\n", k, v);
    const std::pair<const char*, double> mem[] = {
        {"weights", M.weights}, {"gradients", M.gradients}, {"optimizer", M.optimizer}, {"activations", M.activations},
        {"buffers", M.buffers}, {"runtime", M.runtime}, {"fragmentation", M.fragmentation}, {"total", M.total},
        {"capacity", M.capacity}};
    for (const auto& [k, v] : mem) os << fmt::format("memory,{},{:.9g},B\n", k, v);
    os << fmt::format("throughput,tokens_per_s,{:.9g},1/s\nthroughput,mfu,{:.6g},1\nthroughput,hfu,{:.6g},1\n", r.tokens_per_s,
                      r.mfu, r.hfu);
    if (r.train_tokens > 0) {
      os << fmt::format("train,time,{:.9g},s\ntrain,gpu_hours,{:.9g},h\ntrain,usd,{:.9g},USD\ntrain,kwh,{:.9g},kWh\n",
                        r.train_time_s, r.gpu_hours, r.usd, r.kwh);
    }
    // Appended after the rows above (which keep their order): the FLOPs behind mfu and hfu
    // (train::kMfuConvention, kHfuConvention) and the framework assumed.
    // Then the overlap model's terms: contention, the step tail, and every collective whole and
    // exposed (docs/training.md, "Overlap").
    os << fmt::format("time,contention,{:.9g},s\ntime,host,{:.9g},s\ntime,step_tail,{:.9g},s\n", T.contention, T.host,
                      T.step_tail.exposed);
    for (const auto& row : comm_rows(T)) {
      os << fmt::format("communication,{}_total,{:.9g},s\ncommunication,{}_exposed,{:.9g},s\n", row.key, row.term.total, row.key,
                        row.term.exposed);
    }
    os << fmt::format("throughput,model_flops_per_step,{:.9g},FLOP\nthroughput,hardware_flops_per_step,{:.9g},FLOP\n",
                      r.model_flops_per_step, r.hardware_flops_per_step);
    os << "layout,framework," << train::to_string(train::framework_of(r.config)) << ",\n";
    return;
  }
  const auto& c = r.config;
  os << fmt::format("{} — {} on {} GPUs of {} ({})\n", s.name, s.model.name, c.gpus(), s.gpu.name, s.cluster.name);
  os << "kernels priced by " << sim::efficiency_source(s) << loop_text(c) << "\n";
  os << fmt::format("layout {} ({}); seq {}, global batch {} ({} tokens), microbatch {} x {}; recompute {}; ZeRO {}; {}{}{}\n",
                    train::layout_label(c), framework_text(c), c.seq_len, c.global_batch, format_count(r.tokens_per_step), c.microbatch, c.microbatches(),
                    train::recompute_label(c), c.zero, train::to_string(c.optimizer), c.offload_optimizer ? ", optimizer offloaded" : "",
                    c.offload_activations ? ", activations offloaded" : "");
  os << fmt::format("step {}; {:.4g} tokens/s; {} {:.1f}%, {} {:.1f}% (of {} per GPU)\n", format_seconds(T.step),
                    r.tokens_per_s, kMfuName, 100 * r.mfu, kHfuName, 100 * r.hfu, format_flops(r.peak_flops) + "/s");
  if (r.train_tokens > 0) {
    os << fmt::format("{} tokens: {}, {:.4g} GPU-hours, ${:.4g}, {:.4g} kWh (GPUs at TDP)\n", format_count(r.train_tokens),
                      format_seconds(r.train_time_s), r.gpu_hours, r.usd, r.kwh);
  }
  os << "\n";
  Table t{{"time per step", "seconds", "share"}, {false, true, true}, {}};
  const std::pair<const char*, double> times[] = {
      {"forward", T.forward}, {"backward", T.backward}, {"recompute", T.recompute}, {"TP/SP communication", T.tp_comm},
      {"CP communication", T.cp_comm}, {"EP all-to-all", T.ep_comm}, {"pipeline send/receive", T.pp_comm},
      {"pipeline bubble", T.bubble}, {"DP / ZeRO communication", T.dp_comm}, {"step tail", T.step_tail.exposed},
      {"contention (compute beside collectives)", T.contention}, {"host-bound passes", T.host}, {"optimizer step", T.optimizer}, {"offload", T.offload}};
  for (const auto& [k, v] : times) {
    if (v <= 0) continue;
    t.rows.push_back({k, fmt::format("{:.4f}", v), fmt::format("{:.1f}%", 100 * v / T.step)});
  }
  t.rows.push_back({"step", fmt::format("{:.4f}", T.step), "100.0%"});
  t.print(os);
  os << "\n";
  Table ct{{"communication per step (critical stage)", "whole s", "overlapped s", "exposed s"}, {false, true, true, true}, {}};
  for (const auto& row : comm_rows(T)) {
    if (row.term.total <= 0) continue;
    ct.rows.push_back({row.label, fmt::format("{:.4f}", row.term.total), fmt::format("{:.4f}", row.term.overlapped()),
                       fmt::format("{:.4f}", row.term.exposed)});
  }
  if (!ct.rows.empty()) {
    ct.print(os);
    os << "\n";
  }
  Table mt{{fmt::format("memory per GPU (stage {})", M.stage), "GiB", "share"}, {false, true, true}, {}};
  const std::pair<const char*, double> mem[] = {
      {"weights", M.weights}, {"gradients", M.gradients}, {"optimizer state", M.optimizer},
      {"activations", M.activations}, {"communication buffers", M.buffers}, {"CUDA context and workspaces", M.runtime},
      {"allocator fragmentation", M.fragmentation}};
  for (const auto& [k, v] : mem) mt.rows.push_back({k, gib(v), fmt::format("{:.1f}%", 100 * v / M.total)});
  mt.rows.push_back({"total", gib(M.total), "100.0%"});
  mt.rows.push_back({fmt::format("capacity ({})", M.fits() ? "fits" : "DOES NOT FIT"), gib(M.capacity), ""});
  mt.print(os);
  os << fmt::format("activations: {:.3g} GiB per layer per microbatch, {:.3g} microbatches in flight\n",
                    M.activation_bytes_per_layer / 1073741824.0, M.inflight_microbatches);
}

void report_search(std::ostream& os, const sim::Scenario& s, const train::SearchResult& res, const train::SearchOptions& o,
                   Format f, json& doc) {
  doc = json{{"context", context("train --search")}};
  header_json_fields(s, doc);
  json top = json::array();
  for (const auto& r : res.top) top.push_back(result_json(r));
  json rej = json::object();
  for (const auto& [k, v] : res.rejected) rej[k] = {{"count", v.count}, {"example", v.example}};
  doc["search"] = {{"gpu_counts", o.gpu_counts}, {"rank_by", train::to_string(o.rank_by)},
                   {"fix", train::to_string(o.fix)}, {"memory_headroom", o.memory_headroom}, {"evaluated", res.evaluated},
                   {"feasible", res.feasible}, {"rejected_total", res.rejected_total}, {"rejected", rej}, {"top", top}};
  if (f == Format::kJson) {
    os << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    train::write_search_csv(os, res);
    return;
  }
  std::string counts;
  for (int64_t g : o.gpu_counts) counts += (counts.empty() ? "" : ",") + std::to_string(g);
  os << fmt::format("{} — {} on {} ({}), {} GPUs; ranked by {}\n", s.name, s.model.name, s.gpu.name, s.cluster.name,
                    counts, train::to_string(o.rank_by));
  os << "kernels priced by " << sim::efficiency_source(s) << loop_text(*s.train) << "\n";
  if (!o.fix.empty()) os << "fixed: " << train::to_string(o.fix) << "\n";
  os << fmt::format("memory headroom {:g}% of HBM kept free beyond the fragmentation allowance\n", 100 * o.memory_headroom);
  os << fmt::format("{} configurations costed, {} feasible; {} rejected\n", res.evaluated, res.feasible, res.rejected_total);
  for (const auto& [k, v] : res.rejected) os << fmt::format("  rejected {} ({}): e.g. {}\n", v.count, k, v.example);
  os << "\n";
  const bool train_cols = !res.top.empty() && res.top.front().train_tokens > 0;
  Table t{{"#", "GPUs", "layout", "framework", "mb", "recompute", "ZeRO", "step", "tokens/s", "MFU", "HFU", "memory GiB",
           "margin GiB"},
          {true, true, false, false, true, false, true, true, true, true, true, true, true}, {}};
  if (train_cols) {
    t.header.insert(t.header.end(), {"time to train", "GPU-hours", "USD"});
    t.right.insert(t.right.end(), {true, true, true});
  }
  int i = 0;
  for (const auto& r : res.top) {
    const auto& c = r.config;
    std::vector<std::string> row{std::to_string(++i), std::to_string(c.gpus()), train::layout_label(c),
                                 train::to_string(train::framework_of(c)), fmt::format("{}x{}", c.microbatch, c.microbatches()),
                                 train::recompute_label(c), std::to_string(c.zero), format_seconds(r.time.step),
                                 fmt::format("{:.4g}", r.tokens_per_s), fmt::format("{:.1f}%", 100 * r.mfu),
                                 fmt::format("{:.1f}%", 100 * r.hfu), gib(r.memory.total), gib(r.memory.margin())};
    if (train_cols) {
      row.insert(row.end(), {format_seconds(r.train_time_s), fmt::format("{:.4g}", r.gpu_hours), fmt::format("{:.4g}", r.usd)});
    }
    t.rows.push_back(std::move(row));
  }
  if (t.rows.empty()) {
    os << "no feasible configuration\n";
    return;
  }
  t.print(os);
  os << fmt::format("MFU = {}\nHFU = {}\nframework = whose overlap of communication the prediction assumes (megatron: "
                    "Megatron-LM style; fsdp: PyTorch FSDP / DeepSpeed ZeRO-3 style)\n",
                    train::kMfuConvention, train::kHfuConvention);
}

}  // namespace

int cmd_train(const TrainFlags& tf, const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  const ProgressMode progress = parse_progress_mode(f.progress);
  if (!tf.db.empty()) check_db_flag(tf.db);
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  const sim::ResolvedScenario resolved = sim::resolve_scenario(tf.scenario, hwc, mc, resolve_options(f));
  const sim::Scenario& s = resolved.scenario;
  if (!s.train) throw InputError(s.file, "expected a 'train' section for fathom train, found none");
  train::TrainModel tm(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                       s.profile);
  std::ostringstream os;
  json doc;
  if (!tf.search) {
    if (!tf.gpus.empty()) throw FlagError("--gpus", "expected only with --search");
    if (!tf.rank.empty()) throw FlagError("--rank", "expected only with --search");
    if (tf.top_given) throw FlagError("--top", "expected only with --search");
    if (!tf.fix.empty()) throw FlagError("--fix", "expected only with --search");
    if (!tf.headroom.empty()) throw FlagError("--headroom", "expected only with --search");
    train::TrainResult r = tm.evaluate(*s.train, s.train->tokens);
    if (!r.feasible()) {
      const auto& M = r.memory;
      std::string detail;
      if (r.infeasible->field == "memory") {
        detail = fmt::format(" (weights {} + gradients {} + optimizer {} + activations {} + other {} GiB)", gib(M.weights),
                             gib(M.gradients), gib(M.optimizer), gib(M.activations),
                             gib(M.buffers + M.runtime + M.fragmentation));
      }
      throw ConfigError(s.file, "'train." + r.infeasible->field + "': " + r.infeasible->reason + detail);
    }
    report_train(os, s, r, fmt, doc);
  } else {
    train::SearchOptions o;
    // train.gpus is at most the hardware's GPUs (checked when the scenario is read).
    o.gpu_counts = tf.gpus.empty() ? std::vector<int64_t>{s.train->gpus} : train::parse_gpu_counts(tf.gpus, s.cluster);
    if (!tf.rank.empty()) {
      try {
        o.rank_by = train::parse_rank_by(tf.rank);
      } catch (const std::invalid_argument& e) {
        throw FlagError("--rank", e.what());
      }
    }
    if (tf.top < 1 || tf.top > 100000) throw FlagError("--top", "expected a count from 1 to 100000, found " + std::to_string(tf.top));
    o.top = static_cast<size_t>(tf.top);
    if (!tf.fix.empty()) o.fix = train::parse_search_fix(tf.fix, "--fix");
    if (!tf.headroom.empty()) o.memory_headroom = train::parse_memory_headroom(tf.headroom, "--headroom");
    // SIGINT ends the process (common/interrupt.h), so the CLI needs no cancellation token.
    ProgressLine line("train search", "configurations", progress);
    o.on_progress = line.callback();
    train::SearchResult res = train::search(tm, *s.train, o, s.train->tokens);
    line.finish();
    report_search(os, s, res, o, fmt, doc);
  }
  emit(os.str(), f);
  if (!tf.db.empty()) {
    store::RunRecord rec;
    rec.command = tf.search ? "train --search" : "train";
    rec.scenario = tf.scenario;
    rec.scenario_text = resolved.text;
    rec.scenario_hash = resolved.hash;
    rec.fathom_version = version();
    rec.result_json = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    record_run(tf.db, rec);
  }
  return 0;
}

}  // namespace fathom::cli
