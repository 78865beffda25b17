#pragma once
// The timing protocol every benchmark of the suite shares (docs/calibration.md): random inputs
// rotated through a working set of several L2 sizes, `warmup` untimed launches, then `repeats`
// timed ones, each timed from CUPTI's device timestamps as the span from the first kernel's
// start to the last kernel's end (a cuBLASLt product or a split attention may run more than one
// kernel). Also the run's bookkeeping: progress, the GEMM time budget, pending records.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "calib/cuda/cuda_util.h"
#include "calib/cupti/tracer.h"
#include "calib/suite.h"

namespace fathom::calib::cuda {

struct DeviceFacts {
  int index = 0;
  int sms = 0;
  int cc_major = 0, cc_minor = 0;
  size_t l2_bytes = 0;
};

// A number as a person writes it ("4", "0.5", "600"), for notes.
std::string number_text(double v);
// "x,y,z" of a CUPTI grid or block.
std::string dims_text(const int32_t (&v)[3]);

struct Timing {
  std::vector<double> times;  // seconds, one per timed repeat
  std::string kernel;         // name of the longest kernel of the first timed repeat
  std::string grid, block;    // its launch geometry, "x,y,z"
};

class Bench {
 public:
  using Launch = std::function<void(int copy)>;
  using Check = std::function<void(int copy)>;

  Bench(const SuitePlan& plan, const DeviceFacts& device, cupti::ActivityTracer& tracer, store::CalibStore& db,
        int64_t run_id, const Progress& progress);

  const SuitePlan& plan() const { return plan_; }
  const DeviceFacts& device() const { return device_; }
  cudaStream_t stream() const { return stream_.get(); }
  int64_t run_id() const { return run_id_; }
  // Blocks for grid-stride kernels: a few per SM, enough to fill every SM's thread slots.
  int grid_blocks() const { return device_.sms * 8; }

  // Reports the next benchmark to `progress`; false once the caller has cancelled.
  bool begin(const std::string& what);
  // Counts benchmarks that will not run (over budget, unsupported), so progress still ends at its total.
  void skip(size_t n) { done_ += n; }
  bool cancelled() const { return cancelled_; }
  // True once plan.time_budget_s (> 0) has passed since the run started.
  bool over_budget() const;

  // Copies of a benchmark's buffers (`per_copy_bytes` each) for rotation: enough for
  // plan.rotate_factor × L2 and at least 2, capped at 40 % of the free device memory; 1 when
  // only one fits; 0 when not even one fits.
  int copies_for(size_t per_copy_bytes) const;
  // A seed-derived id for the next buffer filled, different for every buffer of the run.
  uint64_t next_buffer_id() { return ++buffer_ids_; }

  // Runs the protocol: syncs and discards what ran before (the fills), `warmup` launches, then
  // `repeats` timed ones on copies warmup, warmup + 1, … (mod copies). `check` (optional) runs
  // on the first timed repeat's copy, after it completed. A repeat that brought back no timed
  // kernel record runs again (twice at most); throws naming `label` when it still has none.
  Timing time(const std::string& label, int copies, const Launch& launch, const Check& check = {});

  // Syncs and discards earlier records, runs `work`, syncs, and returns its kernel records.
  std::vector<cupti::KernelRecord> trace(const std::string& label, const std::function<void()>& work);

  void synchronize(const std::string& label);
  void record(store::MeasurementRecord r, const Timing& t);
  // Writes the pending measurements (one transaction).
  void flush();
  // One line on stderr, "fathom calib run: <line>".
  void note(const std::string& line) const;

 private:
  const SuitePlan& plan_;
  DeviceFacts device_;
  cupti::ActivityTracer& tracer_;
  store::CalibStore& db_;
  int64_t run_id_;
  const Progress& progress_;
  Stream stream_;
  std::chrono::steady_clock::time_point start_;
  size_t done_ = 0, total_ = 0;
  bool cancelled_ = false;
  uint64_t buffer_ids_ = 0;
  std::vector<store::MeasurementRecord> pending_;
};

// The sections of the suite, in the order run_suite calls them. Each returns early when the
// progress callback cancels, and flushes what it measured.
void run_gemms(Bench& bench);
void run_memory(Bench& bench);
void run_rowwise(Bench& bench);
void run_attention(Bench& bench);
void run_launch(Bench& bench);

}  // namespace fathom::calib::cuda
