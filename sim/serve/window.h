#pragma once
// The measurement window of a serving run, its 95% intervals and the saturation verdict
// (definitions and sources: docs/metrics.md, "Measurement window", "Intervals", "Saturation").
//
// Window: warm-up is cut by MSER-5 (White 1997; White, Cobb and Spratt 2000) on the number of
// requests in the system seen by each arrival; the window ends at the last arrival, so the drain
// after it is excluded. Intervals: sectioning (batch means) over 10 batches of consecutive
// arrivals in the window, Student t with B − 1 degrees of freedom (Law and Kelton, "Simulation
// Modeling and Analysis", 5th ed., ch. 9, §9.5; Asmussen and Glynn, "Stochastic Simulation", 2007,
// §III.5a). Verdict: least-squares slope of the time-average number in system over the batches,
// with its t interval. Memory is fixed: at most 1024 cells of 8 bytes and 128 blocks with three
// section histograms each, whatever the number of requests.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sim/serve/histogram.h"

namespace fathom::serve {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A point estimate with its 95% confidence interval; lo and hi are NaN (JSON null) when the
// window has too few batches or a batch has no value for it.
struct Estimate {
  double value = 0;
  double lo = kNaN, hi = kNaN;
  bool has_interval() const { return lo == lo && hi == hi; }
};

// What a run measured in its window: [start_s, end_s] = [arrival of the first request after
// the warm-up, last arrival]. Throughputs count what happened in that time (tokens emitted,
// requests completed); latencies are those of the requests that arrived in it, wherever they
// completed.
struct MeasurementWindow {
  // false: no window could be formed (fewer than kMinWindowRequests arrivals, or all arriving
  // at one instant); then every figure below is the whole-run one and no interval is given.
  bool formed = false;
  std::string rule;          // how it was cut, one line
  double start_s = 0, end_s = 0, duration_s = 0;
  int64_t first_request = 0;  // arrival index of the first request in the window (= warm-up requests)
  int64_t arrivals = 0;       // arrivals in [start, end)
  int64_t completions = 0;    // completions in [start, end)
  int64_t input_tokens = 0;   // prompt tokens of the requests whose first token came in the window
  int64_t output_tokens = 0;  // output tokens emitted in the window
  int batches = 0;            // sections behind the intervals (0: none)
  Estimate request_throughput;  // completions / duration, requests/s
  Estimate output_throughput;   // output tokens / duration, tokens/s
  Estimate total_throughput;    // (input + output tokens) / duration, tokens/s
  Estimate goodput;             // completions meeting every SLO set / duration, requests/s
  Estimate ttft_mean, ttft_p99, tpot_mean, tpot_p99, e2e_mean, e2e_p99;  // s
  double utilisation = 0;        // GPU-seconds of iterations / (GPUs × duration)
  double prefill_cost_share = 0;  // share of the GPU time spent on prompt tokens
  double usd_per_m_input_tokens = 0, usd_per_m_output_tokens = 0;
};

// Whether the offered load outruns the replicas, from the window.
struct Saturation {
  double offered_req_per_s = 0;  // arrivals in the window / duration
  double served_req_per_s = 0;   // completions in the window / duration
  // ρ̂ = utilisation × offered / served: ρ for one sequence at a time (busy fraction when
  // stable, λ/μ when overloaded); an upper bound for batching engines. NaN if nothing completed.
  double rho = 0;
  Estimate queue_growth_per_s;  // slope of the number in system, requests/s
  int64_t in_system_start = 0, in_system_end = 0;  // seen by the first and the last arrival
  std::string reason;  // the verdict's numbers in words
};

// Verdicts: "stable", "near saturation", "overloaded", "undetermined" (no window).
inline constexpr const char* kStable = "stable";
inline constexpr const char* kNearSaturation = "near saturation";
inline constexpr const char* kOverloaded = "overloaded";
inline constexpr const char* kUndetermined = "undetermined";

inline constexpr int64_t kMinWindowRequests = 400;  // 10 blocks of 40: at least 5 batches after MSER
inline constexpr int kBatches = 10;                  // sections of the window (Schmeiser 1982: 10 to 30)
inline constexpr int kMinBatches = 5;
inline constexpr double kMaterialGrowth = 0.01;      // queue growth worth a verdict, share of offered

// MSER truncation point (White 1997): for the series z_1..z_m, the d in [0, m/2] minimising
// Σ_{j>d} (z_j − z̄_d)² / (m − d)², the smallest such d on ties.
size_t mser_truncation(const std::vector<double>& z);

// The 0.975 quantile of Student's t with `df` ≥ 1 degrees of freedom: a table to 30, then the
// Cornish–Fisher expansion (Abramowitz and Stegun 26.7.5), within 10⁻⁷ beyond.
double student_t975(int df);

namespace detail {

// The engine's running totals, as the window sees them at an arrival (before it joins).
struct Counters {
  int64_t time_ns = 0;
  int64_t in_system = 0;   // requests arrived and not finished
  int64_t emitted = 0;     // output tokens emitted
  int64_t completed = 0;   // requests finished
  int64_t good = 0;        // of them, meeting every SLO set
  int64_t prompted = 0;    // prompt tokens of the requests that have emitted their first token
  double area_system = 0;  // ∫ in_system dt, request·ns
  double prefill_gpu_s = 0, decode_gpu_s = 0;  // GPU time of iterations started, split by token share
};

// Streams a run into cells (for MSER) and blocks (for the sections), merging neighbours in
// pairs when there are too many, so that memory stays fixed.
class WindowTracker {
 public:
  // Request `index` (arrival order, from 0) arrives; `now` is before it joins.
  void arrive(int64_t index, const Counters& now);
  // Request `index` completed with these latencies in ns (tpot_ns < 0: one output token).
  void complete(int64_t index, double ttft_ns, double tpot_ns, double e2e_ns);
  // The window, its intervals and the verdict. When no window can be formed it sets only
  // w.formed = false, w.rule and the verdict "undetermined" with its reason; the caller fills
  // in the whole-run figures.
  void finish(double usd_per_gpu_hour, int gpus, MeasurementWindow& w, Saturation& s, std::string& verdict) const;

 private:
  static constexpr int64_t kCellArrivals = 5;  // MSER-5
  static constexpr size_t kMaxCells = 1024;
  static constexpr int64_t kCellsPerBlock = 8;  // so at most 128 blocks
  struct Block {
    Counters start;
    SectionHistogram ttft, tpot, e2e;
  };
  void merge_pairs();

  int64_t cell_size_ = kCellArrivals;
  std::vector<int64_t> cells_;  // Σ in_system seen by the arrivals of each cell
  std::vector<Block> blocks_;
  Counters last_;  // at the last arrival
  int64_t arrivals_ = 0;
};

}  // namespace detail
}  // namespace fathom::serve
