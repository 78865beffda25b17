#include "hw/efficiency.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace fathom::hw {

void DefaultEfficiencyOptions::validate() const {
  auto frac = [](double v, const char* field) {
    if (!(v > 0 && v <= 1)) throw ConfigError("efficiency." + std::string(field), "expected a fraction in (0, 1], found " + std::to_string(v));
  };
  frac(gemm_bf16, "gemm_bf16");
  frac(gemm_fp8, "gemm_fp8");
  frac(gemm_other, "gemm_other");
  frac(attention, "attention");
  frac(attention_backward, "attention_backward");
  frac(memory, "memory");
  if (gemm_override != 0) frac(gemm_override, "gemm");
  if (memory_override != 0) frac(memory_override, "memory");
  if (tile_m < 1 || tile_n < 1) throw ConfigError("efficiency.tile", "expected a positive tile size");
  if (!(k_ramp >= 0)) throw ConfigError("efficiency.k_ramp", "expected a value >= 0");
  if (!(launch_overhead_s >= 0)) throw ConfigError("efficiency.launch_overhead", "expected a time >= 0");
}

DefaultEfficiencyModel::DefaultEfficiencyModel(DefaultEfficiencyOptions options) : options_(options) {
  options_.validate();
}

double DefaultEfficiencyModel::gemm_peak_fraction(DType t, const GpuSpec& gpu) const {
  if (options_.gemm_override > 0) return options_.gemm_override;
  const double peak = gpu.peak(t);
  if (peak <= 0) return options_.gemm_other;
  if ((t == DType::kBf16 || t == DType::kFp16) && gpu.measured.gemm_bf16_flops) {
    return std::min(1.0, *gpu.measured.gemm_bf16_flops / gpu.peak(DType::kBf16));
  }
  if (t == DType::kFp8 && gpu.measured.gemm_fp8_flops) {
    return std::min(1.0, *gpu.measured.gemm_fp8_flops / peak);
  }
  if (t == DType::kBf16 || t == DType::kFp16) return options_.gemm_bf16;
  if (t == DType::kFp8 || t == DType::kFp4) return options_.gemm_fp8;
  return options_.gemm_other;
}

double DefaultEfficiencyModel::wave_efficiency(int64_t m, int64_t n, int64_t k, const GpuSpec& gpu,
                                               int64_t batch) const {
  if (m <= 0 || n <= 0 || gpu.compute_units <= 0) return 1.0;
  // Skinny products (decode) use half-height tiles: 64 rows is the smallest Hopper warpgroup MMA.
  const double tm = m <= options_.tile_m / 2 ? options_.tile_m / 2.0 : static_cast<double>(options_.tile_m);
  const double tn = static_cast<double>(options_.tile_n);
  const double tiles = std::ceil(static_cast<double>(m) / tm) * std::ceil(static_cast<double>(n) / tn) *
                       static_cast<double>(std::max<int64_t>(1, batch));
  const double slots = static_cast<double>(gpu.compute_units);
  // Split-K (or stream-K) fills idle SMs when there are fewer output tiles than SMs, as long as
  // each split keeps at least `min_split_k` of depth.
  double split = 1;
  if (tiles < slots && k > 0) {
    split = std::max(1.0, std::min(std::floor(slots / tiles), std::floor(static_cast<double>(k) / options_.min_split_k)));
  }
  const double waves = std::ceil(tiles * split / slots);
  // Tiles smaller than a full tile still occupy one: the M or N remainder wastes compute.
  const double useful =
      static_cast<double>(m) * static_cast<double>(n) / (tm * tn) * static_cast<double>(std::max<int64_t>(1, batch)) * split;
  return std::min(1.0, useful / (waves * slots));
}

double DefaultEfficiencyModel::compute_efficiency(const Op& op, const GpuSpec& gpu) const {
  switch (op.kind) {
    case OpKind::kGemm: {
      double e = gemm_peak_fraction(op.dtype, gpu) * wave_efficiency(op.m, op.n, op.k, gpu, op.batch);
      if (op.k > 0) e *= static_cast<double>(op.k) / (static_cast<double>(op.k) + options_.k_ramp);
      return std::max(e, 1e-3);
    }
    case OpKind::kAttention: {
      const double pass = op.pass == Pass::kBackward ? options_.attention_backward : 1.0;
      if (gpu.measured.attention_bf16_flops && gpu.peak(DType::kBf16) > 0) {
        return pass * std::min(1.0, *gpu.measured.attention_bf16_flops / gpu.peak(DType::kBf16));
      }
      return pass * options_.attention;
    }
    default:
      // Element-wise work runs on the vector units; these kernels are memory-bound, and the
      // vector peak (fp32 non-tensor) times the memory fraction bounds their arithmetic.
      return options_.memory;
  }
}

double DefaultEfficiencyModel::memory_efficiency(const Op&, const GpuSpec& gpu) const {
  if (options_.memory_override > 0) return options_.memory_override;
  if (gpu.measured.memory_copy_Bps) return std::min(1.0, *gpu.measured.memory_copy_Bps / gpu.memory_bw_Bps);
  return options_.memory;
}

double DefaultEfficiencyModel::launch_overhead_s(const Op&, const GpuSpec&) const {
  return options_.launch_overhead_s;
}

}  // namespace fathom::hw
