#pragma once
// Efficiency models: the fraction of a GPU's datasheet peak that an operation reaches.
// The default model below is documented in docs/cost_model.md; a calibrated profile (issue:
// calibration) implements the same interface and replaces it.
#include <memory>
#include <string>

#include "hw/gpu.h"
#include "hw/operation.h"

namespace fathom::hw {

class EfficiencyModel {
 public:
  virtual ~EfficiencyModel() = default;
  virtual std::string name() const = 0;
  // Fraction of peak FLOP/s reached by `op` (in (0, 1]), including wave quantisation.
  virtual double compute_efficiency(const Op& op, const GpuSpec& gpu) const = 0;
  // Fraction of peak memory bandwidth reached by `op`.
  virtual double memory_efficiency(const Op& op, const GpuSpec& gpu) const = 0;
  // Fixed time per kernel (launch and kernel-to-kernel gap).
  virtual double launch_overhead_s(const Op& op, const GpuSpec& gpu) const = 0;
};

// Constants of the default model; every one is documented with its source in
// docs/cost_model.md and may be overridden in a scenario's `efficiency:` section.
struct DefaultEfficiencyOptions {
  // Best achievable dense GEMM fraction of peak when the GPU file has no measurement:
  // median of the MAMF table in ml-engineering (A100 0.869, H100 0.803, B200 0.776) for bf16,
  // and H100/H200 0.709/0.734 for fp8.
  double gemm_bf16 = 0.80;
  double gemm_fp8 = 0.72;
  double gemm_other = 0.75;  // fp32/tf32/int8 without a measurement
  // FlashAttention forward fraction of peak when unmeasured (FlashAttention-2 paper: 50–73% on A100;
  // 35% on H100 for FA2, 75% for FA3): 0.5.
  double attention = 0.50;
  // Fused attention backward relative to its forward: FlashAttention-2 reaches up to 73% of the
  // A100's peak forward and up to 63% backward (Dao 2023, abstract and §4.1): 0.63 / 0.73.
  double attention_backward = 0.863;
  // Fraction of peak bandwidth a streaming kernel reaches when unmeasured (STREAM copy:
  // A100 0.79, H100 0.87, H200 0.84, B200 0.92 in hardware_reference.csv): 0.85.
  double memory = 0.85;
  // Output tile of the GEMM kernel for wave quantisation (cuBLAS/CUTLASS 128×128 class tiles).
  int tile_m = 128;
  int tile_n = 128;
  // Smallest K depth per split when split-K spreads a GEMM with few output tiles over the SMs.
  double min_split_k = 512;
  // Depth at which a GEMM main loop reaches steady state: efficiency × K / (K + k_ramp).
  double k_ramp = 64;
  // Kernel launch and inter-kernel gap, seconds (approximate, see docs/cost_model.md).
  double launch_overhead_s = 1.5e-6;
  // If > 0, overrides the per-GPU measured figures.
  double gemm_override = 0;
  double memory_override = 0;

  void validate() const;  // throws ConfigError naming the field
};

class DefaultEfficiencyModel final : public EfficiencyModel {
 public:
  explicit DefaultEfficiencyModel(DefaultEfficiencyOptions options = {});
  std::string name() const override { return "default"; }
  double compute_efficiency(const Op& op, const GpuSpec& gpu) const override;
  double memory_efficiency(const Op& op, const GpuSpec& gpu) const override;
  double launch_overhead_s(const Op& op, const GpuSpec& gpu) const override;
  const DefaultEfficiencyOptions& options() const { return options_; }

  // The largest GEMM fraction of peak for a data type on this GPU (before shape effects).
  double gemm_peak_fraction(DType t, const GpuSpec& gpu) const;
  // Fraction of the GPU's SMs busy over the waves of an M×N output (tile quantisation).
  double wave_efficiency(int64_t m, int64_t n, int64_t k, const GpuSpec& gpu, int64_t batch = 1) const;

 private:
  DefaultEfficiencyOptions options_;
};

}  // namespace fathom::hw
