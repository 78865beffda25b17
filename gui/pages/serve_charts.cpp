#include "gui/pages/serve_charts.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fathom::gui {

namespace {

constexpr double kGiB = 1073741824.0;

// The run's summaries: one row per latency, with the JSON key of `fathom serve --format json`.
struct Latency {
  const char* name;
  const char* key;
  const serve::Percentiles serve::ServeResult::*field;
};
const Latency kLatencies[] = {{"TTFT", "ttft_s", &serve::ServeResult::ttft},
                              {"TPOT", "tpot_s", &serve::ServeResult::tpot},
                              {"ITL", "itl_s", &serve::ServeResult::itl},
                              {"E2E", "e2e_s", &serve::ServeResult::e2e},
                              {"queueing", "queueing_s", &serve::ServeResult::queueing}};

const char* kSummaryTip =
    "serve::simulate, whole run (warm-up and drain included): nearest-rank percentile from a log-bucketed "
    "histogram, within 0.049% (docs/metrics.md, \"Latency distributions\")";
const char* kWindowTip =
    "serve::simulate, measurement window (MSER-5 warm-up cut, ends at the last arrival); 95% interval by batch "
    "means over the window's sections, Student t (docs/metrics.md, \"Intervals\")";

Cell number_or_empty(double v, const std::string& tip) {
  if (!std::isfinite(v)) return Cell{std::monostate{}, tip, -1};
  return Cell::number(v, tip);
}

std::string seconds(double s) {
  if (!(s > 0)) return "0 s";
  if (s < 1e-3) return fmt::format("{:.3g} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.3g} ms", s * 1e3);
  return fmt::format("{:.3g} s", s);
}

}  // namespace

const std::vector<std::string>& slo_stats() {
  static const std::vector<std::string> stats{"mean", "p50", "p90", "p95", "p99"};
  return stats;
}

double stat_of(const serve::Percentiles& p, const std::string& stat) {
  if (stat == "p50") return p.p50;
  if (stat == "p90") return p.p90;
  if (stat == "p95") return p.p95;
  if (stat == "p99") return p.p99;
  return p.mean;
}

double stat_fraction(const std::string& stat) {
  if (stat == "p50") return 0.50;
  if (stat == "p90") return 0.90;
  if (stat == "p95") return 0.95;
  if (stat == "p99") return 0.99;
  return 0;
}

void TimeSeriesReducer::merge(Bucket& into, const Bucket& b) {
  serve::TimePoint& m = into.max;
  m.time_s = b.max.time_s;
  m.arrived = b.max.arrived;
  m.finished = b.max.finished;
  m.waiting = std::max(m.waiting, b.max.waiting);
  m.running = std::max(m.running, b.max.running);
  m.kv_used = std::max(m.kv_used, b.max.kv_used);
  m.output_tokens_per_s += b.max.output_tokens_per_s;
  into.n += b.n;
}

void TimeSeriesReducer::add(const serve::TimePoint& p) {
  ++samples_;
  if (buckets_.empty() || buckets_.back().n >= span_) {
    buckets_.push_back({p, 1});
  } else {
    merge(buckets_.back(), {p, 1});
  }
  if (buckets_.size() > max_points_) {
    std::vector<Bucket> merged;
    merged.reserve(buckets_.size() / 2 + 1);
    for (size_t i = 0; i < buckets_.size(); i += 2) {
      Bucket b = buckets_[i];
      if (i + 1 < buckets_.size()) merge(b, buckets_[i + 1]);
      merged.push_back(b);
    }
    buckets_ = std::move(merged);
    span_ *= 2;
  }
}

std::vector<serve::TimePoint> TimeSeriesReducer::points() const {
  std::vector<serve::TimePoint> out;
  out.reserve(buckets_.size());
  for (const auto& b : buckets_) {
    serve::TimePoint p = b.max;
    p.output_tokens_per_s /= static_cast<double>(b.n);
    out.push_back(p);
  }
  return out;
}

ServeCdfs make_cdfs(const serve::LatencyDistributions& d) {
  return {serve::cdf(d.ttft()), serve::cdf(d.tpot()), serve::cdf(d.e2e())};
}

MemoryBars memory_bars(const serve::ServeAnalysis& a) {
  return {a.memory.weights, a.memory.activations, a.memory.runtime, std::max(0.0, a.memory.kv), a.hbm_bytes, a.engine};
}

