#pragma once
// The calibration suite: what `fathom calib run` measures on a GPU, and the entry point that
// runs it. Host-only header: callers need no CUDA. The suite itself (calib/cuda/) is built when
// the CUDA toolkit is found; without it, run_suite throws NoGpuError.
//
// Method (docs/calibration.md): inputs are random (never zeros), buffers rotate through a
// working set several times the L2 cache so that repeats do not measure the cache, each
// benchmark runs `warmup` launches first, then `repeats` timed ones, and the stored time is the
// median. Every time comes from CUPTI's activity records (device timestamps of each kernel);
// none from host clocks or CUDA events.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "calib/measure.h"
#include "store/calib_store.h"

namespace fathom::calib {

struct RowwiseShape {
  int64_t rows = 0, cols = 0;
};

struct SuitePlan {
  // In the order they run: a time budget cuts the last first, so tf32 (twice as slow, and no
  // model's serving type) comes last. fp8 only where supported.
  std::vector<std::string> gemm_dtypes = {"bf16", "fp8", "fp16", "tf32"};
  std::vector<GemmShape> gemms;            // run in every dtype of gemm_dtypes
  std::vector<double> memory_bytes;        // one buffer's size, for copy, read, write and triad
  std::vector<RowwiseShape> rowwise;       // silu_mul, add, rmsnorm, softmax over each
  std::vector<AttentionShape> attention;   // Fathom's own tiled kernel, prefill and decode shapes
  int launch_samples = 2000;               // back-to-back empty kernels for the launch gap
  int warmup = 3;
  int repeats = 15;
  double rotate_factor = 4;  // working set ≥ this × L2 for rotation
  uint64_t seed = 1;         // of the random inputs
  double time_budget_s = 0;  // > 0: stop measuring GEMMs beyond this wall time (the rest is kept)

  size_t benchmark_count() const;  // what progress counts to
};

// The plan without model GEMMs: a fixed grid of square and skinny GEMMs, memory sizes from
// 1/8 of a 50 MB L2 to 64× it, rowwise and attention shapes. `quick` is a small subset
// (a minute on an H100-class GPU).
SuitePlan default_plan(bool quick);
// Adds GEMM shapes, keeping the list sorted and without duplicates; a shape with a size ≤ 0 is
// dropped.
void add_gemm_shapes(SuitePlan& plan, const std::vector<GemmShape>& shapes);

// Called between benchmarks; returning false cancels the run (what was measured is kept).
using Progress = std::function<bool(const std::string& what, size_t done, size_t total)>;

// No GPU could be used: no driver, no device, or a build without CUDA. The CLI exits 3.
class NoGpuError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

bool built_with_cuda();

// Runs the plan on CUDA device `device` and records the device, one run of kind "microbench"
// (provenance from CUDA and NVML: name, UUID, SMs, memory, compute capability, driver and CUDA
// versions, SM and memory clocks at start and end, host, time) and every measurement in `db`,
// written in batches as the run goes. Returns the run id. Throws NoGpuError before writing
// anything when no GPU can be used; std::runtime_error naming the CUDA/CUPTI/cuBLASLt call
// that failed otherwise.
int64_t run_suite(const SuitePlan& plan, store::CalibStore& db, int device, const Progress& progress);

}  // namespace fathom::calib
