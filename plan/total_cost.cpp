#include "plan/total_cost.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::plan {

namespace {

void check_fraction(double v, const std::string& where, const char* field) {
  if (!(v > 0 && v <= 1))
    throw ConfigError(where, fmt::format("{}: expected a fraction in (0, 1], found {}", field, v));
}

double price_of(const hw::GpuSpec& gpu, double override_usd, const char* what) {
  const double usd = override_usd > 0 ? override_usd : gpu.usd_per_gpu_hour;
  if (!(usd > 0))
    throw ConfigError(
        gpu.file.empty() ? gpu.name : gpu.file,
        fmt::format("{}: expected a price per GPU-hour for {} (usd_per_gpu_hour), found none", what, gpu.name));
  return usd;
}

double bf16_peak(const hw::GpuSpec& gpu, const char* what) {
  const double peak = gpu.peak(DType::kBf16);
  if (!(peak > 0))
    throw ConfigError(gpu.file.empty() ? gpu.name : gpu.file,
                      fmt::format("{}: expected a bf16 peak FLOP/s for {}, found none", what, gpu.name));
  return peak;
}

}  // namespace

void TrainingPriceOptions::validate(const std::string& where) const {
  check_fraction(mfu, where, "mfu");
  if (!(usd_per_gpu_hour >= 0 && std::isfinite(usd_per_gpu_hour)))
    throw ConfigError(where, fmt::format("usd_per_gpu_hour: expected a price >= 0, found {}", usd_per_gpu_hour));
}

void ServingPriceOptions::validate(const std::string& where) const {
  if (!(usd_per_gpu_hour >= 0 && std::isfinite(usd_per_gpu_hour)))
    throw ConfigError(where, fmt::format("usd_per_gpu_hour: expected a price >= 0, found {}", usd_per_gpu_hour));
  if (!(context_tokens >= 1 && std::isfinite(context_tokens)))
    throw ConfigError(where, fmt::format("context_tokens: expected at least 1 token, found {}", context_tokens));
  if (max_batch < 1) throw ConfigError(where, fmt::format("max_batch: expected at least 1, found {}", max_batch));
  check_fraction(memory_fraction, where, "memory_fraction");
  check_fraction(compute_efficiency, where, "compute_efficiency");
  check_fraction(bandwidth_efficiency, where, "bandwidth_efficiency");
  check_fraction(prefill_mfu, where, "prefill_mfu");
}

TrainingUsdFn default_training_usd(const hw::GpuSpec& gpu, const TrainingPriceOptions& o) {
  o.validate("training price");
  const double usd_per_s = price_of(gpu, o.usd_per_gpu_hour, "training") / 3600;
  const double flops_per_s = bf16_peak(gpu, "training") * o.mfu;
  return [usd_per_s, flops_per_s](const model::ModelSpec& m, double tokens) {
    const double n = model::count_params(m).total;
    return 6 * n * tokens / flops_per_s * usd_per_s;
  };
}

ServingUsdFn default_serving_usd(const hw::GpuSpec& gpu, const ServingPriceOptions& o) {
  o.validate("serving price");
  const double usd_per_gpu_s = price_of(gpu, o.usd_per_gpu_hour, "serving") / 3600;
  const double peak = bf16_peak(gpu, "serving");
  const double mem = gpu.memory_bytes, bw = gpu.memory_bw_Bps;
  if (!(mem > 0 && bw > 0))
    throw ConfigError(gpu.file.empty() ? gpu.name : gpu.file, "serving: expected the GPU's memory and bandwidth");
  const std::string gpu_name = gpu.name;
  return [=](const model::ModelSpec& m) {
    const model::ParamCount pc = model::count_params(m);
    const double weights = 2 * pc.total;  // bf16
    const double kv = model::kv_bytes_per_token(m, DType::kBf16);
    const double seq_bytes = kv * o.context_tokens;
    int g = 1;
    while (weights + seq_bytes > o.memory_fraction * mem * g) {
      g *= 2;
      if (g > 1024)
        throw ConfigError(m.name,
                          fmt::format("serving: {} bytes of weights do not fit on 1024 {} GPUs", weights, gpu_name));
    }
    const double free = o.memory_fraction * mem * g - weights;
    const double batch = std::clamp(std::floor(free / seq_bytes), 1.0, static_cast<double>(o.max_batch));
    const double compute_s = 2 * pc.active * batch / (g * peak * o.compute_efficiency);
    const double memory_s = (weights + batch * seq_bytes) / (g * bw * o.bandwidth_efficiency);
    const double step_s = std::max(compute_s, memory_s);
    ServingCost c;
    c.usd_per_output_token = g * usd_per_gpu_s * step_s / batch;
    c.usd_per_input_token = usd_per_gpu_s * 2 * pc.active / (peak * o.prefill_mfu);
    c.gpus = g;
    c.batch = batch;
    c.basis = fmt::format("roofline decode on {} x{}, batch {:g}, context {:g}, {}-bound", gpu_name, g, batch,
                          o.context_tokens, compute_s > memory_s ? "compute" : "memory");
    return c;
  };
}

}  // namespace fathom::plan
