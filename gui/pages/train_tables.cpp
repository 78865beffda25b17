// The Train page's tables (gui/pages/train_views.h): fields of train::TrainResult and
// train::SearchResult, each cell with where it comes from as a tooltip. Formulas and their
// sources are docs/training.md's; the numbers in a tooltip are the same fields, so a reader can
// redo the arithmetic.
#include <fmt/format.h>

#include "gui/pages/train_views.h"

namespace fathom::gui::training {

namespace {

const char* const kTimeDoc = "docs/training.md, \"Time per step\"";
const char* const kMemoryDoc = "docs/training.md, \"Memory per GPU\"";

std::string price_source(const sim::Scenario& s) {
  if (s.usd_per_gpu_hour == s.gpu.usd_per_gpu_hour) {
    return fmt::format("${:.4g} per GPU-hour (cost.usd_per_gpu_hour, else the catalog's reference price of {})",
                       s.usd_per_gpu_hour, s.gpu.name);
  }
  return fmt::format("${:.4g} per GPU-hour (the scenario's cost.usd_per_gpu_hour)", s.usd_per_gpu_hour);
}

std::string count(double v) { return fmt::format("{:.4g}", v); }

struct Row {
  std::string figure;
  double value;
  std::string unit;
  std::string tip;
};

}  // namespace

std::string priced_by(const sim::Scenario& s) {
  return "kernels priced by " + sim::efficiency_source(s) + " (docs/cost_model.md); train::TrainModel::evaluate";
}

Table figures_table(const sim::Scenario& s, const train::TrainResult& r) {
  const train::TimeBreakdown& T = r.time;
  const train::MemoryBreakdown& M = r.memory;
  const std::string by = priced_by(s);
  std::vector<Row> rows{
      {"step", T.step, "s",
       fmt::format("one optimizer step on the critical path: pipeline m·max T_i + (ΣT_i − max T_i)/v, fill and drain "
                   "send/receive, exposed DP communication, optimizer, offload ({})\n{}",
                   kTimeDoc, by)},
      {"tokens per step", r.tokens_per_step, "tokens",
       fmt::format("global batch × sequence length = {} × {}", r.config.global_batch, r.config.seq_len)},
      {"tokens/s", r.tokens_per_s, "tokens/s",
       fmt::format("tokens per step / step = {} / {:.6g} s ({})\n{}", count(r.tokens_per_step), T.step, kTimeDoc, by)},
      {"MFU", 100 * r.mfu, "%",
       fmt::format("model FLOPs / (step × GPUs × dense peak) = {:.6g} / ({:.6g} s × {} × {:.6g} TFLOP/s); model FLOPs in "
                   "the PaLM convention (6·N per token plus attention, no recomputation) ({})\n{}",
                   r.model_flops_per_step, T.step, r.config.gpus(), r.peak_flops / 1e12, kTimeDoc, by)},
      {"HFU", 100 * r.hfu, "%",
       fmt::format("FLOPs as executed (recomputation included) / (step × GPUs × dense peak) = {:.6g} / ({:.6g} s × {} × "
                   "{:.6g} TFLOP/s) ({})\n{}",
                   r.hardware_flops_per_step, T.step, r.config.gpus(), r.peak_flops / 1e12, kTimeDoc, by)},
      {"memory per GPU", M.total / kGiB, "GiB",
       fmt::format("weights + gradients + optimizer state + activations + buffers + runtime + fragmentation on pipeline "
                   "stage {} (the stage that needs most) ({})",
                   M.stage, kMemoryDoc)},
      {"GPU memory", M.capacity / kGiB, "GiB", fmt::format("{} in the hardware catalog ({})", s.gpu.name, s.gpu.file)},
      {"memory margin", M.margin() / kGiB, "GiB",
       fmt::format("GPU memory − memory per GPU; {}", M.fits() ? "the configuration fits" : "negative: it does not fit")},
  };
  if (r.train_tokens > 0) {
    rows.push_back({"time to train", r.train_time_s / kDay_s, "days",
                    fmt::format("training tokens / tokens/s = {} / {:.6g} (train.tokens); {:.6g} s", count(r.train_tokens),
                                r.tokens_per_s, r.train_time_s)});
    rows.push_back({"GPU-hours", r.gpu_hours, "GPU-h",
                    fmt::format("time to train × GPUs / 3600 = {:.6g} s × {} / 3600", r.train_time_s, r.config.gpus())});
    rows.push_back({"cost", r.usd, "$", fmt::format("GPU-hours × price = {:.6g} × {}", r.gpu_hours, price_source(s))});
    rows.push_back({"energy", r.kwh, "kWh",
                    fmt::format("GPU-hours × TDP = {:.6g} × {:.0f} W (GPU boards at TDP only: an upper bound for the "
                                "GPUs, no host, network or cooling)",
                                r.gpu_hours, s.gpu.tdp_W)});
  }
  rows.push_back({"price", s.usd_per_gpu_hour, "$/GPU-h", price_source(s)});
  Table t;
  t.columns = {{"figure", "what the number is", 4},
               {"value", "the library's value (hover: where it comes from)", 5},
               {"unit", "GiB = 2^30 bytes; days of 86,400 s", 4}};
  for (auto& row : rows) {
    t.rows.push_back({Cell::text(row.figure, row.tip), Cell::number(row.value, row.tip), Cell::text(row.unit)});
  }
  return t;
}

int figure_row(const Table& t, const std::string& figure) {
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto* name = std::get_if<std::string>(&t.rows[i][0].value);
    if (name && *name == figure) return static_cast<int>(i);
  }
  return -1;
}

