#pragma once
// Serving predictions against closed-form queueing results and published throughput.
// Results: docs/validation.md, section "Serving".
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "sim/train/validate.h"

namespace fathom::serve {

// A scenario for one engine replica of `model` on `gpu` (tp GPUs), built without a file.
sim::Scenario make_serve_scenario(const model::ModelSpec& m, const hw::GpuSpec& gpu, int tp,
                                  const model::Precision& precision, const ServeConfig& config);

// Progress and cancellation of a validation run, for a front end to draw and to stop it.
struct ValidationControl {
  // Called with (work done, work in all) on the calling thread: once at the start with
  // (0, total), after each further 1% or so, and once at the end with (total, total); `done`
  // rises monotonically. The unit is named where each call is declared. Default: none.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Passed to every simulation (ServeOptions::cancel); once it is true the call throws
  // fathom::Cancelled within milliseconds. Must outlive the call. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};

struct QueueCheck {
  std::string name;        // "M/D/1", "M/M/1"
  double rho = 0;          // utilisation λ·E[S]
  int64_t requests = 0;
  double service_mean_s = 0;
  double measured_wait_s = 0;  // mean queueing delay
  double theory_wait_s = 0;
  double error = 0;            // measured / theory − 1
  double tolerance = 0;
  double little_L = 0, little_lambda_W = 0;  // time-average in system, λ × mean time in system
};

// One sequence at a time on Llama-3.1-8B / H100: deterministic service (fixed lengths) against
// the Pollaczek–Khinchine M/D/1 wait, and geometric output lengths (near-exponential service)
// against M/M/1, at utilisation 0.5 and 0.9, each over `requests` Poisson arrivals. Progress
// counts simulated requests over the six runs (two service-time probes and the four checks).
std::vector<QueueCheck> validate_queueing(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                          int64_t requests, uint64_t seed = 1, const ValidationControl& control = {});

// TensorRT-LLM maximum-throughput rows (data/validation/trtllm_throughput.csv): predicted
// output tokens/s against published, with the trtllm preset, every request arriving at once.
// Progress counts rows of the table.
inline constexpr int64_t kTrtllmRequests = 3000;  // per row
train::ValidationTable validate_trtllm(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                       const model::ModelCatalog& models, int64_t requests = kTrtllmRequests,
                                       const ValidationControl& control = {});

// Iteration latency of Llama-3.1-8B on one H100 from 1k to 128k tokens of context: a decode step
// of 4 sequences and the last 512-token prefill chunk of a prompt of that length.
struct LongContextRow {
  int64_t context = 0;
  double decode_s = 0;
  double prefill_chunk_s = 0;
};
std::vector<LongContextRow> long_context_latency(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models);

}  // namespace fathom::serve
