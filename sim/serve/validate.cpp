#include "sim/serve/validate.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"
#include "hw/cluster.h"
#include "sim/serve/cost.h"
#include "sim/serve/simulator.h"

namespace fathom::serve {

sim::Scenario make_serve_scenario(const model::ModelSpec& m, const hw::GpuSpec& gpu, int tp,
                                  const model::Precision& precision, const ServeConfig& config) {
  sim::Scenario s;
  s.file = "(built-in)";
  s.name = fmt::format("{} on {} tp{}", m.name, gpu.name, tp);
  s.model = m;
  s.gpu = gpu;
  s.profile = gpu.calibrated_profile;  // as a scenario file on this GPU would
  s.cluster = hw::make_cluster(gpu, 1, 8);
  s.precision = precision;
  s.usd_per_gpu_hour = gpu.usd_per_gpu_hour;
  sim::ServeSection sv;
  sv.layout.tp = tp;
  sv.layout.gpus_per_node = 8;
  sv.sim = config;
  s.serve = sv;
  return s;
}

namespace {

ServeConfig single_sequence(const hw::GpuSpec& gpu) {
  ServeConfig c = engine_preset("vllm", gpu);
  c.scheduler.max_seqs = 1;
  c.kv.prefix_caching = false;
  c.max_model_len = 8192;
  c.workload.max_model_len = c.max_model_len;
  return c;
}

// Forwards progress of a sequence of steps (simulations or table rows) as one count: at most
// every 1% of the total, always at the end.
class Progress {
 public:
  Progress(const ValidationControl& c, int64_t total) : c_(c), total_(total), step_(std::max<int64_t>(1, total / 100)) {
    if (c_.on_progress) c_.on_progress(0, total_);
  }
  // Work done so far (capped at the total, so a run that ends early never overshoots).
  void at(int64_t done) {
    done = std::min(done, total_);
    if (!c_.on_progress || done <= reported_) return;
    if (done - reported_ >= step_ || done == total_) {
      reported_ = done;
      c_.on_progress(done, total_);
    }
  }
  void cancel_point() const {
    if (c_.cancel != nullptr && c_.cancel->load(std::memory_order_relaxed)) {
      throw Cancelled("validation: cancelled after " + std::to_string(reported_) + " of " + std::to_string(total_));
    }
  }
  // Options for one simulation whose progress counts from `offset`.
  ServeOptions options(int64_t offset) {
    ServeOptions o;
    o.cancel = c_.cancel;
    if (c_.on_progress) o.on_progress = [this, offset](int64_t d, int64_t) { at(offset + d); };
    return o;
  }
  void finish() { at(total_); }

