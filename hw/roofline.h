#pragma once
// The roofline of a GPU for one data type (Williams, Waterman and Patterson, CACM 2009): the
// FLOP/s attainable at arithmetic intensity I (FLOP per byte of device memory traffic) is
//   min(P, I · BW).
// The datasheet roofline takes P and BW from the GPU file. The cost chain's roofline takes them
// through an efficiency model, exactly as hw::CostModel prices a GEMM in steady state (full
// waves, K → ∞): P_dtype · η_c and BW · η_m, so that a profile's (or the defaults') line is what
// `t = max(F / (P·η_c), B / (BW·η_m))` gives for that GEMM at any F/B.
#include <utility>
#include <vector>

#include "common/dtype.h"
#include "hw/efficiency.h"
#include "hw/gpu.h"
#include "hw/operation.h"

namespace fathom::hw {

struct Roofline {
  DType dtype = DType::kBf16;
  double peak_flops = 0;     // the compute ceiling, FLOP/s
  double bandwidth_Bps = 0;  // the memory slope, bytes/s

  // The intensity (FLOP/byte) where the slope meets the ceiling.
  double ridge() const { return peak_flops / bandwidth_Bps; }
  // min(peak_flops, intensity · bandwidth_Bps).
  double attainable(double intensity) const;
};

// The tensor peak CostModel uses for a GEMM of data type `t` (a type the GPU lacks falls back to
// bf16, then fp16, as CostModel does).
double gemm_peak_flops(const GpuSpec& gpu, DType t);

// From the datasheet: P_t and the peak memory bandwidth.
Roofline datasheet_roofline(const GpuSpec& gpu, DType t);
// From an efficiency model (defaults or a calibrated profile): the ceiling and slope of a
// steady-state GEMM of type `t`, η read through the model's own compute_efficiency and
// memory_efficiency.
Roofline gemm_roofline(const GpuSpec& gpu, DType t, const EfficiencyModel& model);

// The GEMM the cost chain's roofline is read at: M = N = 8192 · SMs (whole waves of 128×128 or
// 64×64 tiles), K = 2^40 (the K ramp's factor K / (K + k) within 1e-10 of 1); flops and bytes 0.
Op steady_state_gemm(const GpuSpec& gpu, DType t);

// The roofline sampled for a chart: `n` log-spaced intensities from `lo` to `hi` (inclusive),
// plus the ridge where it lies inside; (intensity, attainable FLOP/s) in increasing intensity.
std::vector<std::pair<double, double>> roofline_curve(const Roofline& r, double lo, double hi, int n = 64);

}  // namespace fathom::hw
