#pragma once
// The synthetic measurement generator (`fathom calib synth`): kernel times for a suite plan,
// computed from a documented ground truth instead of measured, and stored as a run of kind
// "synthetic" on a device whose UUID starts with "synthetic-". It exists so that fitting and
// reporting are tested here, on a machine without a GPU, against numbers whose truth is known.
// It is not a substitute for `fathom calib run`.
//
// The ground truth (docs/calibration.md) is deliberately not the fitted model's exact form: a
// smooth maximum (4-norm) of compute and memory time instead of a hard one, an L2 bonus for
// small buffers, and log-normal noise on every repeat.
#include <cstdint>

#include "calib/suite.h"
#include "hw/gpu.h"
#include "store/calib_store.h"

namespace fathom::calib {

struct SyntheticOptions {
  uint64_t seed = 1;
  double noise = 0.02;  // standard deviation of the log of each repeat's time
  int repeats = 9;
};

// The generator's ground truth for one GPU (the same for every GPU, scaled by its datasheet).
struct SyntheticTruth {
  double gemm_bf16 = 0.80, gemm_fp16 = 0.80, gemm_tf32 = 0.72, gemm_fp8 = 0.68;
  double gemm_k_half = 96;
  double gemm_memory = 0.86;
  double gemm_fixed_s = 3.0e-6;
  double copy = 0.90, read = 0.93, write = 0.91, triad = 0.89;
  double memory_fixed_s = 2.2e-6;
  double l2_bonus = 0.10;  // time × (1 − bonus · L2 / (bytes + L2))
  double elementwise = 0.82, elementwise_fixed_s = 2.4e-6;
  double reduction = 0.74, reduction_fixed_s = 3.1e-6;
  double attention = 0.30, attention_memory = 0.70, attention_fixed_s = 5.0e-6;
  double launch_gap_s = 2.0e-6;
};

// The noiseless time of one kernel under the truth (for tests).
double synthetic_time(const SyntheticTruth& truth, const store::MeasurementRecord& m, const hw::GpuSpec& gpu);

// Writes the device, one run of kind "synthetic" and one measurement per benchmark of `plan`
// (median of `repeats` noisy samples) into `db`; returns the run id. Deterministic in the seed.
int64_t generate_synthetic(const SuitePlan& plan, const hw::GpuSpec& gpu, store::CalibStore& db,
                           const SyntheticOptions& options, const SyntheticTruth& truth = {});

}  // namespace fathom::calib