 private:
  const ValidationControl& c_;
  int64_t total_, step_, reported_ = 0;
};

}  // namespace

std::vector<QueueCheck> validate_queueing(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                          int64_t requests, uint64_t seed, const ValidationControl& control) {
  const model::ModelSpec* m = models.find("llama-3.1-8b");
  const hw::GpuSpec* gpu = hardware.find_gpu("h100-sxm");
  if (!m || !gpu) throw InputError("catalog", "expected llama-3.1-8b and h100-sxm in the catalog for the queueing checks");
  std::vector<QueueCheck> out;
  const int64_t geometric_probe = std::min<int64_t>(200000, requests);
  Progress progress(control, 1 + geometric_probe + 4 * requests);
  int64_t offset = 0;
  for (const bool deterministic : {true, false}) {
    ServeConfig c = single_sequence(*gpu);
    auto& w = c.workload;
    if (deterministic) {
      w.input.kind = LengthDist::Kind::kFixed;
      w.input.a = 128;
      w.output.kind = LengthDist::Kind::kFixed;
      w.output.a = 16;
    } else {
      // One prompt token and geometric outputs: service = (tokens) × one step, geometric with
      // squared coefficient of variation 1 − 1/mean.
      w.input.kind = LengthDist::Kind::kFixed;
      w.input.a = 1;
      w.output.kind = LengthDist::Kind::kGeometric;
      w.output.a = 64;
      w.output.max = 4096;
    }
    // The mean service time, measured by the simulator itself on a lightly loaded run.
    ServeConfig probe = c;
    probe.workload.requests = deterministic ? 1 : geometric_probe;
    probe.workload.arrival.kind = ArrivalSpec::Kind::kPoisson;
    probe.workload.arrival.rate_per_s = 1e-3;
    // One sequence at a time: requests complete in arrival order, so the streamed sums are
    // those of the records in arrival order.
    double mean_s = 0, tokens = 0;
    ServeOptions po = progress.options(offset);
    po.seed = seed + 1000;
    po.on_request_done = [&](int64_t, const RequestRecord& rec) {
      mean_s += des::to_s(rec.finish_ns - rec.scheduled_ns);
      tokens += rec.output;
    };
    const ServeResult pr = simulate(make_serve_scenario(*m, *gpu, 1, {}, probe), po);
    offset += probe.workload.requests;
    mean_s /= static_cast<double>(pr.requests);
    if (!deterministic) {
      // Use the distribution's exact mean step count with the measured time per token.
      mean_s = mean_s / (tokens / static_cast<double>(pr.requests)) * w.output.mean();
    }
    for (const double rho : {0.5, 0.9}) {
      ServeConfig run = c;
      run.workload.requests = requests;
      run.workload.arrival.kind = ArrivalSpec::Kind::kPoisson;
      run.workload.arrival.rate_per_s = rho / mean_s;
      ServeOptions o = progress.options(offset);
      o.seed = seed;
      const ServeResult r = simulate(make_serve_scenario(*m, *gpu, 1, {}, run), o);
      offset += requests;
      QueueCheck q;
      q.name = deterministic ? "M/D/1" : "M/M/1";
      q.rho = rho;
      q.requests = r.requests;
      q.service_mean_s = mean_s;
      q.measured_wait_s = r.queueing.mean;
      q.theory_wait_s = deterministic ? rho * mean_s / (2.0 * (1.0 - rho)) : rho * mean_s / (1.0 - rho);
      q.error = q.measured_wait_s / q.theory_wait_s - 1.0;
      q.tolerance = rho <= 0.5 ? 0.02 : 0.05;
      q.little_L = r.mean_in_system;
      q.little_lambda_W = r.arrival_rate * r.e2e.mean;
      out.push_back(q);
    }
  }
  progress.finish();
  return out;
}

train::ValidationTable validate_trtllm(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                       const model::ModelCatalog& models, int64_t requests,
                                       const ValidationControl& control) {
  train::ValidationTable t;
  t.name = "TensorRT-LLM maximum throughput";
  t.source = "NVIDIA TensorRT-LLM v0.17 perf-overview.md (trtllm-bench, FP8)";
  t.metric = "output tokens/s";
  const CsvTable csv = CsvTable::load(csv_path);
  const size_t cm = csv.column("model"), cg = csv.column("gpu"), ct = csv.column("tp"), ci = csv.column("input_tokens"),
               co = csv.column("output_tokens"), cv = csv.column("output_tokens_per_s");
  model::Precision p;
  p.weights = DType::kFp8;
  p.kv_cache = DType::kFp8;
  Progress progress(control, static_cast<int64_t>(csv.rows()));
  for (size_t i = 0; i < csv.rows(); ++i) {
    progress.cancel_point();
    progress.at(static_cast<int64_t>(i));
    const std::string where = fmt::format("{}:{}", csv_path, csv.line(i));
    const model::ModelSpec* m = models.find(csv.cell(i, cm));
    if (!m) throw InputError(where, fmt::format("expected a catalog model, found '{}'", csv.cell(i, cm)));
    const hw::GpuSpec& gpu = hardware.gpu(csv.cell(i, cg), where);
    // A whole number in [1, most], checked before it becomes an integer.
    auto whole = [&](size_t col, int64_t most) {
      const double v = csv.number(i, col);
      if (!(v >= 1 && v <= static_cast<double>(most)) || v != std::floor(v)) {
        throw InputError(where, fmt::format("column '{}': expected an integer from 1 to {}, found {}", csv.header()[col],
                                            most, csv.cell(i, col)));
      }
      return static_cast<int64_t>(v);
    };
    const int tp = static_cast<int>(whole(ct, 4096));
    const int64_t in = whole(ci, kMaxModelLen / 2);
    const int64_t outl = whole(co, kMaxModelLen / 2);
    ServeConfig c = engine_preset("trtllm", gpu);
    // The published runs give the KV cache 95% of the free memory; the engine is built for
    // exactly these lengths.
    c.kv.memory_fraction = 0.95;
    c.max_model_len = in + outl;
    auto& w = c.workload;
    w.max_model_len = c.max_model_len;
    w.requests = requests;
    w.arrival.kind = ArrivalSpec::Kind::kAllAtOnce;
    w.input.kind = LengthDist::Kind::kFixed;
    w.input.a = static_cast<double>(in);
    w.input.max = in;
    w.output.kind = LengthDist::Kind::kFixed;
    w.output.a = static_cast<double>(outl);
    w.output.max = outl;
    train::ValidationRow row;
    row.label = fmt::format("{} {}", m->name, gpu.name);
    row.config = fmt::format("tp{} {}/{}", tp, in, outl);
    row.measured = csv.number(i, cv);
    try {
      ServeOptions o;
      o.cancel = control.cancel;
      const ServeResult r = simulate(make_serve_scenario(*m, gpu, tp, p, c), o);
      row.predicted = r.output_throughput;
      row.error = row.predicted / row.measured - 1.0;
    } catch (const ConfigError& e) {
      row.predicted = 0;
      row.error = -1;
      row.config += " (does not fit: " + std::string(e.what()) + ")";
    }
    t.rows.push_back(row);
  }
  progress.finish();
  t.summarise();
  return t;
}

std::vector<LongContextRow> long_context_latency(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models) {
  const model::ModelSpec* m = models.find("llama-3.1-8b");
  const hw::GpuSpec* gpu = hardware.find_gpu("h100-sxm");
  if (!m || !gpu) throw InputError("catalog", "expected llama-3.1-8b and h100-sxm in the catalog");
  hw::CostModel cm(*gpu, hw::make_cluster(*gpu, 1, 8), std::make_shared<hw::DefaultEfficiencyModel>());
  IterationCost c(*m, model::Layout{}, model::Precision{}, cm);
  std::vector<LongContextRow> out;
  for (int64_t k = 1024; k <= 131072; k *= 2) {
    LongContextRow r;
    r.context = k;
    IterationCost::Attention a;
    a.decode_rows = 4;
    a.decode_kv = 4.0 * static_cast<double>(k);
    r.decode_s = c.dense(4).time_s + c.head(4).time_s + c.attention(a, 1).time_s;
    IterationCost::Attention p;
    c.add_prefill(p, 512, k - 512);
    r.prefill_chunk_s = c.dense(512).time_s + c.head(1).time_s + c.attention(p, 1).time_s;
    out.push_back(r);
  }
  return out;
}

}  // namespace fathom::serve