Table breakdown_table(const sim::Scenario& s, const train::TrainResult& r) {
  const train::TimeBreakdown& T = r.time;
  const train::MemoryBreakdown& M = r.memory;
  const std::string by = priced_by(s);
  Table t;
  t.columns = {{"breakdown", "time per step or memory per GPU", 4},
               {"part", "", 4},
               {"value", "seconds per step, or GiB per GPU", 5},
               {"unit", "", 4},
               {"share (%)", "of the step, or of the memory total", 3}};
  auto time_row = [&](const std::string& part, double v, const std::string& how) {
    const std::string tip = how + " (" + kTimeDoc + ")\n" + by;
    t.rows.push_back({Cell::text("time"), Cell::text(part, tip), Cell::number(v, tip), Cell::text("s"),
                      Cell::number(T.step > 0 ? 100 * v / T.step : 0, tip)});
  };
  time_row("forward", T.forward, "compute of the forward passes of all microbatches on the slowest stage");
  time_row("backward", T.backward, "compute of the backward passes of all microbatches on the slowest stage");
  time_row("recomputation", T.recompute, "forward passes repeated for recomputed layers");
  time_row("TP/SP communication", T.tp_comm, "tensor-parallel collectives not hidden behind GEMMs (overlap.tp)");
  time_row("CP communication", T.cp_comm, "context-parallel exchange not hidden behind attention");
  time_row("EP all-to-all", T.ep_comm, "expert all-to-all (exposed)");
  time_row("PP send/receive", T.pp_comm, "pipeline send/receive at fill and drain (and per microbatch without overlap.pp)");
  time_row("pipeline bubble", T.bubble, "fill and drain of the 1F1B schedule: (ΣT_i − max T_i)/v");
  time_row("DP / ZeRO communication", T.dp_comm, "gradient reduction and ZeRO/FSDP gathers not hidden behind compute (docs/training.md, Overlap)");
  time_row("step tail", T.step_tail.exposed, "gradient-norm and loss all-reduces over every rank, exposed");
  time_row("contention", T.contention, "compute slowed by collectives running beside it: κ × hidden communication");
  time_row("host-bound passes", T.host, "what the host's kernel issue time adds beyond the GPU's");
  time_row("optimizer step", T.optimizer, "memory-bound pass over the GPU's (sharded) parameters and optimizer state");
  time_row("offload", T.offload, "host transfers and host optimizer, exposed");
  time_row("step", T.step, "the sum of the parts above");
  auto mem_row = [&](const std::string& part, double bytes, const std::string& how) {
    const std::string tip = fmt::format("{} on pipeline stage {} ({})", how, M.stage, kMemoryDoc);
    t.rows.push_back({Cell::text("memory"), Cell::text(part, tip), Cell::number(bytes / kGiB, tip), Cell::text("GiB"),
                      Cell::number(M.total > 0 ? 100 * bytes / M.total : 0, tip)});
  };
  mem_row("weights", M.weights, "stage parameters / tp (/ dp·cp under ZeRO 3), 2 bytes each");
  mem_row("gradients", M.gradients, "fp32 main gradients, / dp·cp from ZeRO 2");
  mem_row("optimizer state", M.optimizer, "fp32 master weights and moments (Adam 12 bytes/parameter), / dp·cp from ZeRO 1");
  mem_row("activations", M.activations,
          fmt::format("{:.4g} GiB per layer per microbatch × layers × {:.4g} microbatches in flight (Korthikanti et al. 2022)",
                      M.activation_bytes_per_layer / kGiB, M.inflight_microbatches));
  mem_row("communication buffers", M.buffers, "gradient buckets, gathered parameters, gathered SP input");
  mem_row("CUDA context and workspaces", M.runtime, "1 GiB reserve");
  mem_row("allocator fragmentation", M.fragmentation, "8% of the tensors (an allowance)");
  mem_row("total", M.total, "the sum of the parts above");
  mem_row("GPU memory", M.capacity, s.gpu.name + " in the hardware catalog");
  return t;
}

