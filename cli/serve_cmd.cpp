// `fathom serve` (the discrete-event serving simulation) and `fathom validate serving`.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/output.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "sim/serve/metrics.h"
#include "sim/serve/simulator.h"
#include "sim/serve/validate.h"
#include "store/run_store.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json percentiles_json(const serve::Percentiles& p) {
  return {{"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}, {"count", p.count}};
}

// NaN (no interval) is written as null.
json estimate_json(const serve::Estimate& e) { return {{"value", e.value}, {"ci95_lo", e.lo}, {"ci95_hi", e.hi}}; }

json window_json(const serve::ServeResult& r) {
  const serve::MeasurementWindow& w = r.window;
  return {{"formed", w.formed}, {"rule", w.rule}, {"start_s", w.start_s}, {"end_s", w.end_s},
          {"duration_s", w.duration_s}, {"warmup_requests", w.first_request}, {"arrivals", w.arrivals},
          {"completions", w.completions}, {"input_tokens", w.input_tokens}, {"output_tokens", w.output_tokens},
          {"batches", w.batches}, {"request_throughput", estimate_json(w.request_throughput)},
          {"output_tokens_per_s", estimate_json(w.output_throughput)},
          {"total_tokens_per_s", estimate_json(w.total_throughput)},
          {"goodput_requests_per_s", estimate_json(w.goodput)}, {"ttft_mean_s", estimate_json(w.ttft_mean)},
          {"ttft_p99_s", estimate_json(w.ttft_p99)}, {"tpot_mean_s", estimate_json(w.tpot_mean)},
          {"tpot_p99_s", estimate_json(w.tpot_p99)}, {"e2e_mean_s", estimate_json(w.e2e_mean)},
          {"e2e_p99_s", estimate_json(w.e2e_p99)}, {"utilisation", w.utilisation},
          {"prefill_cost_share", w.prefill_cost_share}, {"usd_per_m_input_tokens", w.usd_per_m_input_tokens},
          {"usd_per_m_output_tokens", w.usd_per_m_output_tokens}};
}

json saturation_json(const serve::ServeResult& r) {
  const serve::Saturation& s = r.saturation;
  return {{"verdict", r.saturation_verdict}, {"offered_req_per_s", s.offered_req_per_s},
          {"served_req_per_s", s.served_req_per_s}, {"rho_estimate", s.rho},
          {"queue_growth_req_per_s", estimate_json(s.queue_growth_per_s)}, {"in_system_start", s.in_system_start},
          {"in_system_end", s.in_system_end}, {"reason", s.reason}};
}

json serve_json(const sim::Scenario& s, const serve::ServeResult& r) {
  const double gib = 1073741824.0;
  json reps = json::array();
  for (const auto& st : r.replica_stats) {
    reps.push_back({{"role", st.role}, {"iterations", st.iterations}, {"busy_s", st.busy_s}, {"kv_blocks", st.kv_blocks},
                    {"block_size", st.block_size}, {"kv_used_mean", st.kv_used_mean}, {"kv_used_max", st.kv_used_max},
                    {"requests", st.requests}});
  }
  const auto& c = *s.serve->sim;
  json headline = json::object();
  for (const auto& [k, v] : serve::headline_metrics(r)) headline[k] = v;
  return {{"context", context("serve")},
          {"scenario", {{"file", s.file}, {"name", s.name}, {"model", s.model.name}, {"gpu", s.gpu.name},
                        {"efficiency", sim::efficiency_source(s)}}},
          {"config",
           {{"engine", r.engine}, {"scheduler", r.scheduler}, {"router", r.router}, {"replicas", r.replicas},
            {"gpus", r.gpus}, {"tp", s.serve->layout.tp}, {"pp", s.serve->layout.pp},
            {"max_seqs", c.scheduler.max_seqs}, {"token_budget", c.scheduler.token_budget},
            {"block_size", c.kv.block_size}, {"prefix_caching", c.kv.prefix_caching},
            {"max_model_len", c.max_model_len}, {"arrival", r.arrival}, {"input_tokens", r.input_dist},
            {"output_tokens", r.output_dist}, {"seed", r.seed},
            {"slo", {{"ttft_s", c.slo.ttft_s}, {"tpot_s", c.slo.tpot_s}, {"e2e_s", c.slo.e2e_s}}}}},
          {"memory_per_gpu_GiB",
           {{"weights", r.weights_bytes / gib}, {"activations", r.activation_bytes / gib},
            {"runtime", r.runtime_bytes / gib}, {"kv_cache", r.kv_bytes / gib}, {"capacity", r.gpu_memory_bytes / gib}}},
          {"kv_tokens_per_replica", r.kv_tokens},
          {"saturation_verdict", r.saturation_verdict},
          {"window", window_json(r)},
          {"saturation", saturation_json(r)},
          {"headline", headline},
          {"requests", r.requests},
          {"completed", r.completed},
          {"input_tokens", r.input_tokens},
          {"output_tokens", r.output_tokens},
          {"cached_tokens", r.cached_tokens},
          {"prefill_tokens_computed", r.prefill_tokens_computed},
          {"preemptions", r.preemptions},
          {"iterations", r.iterations},
          {"events", r.events},
          {"makespan_s", r.makespan_s},
          {"request_throughput", r.request_throughput},
          {"output_tokens_per_s", r.output_throughput},
          {"total_tokens_per_s", r.total_throughput},
          {"goodput_requests_per_s", r.goodput},
          {"slo_attainment", r.slo_attainment},
          {"ttft_s", percentiles_json(r.ttft)},
          {"tpot_s", percentiles_json(r.tpot)},
          {"itl_s", percentiles_json(r.itl)},
          {"e2e_s", percentiles_json(r.e2e)},
          {"queueing_s", percentiles_json(r.queueing)},
          {"mean_in_system", r.mean_in_system},
          {"arrival_rate", r.arrival_rate},
          {"mean_waiting", r.mean_waiting},
          {"gpu_busy", r.gpu_busy},
          {"mfu", r.mfu},
          {"mbu", r.mbu},
          {"usd_per_million_output_tokens", r.usd_per_million_output_tokens},
          {"spec_tokens_per_step", r.spec_tokens_per_step},
          {"replicas", reps},
          {"notes", r.notes}};
}

std::string ms(double s) { return fmt::format("{:.2f}", s * 1e3); }

// The window's figures with their intervals beside the whole run's, then cost and the verdict.
void print_window(std::ostream& os, const serve::ServeResult& r, bool slo) {
  const serve::MeasurementWindow& w = r.window;
  if (w.formed) {
    os << fmt::format("measurement window: {:.1f} s to {:.1f} s ({:.1f} s, {} requests, {} batches): {}\n", w.start_s,
                      w.end_s, w.duration_s, w.arrivals, w.batches, w.rule);
  } else {
    os << "measurement window: none (" << w.rule << "); the figures cover the whole run\n";
  }
  Table t;
  t.header = {"", "window", "95% interval", "whole run"};
  t.right = {false, true, true, true};
  auto row = [&](const char* name, const serve::Estimate& e, double whole, double scale, const char* f) {
    const std::string ci = e.has_interval() ? fmt::format(fmt::runtime(std::string(f) + " to " + f), e.lo * scale, e.hi * scale) : "-";
    t.rows.push_back({name, fmt::format(fmt::runtime(f), e.value * scale), ci, fmt::format(fmt::runtime(f), whole * scale)});
  };
  row("throughput (requests/s)", w.request_throughput, r.request_throughput, 1, "{:.3f}");
  row("output tokens/s", w.output_throughput, r.output_throughput, 1, "{:.0f}");
  row("total tokens/s", w.total_throughput, r.total_throughput, 1, "{:.0f}");
  if (slo) row("goodput (requests/s)", w.goodput, r.goodput, 1, "{:.3f}");
  row("TTFT mean (ms)", w.ttft_mean, r.ttft.mean, 1e3, "{:.2f}");
  row("TTFT p99 (ms)", w.ttft_p99, r.ttft.p99, 1e3, "{:.2f}");
  row("TPOT mean (ms)", w.tpot_mean, r.tpot.mean, 1e3, "{:.2f}");
  row("TPOT p99 (ms)", w.tpot_p99, r.tpot.p99, 1e3, "{:.2f}");
  row("E2E mean (ms)", w.e2e_mean, r.e2e.mean, 1e3, "{:.2f}");
  row("E2E p99 (ms)", w.e2e_p99, r.e2e.p99, 1e3, "{:.2f}");
  t.print(os);
  if (w.usd_per_m_output_tokens > 0) {
    os << fmt::format("cost in the window: ${:.3f} per million input tokens, ${:.3f} per million output tokens "
                      "(prompt tokens took {:.1f}% of the GPU time; GPUs busy {:.1f}%)\n",
                      w.usd_per_m_input_tokens, w.usd_per_m_output_tokens, 100 * w.prefill_cost_share,
                      100 * w.utilisation);
  }
  os << "saturation: " << r.saturation_verdict << " — " << r.saturation.reason << "\n\n";
}

void report_serve(std::ostream& os, const sim::Scenario& s, const serve::ServeResult& r, Format f, json& doc) {
  doc = serve_json(s, r);
  if (f == Format::kJson) {
    os << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "metric,value\n";
    // The window's headline figures first (docs/metrics.md, "Headline metrics"), then the whole run.
    os << "saturation_verdict," << csv_field(r.saturation_verdict) << "\n";
    for (const auto& [k, v] : serve::headline_metrics(r)) os << "window." << k << "," << json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    for (const char* k : {"requests", "completed", "makespan_s", "request_throughput", "output_tokens_per_s",
                          "total_tokens_per_s", "goodput_requests_per_s", "preemptions", "gpu_busy", "mfu", "mbu",
                          "usd_per_million_output_tokens"}) {
      os << k << "," << doc[k].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    for (const char* k : {"ttft_s", "tpot_s", "itl_s", "e2e_s", "queueing_s"}) {
      for (const char* q : {"mean", "p50", "p90", "p95", "p99", "max"}) os << k << "." << q << "," << doc[k][q].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return;
  }
  const double gib = 1073741824.0;
  const auto& c = *s.serve->sim;
  os << fmt::format("{} — {} on {} × {} (tp {}, pp {}), engine {} (scheduler {}, budget {} tokens, {} sequences)\n",
                    s.name.empty() ? s.file : s.name, s.model.name, r.gpus, s.gpu.name, s.serve->layout.tp,
                    s.serve->layout.pp, r.engine, r.scheduler, c.scheduler.token_budget, c.scheduler.max_seqs);
  os << fmt::format("workload: {} requests, arrivals {}, input {}, output {}, seed {}\n", r.requests, r.arrival,
                    r.input_dist, r.output_dist, r.seed);
  os << "kernels priced by " << sim::efficiency_source(s) << "\n";
  os << fmt::format("memory per GPU: weights {:.1f} GiB, activations {:.1f} GiB, runtime {:.1f} GiB, KV cache {:.1f} GiB "
                    "({} tokens per replica)\n\n",
                    r.weights_bytes / gib, r.activation_bytes / gib, r.runtime_bytes / gib, r.kv_bytes / gib, r.kv_tokens);
  print_window(os, r, c.slo.any());
  Table t;
  t.header = {"whole run (ms)", "mean", "p50", "p90", "p95", "p99", "max"};
  t.right = {false, true, true, true, true, true, true};
  auto row = [&](const char* name, const serve::Percentiles& p) {
    t.rows.push_back({name, ms(p.mean), ms(p.p50), ms(p.p90), ms(p.p95), ms(p.p99), ms(p.max)});
  };
  row("time to first token", r.ttft);
  row("time per output token", r.tpot);
  row("inter-token latency", r.itl);
  row("end-to-end", r.e2e);
  row("queueing", r.queueing);
  t.print(os);
  os << "\n";
  os << fmt::format("whole run: {:.2f} requests/s, {:.0f} output tokens/s, {:.0f} total tokens/s over {:.1f} s, warm-up "
                    "and drain included\n",
                    r.request_throughput, r.output_throughput, r.total_throughput, r.makespan_s);
  if (c.slo.any()) {
    os << fmt::format("goodput (whole run): {:.2f} requests/s within the SLOs ({:.1f}% of requests)\n", r.goodput,
                      100 * r.slo_attainment);
  }
  os << fmt::format("GPUs busy {:.1f}%, MFU {:.1f}%, memory-bandwidth utilisation {:.1f}%; {} iterations, {} preemptions",
                    100 * r.gpu_busy, 100 * r.mfu, 100 * r.mbu, r.iterations, r.preemptions);
  if (r.cached_tokens > 0) os << fmt::format(", {} prompt tokens from the prefix cache", r.cached_tokens);
  os << "\n";
  if (r.spec_tokens_per_step > 0) os << fmt::format("speculative decoding: {:.2f} tokens per verification step\n", r.spec_tokens_per_step);
  if (r.usd_per_million_output_tokens > 0) {
    os << fmt::format("cost (whole run, all of it on output tokens): ${:.3f} per million output tokens\n",
                      r.usd_per_million_output_tokens);
  }
  for (const auto& n : r.notes) os << "note: " << n << "\n";
}

std::string render(void (*writer)(std::ostream&, const serve::ServeResult&), const serve::ServeResult& r) {
  std::ostringstream os;
  writer(os, r);
  return os.str();
}

}  // namespace

int cmd_serve(const ServeFlags& sf, const CommonFlags& f) {
  Format fmt_ = parse_format(f.format);
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  const sim::ResolvedScenario resolved = sim::resolve_scenario(sf.scenario, hwc, mc, resolve_options(f));
  const sim::Scenario& s = resolved.scenario;
  if (!s.serve || !s.serve->sim) {
    throw InputError(s.file, "expected a 'serve' section with a 'workload' for fathom serve, found none");
  }
  // Every output is checked before the run, and written only after it (and the record) succeeded.
  if (!sf.requests_out.empty()) OutputSet::check(sf.requests_out, "--requests-out");
  if (!sf.timeseries_out.empty()) OutputSet::check(sf.timeseries_out, "--timeseries-out");
  if (!sf.db.empty()) check_db_flag(sf.db);
  serve::ServeOptions o;
  if (sf.seed >= 0) o.seed = static_cast<uint64_t>(sf.seed);
  o.timeseries = !sf.timeseries_out.empty();
  // Per-request rows stream to a staged temporary as requests finish (a 100,000,000-request run
  // would not fit in memory); the file appears only when everything has succeeded.
  if (!sf.requests_out.empty()) {
    std::ostream& rows = outputs().stream(sf.requests_out, "--requests-out");
    serve::write_requests_csv_header(rows);
    o.on_request_done = [&rows](int64_t id, const serve::RequestRecord& rec) { serve::write_requests_csv_row(rows, id, rec); };
  }
  // A progress line on a terminal only (a log or a test sees nothing); SIGINT ends the process
  // through common/interrupt.h, so no cancellation token is needed here.
  const bool tty = ::isatty(2) != 0;
  if (tty) {
    o.on_progress = [](int64_t done, int64_t total) {
      std::cerr << fmt::format("\rserve: {}/{} requests ({:.0f}%)", done, total, total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0)
                << std::flush;
    };
  }
  const serve::ServeResult r = serve::simulate(s, o);
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (r.saturation_verdict == serve::kOverloaded) {
    std::cerr << "fathom: warning: serve: overloaded, the queue grows through the window: " << r.saturation.reason << "\n";
  }
  std::ostringstream os;
  json doc;
  report_serve(os, s, r, fmt_, doc);
  if (!sf.timeseries_out.empty()) stage_file(sf.timeseries_out, render(serve::write_timeseries_csv, r), "--timeseries-out");
  emit(os.str(), f);
  if (!sf.db.empty()) {
    store::RunRecord rec;
    rec.command = "serve";
    rec.scenario = sf.scenario;
    rec.scenario_text = resolved.text;
    rec.scenario_hash = resolved.hash;
    rec.fathom_version = version();
    rec.result_json = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    record_run(sf.db, rec);
  }
  return 0;
}

int cmd_validate_serving(const std::string& csv, bool queueing, int64_t requests, const CommonFlags& f) {
  Format fmt_ = parse_format(f.format);
  const ProgressMode progress = parse_progress_mode(f.progress);
  if (requests < 1000 || requests > 100'000'000) {
    throw FlagError("--queue-requests", fmt::format("expected 1000 to 100000000 requests, found {}", requests));
  }
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  hwc.apply_profile_choice(f.profile, "--profile");
  auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  const std::string path = csv.empty() ? (fs::path(data_dir()) / "validation" / "trtllm_throughput.csv").string() : csv;
  // Two calls, two progress sequences (each ends at done == total). SIGINT ends the process
  // (common/interrupt.h), so the CLI needs no cancellation token.
  serve::ValidationControl control;
  std::optional<ProgressLine> line;
  line.emplace("validate serving: throughput", "rows", progress);
  control.on_progress = line->callback();
  const train::ValidationTable t = serve::validate_trtllm(path, hwc, mc, serve::kTrtllmRequests, control);
  line.reset();
  std::vector<serve::QueueCheck> checks;
  if (queueing) {
    line.emplace("validate serving: queueing", "requests", progress);
    control.on_progress = line->callback();
    checks = serve::validate_queueing(hwc, mc, requests, 1, control);
    line.reset();
  }
  const auto longctx = serve::long_context_latency(hwc, mc);
  std::ostringstream os;
  if (fmt_ == Format::kJson) {
    json q = json::array();
    for (const auto& c : checks) {
      q.push_back({{"name", c.name}, {"rho", c.rho}, {"requests", c.requests}, {"service_mean_s", c.service_mean_s},
                   {"measured_wait_s", c.measured_wait_s}, {"theory_wait_s", c.theory_wait_s}, {"error", c.error},
                   {"tolerance", c.tolerance}, {"little_L", c.little_L}, {"little_lambda_W", c.little_lambda_W}});
    }
    json rows = json::array();
    for (const auto& r : t.rows) {
      rows.push_back({{"label", r.label}, {"config", r.config}, {"measured", r.measured}, {"predicted", r.predicted},
                      {"error", r.error}});
    }
    json lc = json::array();
    for (const auto& r : longctx) {
      lc.push_back({{"context", r.context}, {"decode_s", r.decode_s}, {"prefill_chunk_s", r.prefill_chunk_s}});
    }
    os << json{{"context", context("validate serving")},
               {"calibrated_profiles", hwc.calibrated_profiles()},
               {"queueing", q},
               {"long_context", lc},
               {"throughput", {{"name", t.name}, {"source", t.source}, {"metric", t.metric}, {"rows", rows},
                               {"median_abs_error", t.median_abs_error}, {"mean_abs_error", t.mean_abs_error},
                               {"max_abs_error", t.max_abs_error}}}}
              .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
       << "\n";
  } else if (fmt_ == Format::kCsv) {
    os << "table,label,config,measured,predicted,error\n";
    for (const auto& c : checks) {
      os << fmt::format("queueing,{},rho {},{:.9g},{:.9g},{:.6g}\n", c.name, c.rho, c.theory_wait_s, c.measured_wait_s, c.error);
    }
    for (const auto& r : t.rows) {
      os << fmt::format("throughput,{},{},{:.6g},{:.6g},{:.6g}\n", csv_field(r.label), csv_field(r.config), r.measured,
                        r.predicted, r.error);
    }
  } else {
    if (!checks.empty()) {
      os << "Queueing: one sequence at a time, Poisson arrivals (mean queueing delay)\n";
      Table q;
      q.header = {"model", "rho", "requests", "E[S] ms", "theory ms", "simulated ms", "error", "limit", "L", "λW"};
      q.right = {false, true, true, true, true, true, true, true, true, true};
      for (const auto& c : checks) {
        q.rows.push_back({c.name, fmt::format("{:.2f}", c.rho), std::to_string(c.requests), fmt::format("{:.3f}", c.service_mean_s * 1e3),
                          fmt::format("{:.3f}", c.theory_wait_s * 1e3), fmt::format("{:.3f}", c.measured_wait_s * 1e3),
                          fmt::format("{:+.2f}%", 100 * c.error), fmt::format("±{:.0f}%", 100 * c.tolerance),
                          fmt::format("{:.4f}", c.little_L), fmt::format("{:.4f}", c.little_lambda_W)});
      }
      q.print(os);
      os << "\n";
    }
    os << fmt::format("{} — {}\n", t.name, t.source);
    const std::string profiles = hwc.calibrated_profiles();
    os << "calibrated profiles: " << profiles
       << (profiles == "none" ? " (every GPU priced by the documented defaults)\n"
                              : "; every other GPU priced by the documented defaults\n");
    Table tt;
    tt.header = {"model / GPU", "config", "published tok/s", "predicted tok/s", "error"};
    tt.right = {false, false, true, true, true};
    for (const auto& r : t.rows) {
      tt.rows.push_back({r.label, r.config, fmt::format("{:.0f}", r.measured), fmt::format("{:.0f}", r.predicted),
                         fmt::format("{:+.1f}%", 100 * r.error)});
    }
    tt.print(os);
    os << fmt::format("median |error| {:.1f}%, mean {:.1f}%, max {:.1f}% over {} rows\n", 100 * t.median_abs_error,
                      100 * t.mean_abs_error, 100 * t.max_abs_error, t.rows.size());
    os << "\nLong contexts: Llama-3.1-8B on one H100, bf16 (cost chain, no calibrated range)\n";
    Table lt;
    lt.header = {"context", "decode step, 4 seqs (ms)", "added per token of context (ns)", "last 512-token prefill chunk (ms)"};
    lt.right = {true, true, true, true};
    for (size_t i = 0; i < longctx.size(); ++i) {
      const auto& r = longctx[i];
      const std::string slope =
          i == 0 ? "-"
                 : fmt::format("{:.1f}", (r.decode_s - longctx[i - 1].decode_s) / static_cast<double>(r.context - longctx[i - 1].context) * 1e9);
      lt.rows.push_back({std::to_string(r.context), fmt::format("{:.3f}", r.decode_s * 1e3), slope,
                         fmt::format("{:.3f}", r.prefill_chunk_s * 1e3)});
    }
    lt.print(os);
  }
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
