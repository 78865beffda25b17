#pragma once
// What training and serving a model of a given size cost in dollars, for `fathom plan total
// --cost usd` (docs/planning-total.md). plan_total takes both as callbacks, so that the training
// planner (`plan train`) and the serving planner (`plan serve`) can replace the simple defaults
// below; the defaults are real, closed-form and documented, and need only a GPU of the catalog.
#include <functional>
#include <string>

#include "hw/gpu.h"
#include "sim/model/model_spec.h"

namespace fathom::plan {

// Dollars per token of serving a model: prompt (prefill) and generated (decode) tokens priced
// apart, since decode runs at a far lower utilisation (Sardana et al. 2024, §6).
struct ServingCost {
  double usd_per_input_token = 0;
  double usd_per_output_token = 0;
  int gpus = 0;       // GPUs of one replica (0: not reported)
  double batch = 0;   // decode batch the price assumes (0: not reported)
  std::string basis;  // how it was priced, for the report ("roofline decode on h100-sxm, ...")
};

// Dollars to train a model on `tokens` tokens (training cost is taken as proportional to tokens
// at a fixed model: plan_total evaluates it once per model size at 1e12 tokens and scales).
using TrainingUsdFn = std::function<double(const model::ModelSpec& model, double tokens)>;
// Dollars per served token of a model.
using ServingUsdFn = std::function<ServingCost(const model::ModelSpec& model)>;

// Default training price: 6·N·D FLOPs (N = every parameter, Kaplan et al. 2020 §2.1) at
// `mfu` × the GPU's dense bf16 peak, times `usd_per_gpu_hour`.
struct TrainingPriceOptions {
  double mfu = 0.4;                               // model FLOPs utilisation of training, (0, 1]
  double usd_per_gpu_hour = 0;                    // 0: the catalog's price of the GPU
  void validate(const std::string& where) const;  // ConfigError naming the field
};
TrainingUsdFn default_training_usd(const hw::GpuSpec& gpu, const TrainingPriceOptions& o);

// Default serving price, a roofline of one replica with bf16 weights and KV cache:
//   GPUs g: the smallest power of two whose memory × `memory_fraction` holds the weights plus the
//   KV cache of one sequence; decode batch B: as many sequences of `context_tokens` as the rest of
//   that memory holds, at most `max_batch`; one decode iteration takes
//     t = max(2·N·B / (g·peak_bf16·compute_efficiency), (W + B·c·kv) / (g·BW·bandwidth_efficiency))
//   (W weight bytes, kv bytes per token of context, c = context_tokens), so a generated token costs
//   g·price·t/B; a prompt token costs 2·N / (peak_bf16·prefill_mfu) GPU-seconds at the same price.
struct ServingPriceOptions {
  double usd_per_gpu_hour = 0;        // 0: the catalog's price of the GPU
  double context_tokens = 1024;       // mean KV context of a decoding sequence (tokens)
  int max_batch = 256;                // decode batch cap (sequences)
  double memory_fraction = 0.9;       // of GPU memory usable for weights and KV cache, (0, 1]
  double compute_efficiency = 0.5;    // of bf16 peak in decode's matrix products, (0, 1]
  double bandwidth_efficiency = 0.8;  // of memory bandwidth in decode, (0, 1]
  double prefill_mfu = 0.5;           // of bf16 peak in prefill, (0, 1]
  void validate(const std::string& where) const;
};
ServingUsdFn default_serving_usd(const hw::GpuSpec& gpu, const ServingPriceOptions& o);

}  // namespace fathom::plan