Table analytic_table(const serve::ServeAnalysis& a, const std::string& provenance, const std::string& estimate_command) {
  Table t;
  t.columns = {{"figure", "what the cost chain gives without simulating (serve::analyze_serving, docs/gui-serve.md)"},
               {"value", "", 4},
               {"unit", ""}};
  auto row = [&](const std::string& name, double v, const std::string& unit, const std::string& tip, int digits = -1) {
    t.rows.push_back({Cell::text(name, tip), Cell::number(v, tip, digits), Cell::text(unit, tip)});
  };
  auto text_row = [&](const std::string& name, const std::string& v, const std::string& tip) {
    t.rows.push_back({Cell::text(name, tip), Cell::text(v, tip), Cell::text("", tip)});
  };
  const sim::EstimateResult& it = a.iteration;
  const std::string what = fmt::format("one {} iteration of {} sequences at {} tokens of {}{}", a.phase, a.batch, a.length,
                                       a.phase == "decode" ? "context" : "prompt",
                                       a.scenario_iteration ? " (the scenario's serve.iteration)" : " (the typical batch)");
  const std::string chain = fmt::format(
      "sim::estimate of {}: per operation max(FLOPs / (peak × compute efficiency), bytes / (bandwidth × memory "
      "efficiency)) + launch overhead, collectives by the α–β model, summed (docs/cost_model.md); kernels priced by {}.\n"
      "CLI: {}",
      what, provenance, estimate_command);
  row("iteration time", it.total_s * 1e3, "ms", chain);
  row("iteration tokens/s (replica)", it.tokens_per_s, "tokens/s", "tokens of the iteration / its time; " + chain);
  row("MFU of the iteration", 100 * it.mfu, "%", "model FLOPs / (time × dense peak of the GEMM data type); " + chain, 3);
  const auto share = [&](double s) { return it.total_s > 0 ? 100 * s / it.total_s : 0.0; };
  row("compute-bound time", share(it.compute_bound_s), "% of iteration", "operations whose FLOP term is the larger; " + chain, 3);
  row("memory-bound time", share(it.memory_bound_s), "% of iteration", "operations whose byte term is the larger; " + chain, 3);
  row("latency-bound time", share(it.latency_bound_s), "% of iteration", "operations dominated by launch overhead; " + chain, 3);
  row("communication time", share(it.communication_s), "% of iteration", "collectives of the tensor/pipeline/expert layout; " + chain, 3);
  text_row("binding resource", a.binding_resource,
           a.binding + "\n(serve::analyze_serving: the iteration's largest roofline share, what caps the batch, and the "
                       "offered rate against the best-case capacity)");

  const std::string mem_tip = fmt::format(
      "serve::replica_memory, as the simulator sizes the {} of the {} engine: weights = parameters × bytes ÷ (tp × pp) "
      "(embedding and LM head in 16-bit); activations = the peak of a token-budget iteration; runtime = CUDA context, "
      "graphs and buffers; KV cache = memory_fraction × HBM − the rest (vLLM, SGLang) or memory_fraction × what is left "
      "(TensorRT-LLM). `fathom serve --format json` gives them as memory_per_gpu_GiB.",
      a.pool, a.engine);
  row("KV cache capacity", static_cast<double>(a.kv_tokens), "tokens per " + a.pool,
      fmt::format("blocks × block size = {} × {} (KV bytes per token per GPU {:.0f}); {}", a.memory.blocks, a.block_size,
                  a.memory.kv_token, mem_tip),
      10);
  row("KV bytes per token", a.memory.kv_token / 1024, "KiB per GPU",
      "2 (K and V) × layers ÷ pp × KV heads ÷ tp (replicated when tp exceeds them) × head size × KV-cache bytes "
      "(model::kv_bytes_per_token_per_gpu; MLA: the latent)");
  row("max batch the KV cache holds", static_cast<double>(a.kv_batch), "sequences",
      fmt::format("⌊KV tokens / {:.0f} tokens⌋: each sequence holding its whole request (mean input {:.0f} + mean output "
                  "{:.0f} tokens, the workload's means clamped to their range)",
                  a.footprint, a.mean_input, a.mean_output),
      10);
  row("max_seqs (scheduler)", static_cast<double>(a.max_seqs), "sequences", "serve.scheduler.max_seqs or the engine preset's", 10);
  row("typical decode batch", static_cast<double>(a.decode_batch), "sequences",
      fmt::format("min(KV batch, max_seqs) at a mean context of {} tokens (input + output / 2), the batch of plan serve's "
                  "analytic screen; limited by {}",
                  a.decode_context, a.batch_limit),
      10);
  row("weights", a.memory.weights / kGiB, "GiB per GPU", mem_tip);
  row("activations", a.memory.activations / kGiB, "GiB per GPU", mem_tip);
  row("runtime", a.memory.runtime / kGiB, "GiB per GPU", mem_tip);
  row("KV cache", std::max(0.0, a.memory.kv) / kGiB, "GiB per GPU", mem_tip);
  row("HBM", a.hbm_bytes / kGiB, "GiB per GPU", "the catalog GPU's memory (data/hardware/gpus)");
  if (a.decode_tokens_per_s > 0) {
    row("decode tokens/s at the typical batch", a.decode_tokens_per_s, "tokens/s per " + a.pool,
        fmt::format("{} sequences / one decode iteration of {} ({}); {}", a.decode_batch, seconds(a.decode_iteration_s),
                    "sim::estimate", provenance));
  }
  if (a.prefill_tokens_per_s > 0) {
    row("prefill tokens/s at the token budget", a.prefill_tokens_per_s, "tokens/s",
        fmt::format("{} sequences × {} prompt tokens in one prefill iteration of {} (sim::estimate; {})",
                    a.prefill_sequences, a.prefill_chunk, seconds(a.prefill_chunk_s), provenance));
  }
  if (a.capacity_req_per_s > 0) {
    row("best-case capacity", a.capacity_req_per_s, "requests/s (all replicas)",
        "replicas / (mean input / prefill tokens/s + mean output / decode tokens/s): no queueing, no overheads, an upper "
        "bound (plan serve's screen); Simulate measures the real one");
  }
  if (a.offered_req_per_s > 0) {
    row("offered rate", a.offered_req_per_s, "requests/s", "the workload's arrival rate (burst: on-share × rate; trace: rows / span × speedup)");
    if (a.capacity_req_per_s > 0) {
      row("offered / best-case capacity", 100 * a.offered_req_per_s / a.capacity_req_per_s, "%",
          "at 100% or more the queue grows whatever the scheduler does", 3);
    }
  }
  return t;
}

