#pragma once
// The serving simulator: replicas of an inference engine (paged KV cache, prefix cache,
// scheduler, optional speculative decoding), behind a router, optionally split into prefill
// and decode pools, driven by a workload on the discrete-event engine. Metrics are defined in
// docs/metrics.md.
#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario.h"
#include "sim/serve/config.h"
#include "sim/serve/histogram.h"
#include "sim/serve/window.h"

namespace fathom::serve {

struct RequestRecord {
  int64_t arrival_ns = 0;
  int64_t scheduled_ns = -1;    // first admitted to a batch
  int64_t first_token_ns = -1;
  int64_t finish_ns = -1;
  int32_t input = 0;
  int32_t output = 0;   // per sample
  int32_t samples = 1;
  int32_t cached = 0;   // prompt tokens served from the prefix cache
  int32_t preemptions = 0;
  int32_t replica = -1;  // the replica that ran (disaggregated: decoded) it
};

struct TimePoint {
  double time_s = 0;
  int64_t arrived = 0, finished = 0;
  int64_t waiting = 0, running = 0;
  double kv_used = 0;            // fraction of KV blocks in use, mean over replicas
  double output_tokens_per_s = 0;  // over the interval ending here
};

struct ReplicaStats {
  std::string role;  // serve, prefill, decode
  int64_t iterations = 0;
  double busy_s = 0;
  int64_t kv_blocks = 0;
  int64_t block_size = 0;
  double kv_used_mean = 0, kv_used_max = 0;
  int64_t requests = 0;
};

// The figures of a whole run (first arrival to last completion, warm-up and drain included)
// stay as they were; reports lead with `window`, the steady-state figures with their 95%
// intervals, and `saturation_verdict` (window.h, docs/metrics.md).
struct ServeResult {
  std::string engine, scheduler, router, arrival, input_dist, output_dist;
  int replicas = 0;
  int gpus = 0;
  uint64_t seed = 0;
  // Memory per GPU of a replica (the first pool's, when disaggregated).
  double weights_bytes = 0, activation_bytes = 0, runtime_bytes = 0, kv_bytes = 0, gpu_memory_bytes = 0;
  double kv_bytes_per_token = 0;  // per GPU
  int64_t kv_tokens = 0;          // capacity per replica

  int64_t requests = 0, completed = 0;
  int64_t input_tokens = 0, output_tokens = 0, cached_tokens = 0, prefill_tokens_computed = 0;
  int64_t preemptions = 0, iterations = 0, events = 0;
  double makespan_s = 0;           // first arrival to last completion
  double request_throughput = 0;   // requests/s over the makespan
  double output_throughput = 0;    // output tokens/s
  double total_throughput = 0;     // (input + output) tokens/s
  double goodput = 0;              // requests/s meeting every SLO set
  double slo_attainment = 0;       // fraction of requests meeting every SLO set
  // Streaming summaries (histogram.h): exact count, mean and max; percentiles within 0.049%.
  Percentiles ttft, tpot, itl, e2e, queueing;
  double mean_in_system = 0;       // time average of requests in the system, L
  double arrival_rate = 0;         // λ = requests / makespan
  double mean_waiting = 0;         // time average of requests not yet scheduled
  double gpu_busy = 0;             // mean over replicas of busy time / makespan
  double mfu = 0, mbu = 0;         // model FLOPs and bytes over makespan × GPUs × peak
  double usd_per_million_output_tokens = 0;
  double spec_tokens_per_step = 0;  // mean tokens emitted per verification step (speculative)
  MeasurementWindow window;        // warm-up and drain excluded, with 95% intervals
  Saturation saturation;           // offered against served, queue growth
  std::string saturation_verdict;  // "stable", "near saturation", "overloaded" or "undetermined"
  std::vector<ReplicaStats> replica_stats;
  std::vector<TimePoint> timeseries;   // only with ServeOptions::timeseries
  std::vector<RequestRecord> records;  // in arrival order, only with ServeOptions::keep_records
  std::vector<std::string> notes;
};

// How a run reports. The simulation itself keeps memory proportional to the requests in the
// system; the options that keep something per request or per sample say what it costs.
struct ServeOptions {
  std::optional<uint64_t> seed;  // overrides the workload's seed; default: the workload's
  // Fill ServeResult::timeseries, one TimePoint (56 B) per serve.timeseries_interval_s of
  // simulated time. Default false.
  bool timeseries = false;
  // Fill ServeResult::records, one RequestRecord (48 B) per request for the whole run
  // (4.8 GB at 100,000,000 requests). Default false: use on_request_done to stream them.
  bool keep_records = false;
  // Called as each request completes, in completion order, with its arrival index (0-based, the
  // `id` column of write_requests_csv) and its record. Default: none.
  std::function<void(int64_t id, const RequestRecord& record)> on_request_done;
  // Called with each time-series sample as it is taken (every serve.timeseries_interval_s of
  // simulated time), whether or not `timeseries` keeps them. Default: none.
  std::function<void(const TimePoint& point)> on_timepoint;
  // Called with (requests completed, requests of the workload) when the run starts, after each
  // further 1% or so of the requests complete, and once at the end with (completed, completed).
  // Runs on the simulating thread; keep it cheap. Default: none.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Read (relaxed) at the first event and every 4096 events after (a few milliseconds of wall
  // time); once it is true the run throws fathom::Cancelled. Must outlive the call. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};

// Throws ConfigError when the replica cannot run (weights do not fit, the KV cache cannot hold
// one request of the maximum model length, ...), naming the scenario key, and Cancelled when
// options.cancel is set during the run. Deterministic: the same
// scenario and seed give the same result and the same callbacks, bit for bit.
ServeResult simulate(const sim::Scenario& s, const ServeOptions& options = {});

// Per-request CSV (docs/metrics.md): the header line, one row, or the header and all of
// ServeResult::records in arrival order. Streaming rows from on_request_done gives the same
// columns in completion order; the `id` column is the arrival index.
void write_requests_csv_header(std::ostream& os);
void write_requests_csv_row(std::ostream& os, int64_t id, const RequestRecord& record);
void write_requests_csv(std::ostream& os, const ServeResult& r);
// Time-series CSV: the header line, one row, or the header and all of ServeResult::timeseries.
void write_timeseries_csv_header(std::ostream& os);
void write_timeseries_csv_row(std::ostream& os, const TimePoint& point);
void write_timeseries_csv(std::ostream& os, const ServeResult& r);

}  // namespace fathom::serve