Table search_table(const sim::Scenario& s, const train::SearchResult& res, train::RankBy rank) {
  const bool tokens = !res.top.empty() && res.top.front().train_tokens > 0;
  const std::string by = priced_by(s);
  Table t;
  t.columns = {{"#", fmt::format("rank by {} (train::search; ties keep the enumeration order)", train::to_string(rank)), 4},
               {"GPUs", "tp × pp × dp × cp", 6},
               {"layout", "the layout in one phrase (train::layout_label); filter on it: \"tp8\", \"v2\"", 4},
               {"tp", "tensor parallelism (sequence parallelism on whenever tp > 1)", 4},
               {"pp", "pipeline stages", 4},
               {"dp", "data parallelism", 6},
               {"cp", "context parallelism (ring attention)", 4},
               {"ep", "expert parallelism", 4},
               {"virtual stages", "interleaved 1F1B model chunks per pipeline rank", 4},
               {"microbatch", "sequences per microbatch", 4},
               {"microbatches", "per step per data-parallel rank: global batch / (dp × microbatch)", 6},
               {"recompute", "activation recomputation", 4},
               {"ZeRO", "0 none, 1 optimizer state, 2 + gradients, 3 + weights (FSDP)", 4},
               {"step (s)", std::string("time per optimizer step (") + kTimeDoc + ")\n" + by, 5},
               {"tokens/s", "global batch × sequence length / step", 5},
               {"MFU (%)", "model FLOPs / (step × GPUs × dense peak), PaLM convention", 4},
               {"HFU (%)", "executed FLOPs / (step × GPUs × dense peak)", 4},
               {"memory (GiB)", std::string("per GPU on the stage that needs most (") + kMemoryDoc + ")", 4},
               {"margin (GiB)", "GPU memory − memory per GPU", 4}};
  if (tokens) {
    t.columns.push_back({"time to train (days)", "train.tokens / tokens/s", 4});
    t.columns.push_back({"GPU-hours", "time to train × GPUs / 3600", 5});
    t.columns.push_back({"cost ($)", "GPU-hours × " + price_source(s), 5});
  }
  int i = 0;
  for (const auto& r : res.top) {
    const auto& c = r.config;
    const auto& L = c.layout;
    const std::string label = train::layout_label(c);
    auto n = [](double v) { return Cell::number(v); };
    std::vector<Cell> row{n(++i), n(static_cast<double>(c.gpus())), Cell::text(label),
                          n(L.tp), n(L.pp), n(L.dp), n(L.cp), n(L.ep), n(c.virtual_stages),
                          n(static_cast<double>(c.microbatch)), n(static_cast<double>(c.microbatches())),
                          Cell::text(train::recompute_label(c)), n(c.zero), n(r.time.step), n(r.tokens_per_s),
                          n(100 * r.mfu), n(100 * r.hfu), n(r.memory.total / kGiB), n(r.memory.margin() / kGiB)};
    if (tokens) {
      row.push_back(n(r.train_time_s / kDay_s));
      row.push_back(n(r.gpu_hours));
      row.push_back(n(r.usd));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

int search_column(const Table& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Table rejections_table(const train::SearchResult& r) {
  Table t;
  t.columns = {{"field at fault", "the input that made the configuration impossible (memory: over the GPU's)", 4},
               {"count", "configurations rejected for it", 8},
               {"example", "the first such configuration's reason, in full", 4}};
  for (const auto& [field, rej] : r.rejected) {
    t.rows.push_back({Cell::text(field), Cell::number(static_cast<double>(rej.count)), Cell::text(rej.example, rej.example)});
  }
  return t;
}

std::string search_summary(const train::SearchResult& r) {
  return fmt::format("{} configurations costed, {} feasible, {} rejected", r.evaluated, r.feasible, r.rejected_total);
}

}  // namespace fathom::gui::training