Chart memory_chart(const MemoryBars& m) {
  Chart c;
  c.title = fmt::format("Memory of one GPU ({} engine)", m.engine);
  c.x.categories = {"per GPU"};
  c.y.title = "GiB";
  c.y.min = 0;
  c.series = {{"weights", SeriesKind::kStackedBar, {}, {m.weights / kGiB}, {}, {}, "#4c72b0"},
              {"activations", SeriesKind::kStackedBar, {}, {m.activations / kGiB}, {}, {}, "#dd8452"},
              {"runtime", SeriesKind::kStackedBar, {}, {m.runtime / kGiB}, {}, {}, "#937860"},
              {"KV cache", SeriesKind::kStackedBar, {}, {m.kv / kGiB}, {}, {}, "#55a868"}};
  c.lines = {{fmt::format("HBM {:.1f} GiB", m.hbm / kGiB), true, m.hbm / kGiB}};
  return c;
}

Chart roofline_chart(const serve::ServeAnalysis& a, const std::string& provenance) {
  const sim::EstimateResult& it = a.iteration;
  Chart c;
  c.title = fmt::format("{} iteration by bound", a.phase == "decode" ? "Decode" : "Prefill");
  c.x.title = fmt::format("sequences × tokens ({})", provenance);
  c.x.categories = {fmt::format("{} × {}", a.batch, a.length)};
  c.y.title = "ms";
  c.y.min = 0;
  c.series = {{"compute", SeriesKind::kStackedBar, {}, {it.compute_bound_s * 1e3}, {}, {}, "#c44e52"},
              {"memory", SeriesKind::kStackedBar, {}, {it.memory_bound_s * 1e3}, {}, {}, "#4c72b0"},
              {"latency", SeriesKind::kStackedBar, {}, {it.latency_bound_s * 1e3}, {}, {}, "#8172b3"},
              {"communication", SeriesKind::kStackedBar, {}, {it.communication_s * 1e3}, {}, {}, "#ccb974"}};
  return c;
}

