#include "hw/roofline.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace fathom::hw {

double Roofline::attainable(double intensity) const { return std::min(peak_flops, intensity * bandwidth_Bps); }

double gemm_peak_flops(const GpuSpec& gpu, DType t) {
  // The same choice as CostModel::cost for matrix work.
  double peak = gpu.peak(t);
  if (peak <= 0) peak = gpu.peak(DType::kBf16) > 0 ? gpu.peak(DType::kBf16) : gpu.peak(DType::kFp16);
  return peak;
}

Roofline datasheet_roofline(const GpuSpec& gpu, DType t) { return {t, gemm_peak_flops(gpu, t), gpu.memory_bw_Bps}; }

Op steady_state_gemm(const GpuSpec& gpu, DType t) {
  Op op;
  op.name = "roofline.gemm";
  op.kind = OpKind::kGemm;
  op.dtype = t;
  const int64_t side = int64_t{8192} * std::max(1, gpu.compute_units);
  op.m = side;
  op.n = side;
  op.k = int64_t{1} << 40;
  return op;
}

Roofline gemm_roofline(const GpuSpec& gpu, DType t, const EfficiencyModel& model) {
  const Op op = steady_state_gemm(gpu, t);
  return {t, gemm_peak_flops(gpu, t) * model.compute_efficiency(op, gpu),
          gpu.memory_bw_Bps * model.memory_efficiency(op, gpu)};
}

std::vector<std::pair<double, double>> roofline_curve(const Roofline& r, double lo, double hi, int n) {
  FATHOM_CHECK(lo > 0 && hi > lo && n >= 2);
  std::vector<std::pair<double, double>> out;
  const double step = std::log(hi / lo) / (n - 1);
  const double ridge = r.ridge();
  bool ridge_done = !(ridge > lo && ridge < hi);
  for (int i = 0; i < n; ++i) {
    const double x = i == n - 1 ? hi : lo * std::exp(step * i);
    if (!ridge_done && ridge <= x * (1 + 1e-9)) {
      ridge_done = true;
      out.emplace_back(ridge, r.attainable(ridge));
      if (std::abs(x - ridge) <= 1e-9 * x) continue;  // the sample is the ridge
    }
    out.emplace_back(x, r.attainable(x));
  }
  return out;
}

}  // namespace fathom::hw