Table percentile_table(const serve::ServeResult& r, const std::string& stat) {
  Table t;
  t.columns = {{"latency", "per-request latencies (docs/metrics.md)"},
               {"mean (s)", kSummaryTip},
               {"p50 (s)", kSummaryTip},
               {"p90 (s)", kSummaryTip},
               {"p95 (s)", kSummaryTip},
               {"p99 (s)", kSummaryTip},
               {"max (s)", kSummaryTip},
               {"count", "requests (ITL: inter-token gaps)", 12},
               {"window mean (s)", kWindowTip},
               {"mean 95% lo", kWindowTip},
               {"mean 95% hi", kWindowTip},
               {"window p99 (s)", kWindowTip},
               {"p99 95% lo", kWindowTip},
               {"p99 95% hi", kWindowTip}};
  const std::vector<std::string> stats{"mean", "p50", "p90", "p95", "p99"};
  for (size_t i = 0; i < stats.size(); ++i) t.columns[1 + i].highlight = stats[i] == stat;
  t.columns[8].highlight = stat == "mean";
  t.columns[11].highlight = stat == "p99";
  const serve::MeasurementWindow& w = r.window;
  for (const auto& l : kLatencies) {
    const serve::Percentiles& p = r.*(l.field);
    auto tip = [&](const char* q) { return fmt::format("JSON: {}.{}", l.key, q); };
    std::vector<Cell> row{Cell::text(l.name, l.key),
                          Cell::number(p.mean, tip("mean")),
                          Cell::number(p.p50, tip("p50")),
                          Cell::number(p.p90, tip("p90")),
                          Cell::number(p.p95, tip("p95")),
                          Cell::number(p.p99, tip("p99")),
                          Cell::number(p.max, tip("max")),
                          Cell::number(static_cast<double>(p.count), tip("count"))};
    const serve::Estimate* mean = nullptr;
    const serve::Estimate* p99 = nullptr;
    std::string key = l.key;
    key = key.substr(0, key.size() - 2);
    if (key == "ttft") {
      mean = &w.ttft_mean;
      p99 = &w.ttft_p99;
    } else if (key == "tpot") {
      mean = &w.tpot_mean;
      p99 = &w.tpot_p99;
    } else if (key == "e2e") {
      mean = &w.e2e_mean;
      p99 = &w.e2e_p99;
    }
    for (int which = 0; which < 2; ++which) {
      const serve::Estimate* e = which == 0 ? mean : p99;
      const std::string name = fmt::format("JSON: window.{}_{}_s", key, which == 0 ? "mean" : "p99");
      if (!e) {
        for (int k = 0; k < 3; ++k) row.push_back(Cell{std::monostate{}, "the window gives means and p99 of TTFT, TPOT and E2E", -1});
        continue;
      }
      row.push_back(Cell::number(e->value, name + ".value"));
      row.push_back(number_or_empty(e->lo, name + ".ci95_lo (empty: too few batches for an interval)"));
      row.push_back(number_or_empty(e->hi, name + ".ci95_hi"));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table throughput_table(const serve::ServeResult& r) {
  Table t;
  t.columns = {{"throughput", "docs/metrics.md, \"Headline metrics\""},
               {"window", kWindowTip},
               {"95% lo", kWindowTip},
               {"95% hi", kWindowTip},
               {"whole run", "first arrival to last completion, warm-up and drain included"}};
  const serve::MeasurementWindow& w = r.window;
  auto row = [&](const char* name, const char* key, const serve::Estimate& e, double whole) {
    t.rows.push_back({Cell::text(name, key), Cell::number(e.value, fmt::format("JSON: window.{}.value", key)),
                      number_or_empty(e.lo, fmt::format("JSON: window.{}.ci95_lo", key)),
                      number_or_empty(e.hi, fmt::format("JSON: window.{}.ci95_hi", key)), Cell::number(whole, key)});
  };
  row("requests/s", "request_throughput", w.request_throughput, r.request_throughput);
  row("output tokens/s", "output_tokens_per_s", w.output_throughput, r.output_throughput);
  row("total tokens/s", "total_tokens_per_s", w.total_throughput, r.total_throughput);
  row("goodput (requests/s within every SLO)", "goodput_requests_per_s", w.goodput, r.goodput);
  t.rows.push_back({Cell::text("SLO attainment (share of requests)", "slo_attainment"), Cell{}, Cell{}, Cell{},
                    Cell::number(r.slo_attainment, "JSON: slo_attainment")});
  return t;
}

Chart percentiles_chart(const serve::ServeResult& r, const serve::Slo& slo) {
  Chart c;
  c.title = "Latency percentiles (whole run)";
  c.x = {"percentile (100 = max)", false, 45.0, 101.0, {}};
  c.y = {"latency (s)", true, {}, {}, {}};
  c.empty_text = "run Simulate to see the percentiles";
  for (const auto& l : kLatencies) {
    const serve::Percentiles& p = r.*(l.field);
    if (p.count == 0) continue;
    c.series.push_back({l.name, SeriesKind::kLine, {50, 90, 95, 99, 100}, {p.p50, p.p90, p.p95, p.p99, p.max}, {}, {}, {}});
  }
  if (slo.ttft_s > 0) c.lines.push_back({fmt::format("TTFT SLO {}", seconds(slo.ttft_s)), true, slo.ttft_s});
  if (slo.tpot_s > 0) c.lines.push_back({fmt::format("TPOT SLO {}", seconds(slo.tpot_s)), true, slo.tpot_s});
  if (slo.e2e_s > 0) c.lines.push_back({fmt::format("E2E SLO {}", seconds(slo.e2e_s)), true, slo.e2e_s});
  return c;
}

Chart cdf_chart(const ServeCdfs& d, const serve::Slo& slo, const std::string& stat) {
  Chart c;
  c.title = "Latency CDFs (every request of the run)";
  c.x = {"latency (s)", true, {}, {}, {}};
  c.y = {"fraction of requests", false, 0.0, 1.0, {}};
  c.empty_text = "run Simulate to see the latency CDFs";
  auto add = [&](const char* name, const std::vector<serve::CdfPoint>& pts, const char* color) {
    if (pts.empty()) return;
    Series s{name, SeriesKind::kLine, {}, {}, {}, {}, color};
    for (const auto& p : pts) {
      s.x.push_back(p.value_s);
      s.y.push_back(p.fraction);
    }
    c.series.push_back(std::move(s));
  };
  add("TTFT", d.ttft, "#4c72b0");
  add("TPOT", d.tpot, "#dd8452");
  add("E2E", d.e2e, "#55a868");
  if (slo.ttft_s > 0) c.lines.push_back({fmt::format("TTFT SLO {}", seconds(slo.ttft_s)), false, slo.ttft_s});
  if (slo.tpot_s > 0) c.lines.push_back({fmt::format("TPOT SLO {}", seconds(slo.tpot_s)), false, slo.tpot_s});
  if (slo.e2e_s > 0) c.lines.push_back({fmt::format("E2E SLO {}", seconds(slo.e2e_s)), false, slo.e2e_s});
  if (stat_fraction(stat) > 0 && !c.series.empty()) c.lines.push_back({stat, true, stat_fraction(stat)});
  return c;
}

Chart interactivity_chart(const std::vector<serve::FrontierPoint>& frontier, const serve::ServeResult* r, int gpus,
                          const serve::Slo& slo, const std::string& stat) {
  Chart c;
  c.title = "Throughput against interactivity";
  c.x = {"output tokens/s per user (1 / TPOT)", false, 0.0, {}, {}};
  c.y = {"output tokens/s per GPU", false, 0.0, {}, {}};
  c.empty_text = "no frontier: the scenario does not resolve";
  if (!frontier.empty()) {
    Series s{fmt::format("cost chain, decode batch 1..{}", frontier.back().batch), SeriesKind::kLine, {}, {}, {}, {}, "#4c72b0"};
    for (const auto& p : frontier) {
      s.x.push_back(p.tokens_per_s_per_user);
      s.y.push_back(p.tokens_per_s_per_gpu);
    }
    c.series.push_back(std::move(s));
  }
  if (r && gpus > 0 && r->tpot.count > 0) {
    const double per_gpu = r->window.output_throughput.value / gpus;
    c.series.push_back({"simulated, mean TPOT", SeriesKind::kScatter, {1 / r->tpot.mean}, {per_gpu}, {}, {}, "#c44e52"});
    if (stat != "mean") {
      const double t = stat_of(r->tpot, stat);
      if (t > 0) c.series.push_back({fmt::format("simulated, {} TPOT", stat), SeriesKind::kScatter, {1 / t}, {per_gpu}, {}, {}, "#8c1b1e"});
    }
  }
  if (slo.tpot_s > 0) {
    c.lines.push_back({fmt::format("TPOT SLO {} = {:.4g} tokens/s per user", seconds(slo.tpot_s), 1 / slo.tpot_s), false, 1 / slo.tpot_s});
  }
  return c;
}

namespace {
std::string per_point(int64_t n, double interval_s) {
  return n <= 1 ? fmt::format("every {}", seconds(interval_s)) : fmt::format("max per {}", seconds(static_cast<double>(n) * interval_s));
}
}  // namespace

Chart queue_chart(const std::vector<serve::TimePoint>& ts, int64_t samples_per_point, double interval_s) {
  Chart c;
  c.title = fmt::format("Requests waiting and running ({})", per_point(samples_per_point, interval_s));
  c.x = {"simulated time (s)", false, {}, {}, {}};
  c.y = {"requests", false, 0.0, {}, {}};
  c.empty_text = "run Simulate to see the queue over time";
  Series waiting{"waiting", SeriesKind::kLine, {}, {}, {}, {}, "#c44e52"};
  Series running{"running", SeriesKind::kLine, {}, {}, {}, {}, "#4c72b0"};
  for (const auto& p : ts) {
    waiting.x.push_back(p.time_s);
    waiting.y.push_back(static_cast<double>(p.waiting));
    running.x.push_back(p.time_s);
    running.y.push_back(static_cast<double>(p.running));
  }
  if (!ts.empty()) c.series = {waiting, running};
  return c;
}

Chart kv_chart(const std::vector<serve::TimePoint>& ts, int64_t samples_per_point, double interval_s) {
  Chart c;
  c.title = fmt::format("KV cache in use ({}, mean over replicas)", per_point(samples_per_point, interval_s));
  c.x = {"simulated time (s)", false, {}, {}, {}};
  c.y = {"KV blocks in use (%)", false, 0.0, 100.0, {}};
  c.empty_text = "run Simulate to see the KV cache over time";
  Series kv{"KV cache", SeriesKind::kLine, {}, {}, {}, {}, "#55a868"};
  for (const auto& p : ts) {
    kv.x.push_back(p.time_s);
    kv.y.push_back(100 * p.kv_used);
  }
  if (!ts.empty()) c.series = {kv};
  return c;
}

std::string verdict_text(const serve::ServeResult& r, const serve::Slo& slo, const std::string& stat) {
  std::string out;
  const std::string& v = r.saturation_verdict;
  if (v == serve::kStable) {
    out = "Stable: the replicas keep up with the offered load; the figures describe a steady state.";
  } else if (v == serve::kNearSaturation) {
    out = "Near saturation: growth of the queue cannot be ruled out; more load (or a longer run) may tip it over.";
  } else if (v == serve::kOverloaded) {
    out = "Overloaded: requests arrive faster than the replicas serve them, the queue grows through the window, and "
          "the latencies grow with the length of the run.";
  } else {
    out = "Undetermined: no measurement window could be formed (too few requests, or all at once); the figures cover "
          "the whole run.";
  }
  if (!r.saturation.reason.empty()) out += " (" + r.saturation.reason + ")";
  if (slo.any()) {
    out += fmt::format("\n{:.1f}% of requests met every SLO (goodput {:.4g} requests/s in the window).", 100 * r.slo_attainment,
                       r.window.goodput.value);
    std::string parts;
    auto judge = [&](const char* name, const serve::Percentiles& p, double limit) {
      if (limit <= 0 || p.count == 0) return;
      const double x = stat_of(p, stat);
      parts += fmt::format("{}{} {} {} {} the {} SLO", parts.empty() ? "" : "; ", stat, name, seconds(x),
                           x <= limit ? "meets" : "misses", seconds(limit));
    };
    judge("TTFT", r.ttft, slo.ttft_s);
    judge("TPOT", r.tpot, slo.tpot_s);
    judge("E2E", r.e2e, slo.e2e_s);
    if (!parts.empty()) out += " At the " + stat + " (whole run): " + parts + ".";
  }
  return out;
}

ServeViews serve_views(const ServeRun& run, const std::string& stat) {
  ServeViews v;
  v.percentiles = percentile_table(run.result, stat);
  v.throughput = throughput_table(run.result);
  v.cdf = cdf_chart(run.cdfs, run.slo, stat);
  v.percentiles_chart = percentiles_chart(run.result, run.slo);
  v.interactivity = interactivity_chart(run.frontier, &run.result, run.gpus, run.slo, stat);
  v.queue = queue_chart(run.timeseries, run.samples_per_point, run.interval_s);
  v.kv = kv_chart(run.timeseries, run.samples_per_point, run.interval_s);
  v.verdict = verdict_text(run.result, run.slo, stat);
  return v;
}

const std::vector<std::string>& serve_chart_names() {
  static const std::vector<std::string> names{"percentiles", "cdf", "interactivity", "queue", "kv", "memory"};
  return names;
}

}  // namespace fathom::gui
