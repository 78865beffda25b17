// Memory per GPU of one pipeline stage: weights, gradients, optimizer state, activations kept for
// the backward pass, communication buffers, runtime and allocator allowance (docs/training.md,
// "Memory").
#include <algorithm>
#include <cmath>

#include "sim/train/stage.h"
#include "sim/train/train.h"

namespace fathom::train {

using model::Recompute;

MemoryBreakdown TrainModel::stage_memory(const TrainConfig& c, int i, double layers, double rc_layers, double dense,
                                         double expert) const {
  const auto& Lay = c.layout;
  const int p = Lay.pp;
  const double v = c.virtual_stages;
  const double m = static_cast<double>(c.microbatches());
  const double t = Lay.tp;
  const double act = dtype_bytes(precision_.activations);
  const double wb = dtype_bytes(precision_.weights == DType::kFp8 ? DType::kBf16 : precision_.weights);
  const double fp8_copy = precision_.gemm_dtype() == DType::kFp8 ? 1.0 : 0.0;
  const double h = static_cast<double>(m_.hidden_size);
  const double tokens_mb = static_cast<double>(c.microbatch) * static_cast<double>(c.seq_len) / Lay.cp;
  const double grad_b = dtype_bytes(c.grad_reduce_dtype);
  const double main_grad_b = dtype_bytes(c.main_grad_dtype);
  const double state_b = optimizer_state_bytes(c.optimizer);
  const double a_tok = activation_bytes_per_token_layer(m_, c, precision_.activations);
  const double ckpt_tok = act * h * (Lay.sequence_parallel ? 1.0 / t : 1.0);
  const int dpg = Lay.dp * Lay.cp;
  // Sharding groups: all dp × cp ranks, or the HSDP shard group.
  const int shard = c.zero >= 3 && c.shard_group > 0 ? c.shard_group : dpg;
  const int eshard = std::max(1, shard / Lay.ep);
  const int edpg = std::max(1, dpg / Lay.ep);

  MemoryBreakdown mb;
  mb.stage = i;
  mb.capacity = gpu_.memory_bytes;
  const double sd3 = c.zero >= 3 ? shard : 1, se3 = c.zero >= 3 ? eshard : 1;
  const double sd2 = c.zero >= 3 ? shard : c.zero >= 2 ? dpg : 1, se2 = c.zero >= 3 ? eshard : c.zero >= 2 ? edpg : 1;
  const double sd1 = c.zero >= 3 ? shard : c.zero >= 1 ? dpg : 1, se1 = c.zero >= 3 ? eshard : c.zero >= 1 ? edpg : 1;
  mb.weights = (dense / sd3 + expert / se3) * (wb + fp8_copy);
  mb.gradients = (dense / sd2 + expert / se2) * main_grad_b;
  mb.optimizer = c.offload_optimizer ? 0.0 : (dense / sd1 + expert / se1) * state_b;
  // Microbatches whose activations a stage holds under 1F1B: p − i (stage i), times
  // (1 + (p − 1)/(p·v)) for the interleaved schedule (Korthikanti et al. 2022, §4.2.3).
  double inflight = std::min<double>(m, p - i);
  if (v > 1) inflight *= 1.0 + (p - 1) / (p * v);
  inflight = std::max(1.0, std::min(inflight, m * v));
  const double full_layer = a_tok * tokens_mb;
  // Fully recomputed layers keep only their input (Korthikanti et al.: 2·s·b·h, split by TP
  // under sequence parallelism); the others keep everything.
  const bool full_rc = c.recompute == Recompute::kFull && rc_layers > 0;
  const double per_mb = (full_rc ? rc_layers * ckpt_tok * tokens_mb : 0.0) + (layers - (full_rc ? rc_layers : 0.0)) * full_layer;
  double acts = inflight * per_mb;
  if (full_rc) acts += full_layer;  // the layer being recomputed
  if (i == 0) acts += inflight * tokens_mb * (act + (c.dropout ? 1.0 : 0.0)) * h * (Lay.sequence_parallel ? 1.0 / t : 1.0);
  const double vocab_local = std::ceil(static_cast<double>(padded_vocab_size(m_.vocab_size, c)) / t);
  if (i == p - 1) {
    // Logits of the vocabulary-parallel head: the 16-bit output and the fp32 softmax kept for
    // the cross-entropy backward.
    acts += tokens_mb * (act + 4.0) * vocab_local;
  }
  if (c.offload_activations) acts = std::min(acts, 2.0 * full_layer + (i == p - 1 ? tokens_mb * (act + 4.0) * vocab_local : 0.0));
  mb.activations = acts;
  mb.inflight_microbatches = inflight;
  mb.activation_bytes_per_layer = full_layer;
  double buf = 0;
  if (dpg > 1 && c.zero <= 2) buf += 2.0 * std::min(kBucketElements, dense + expert) * grad_b;
  if (c.zero >= 3 && dpg > 1) {
    const double layer = (layer_dense_params_ / t + layer_expert_params_ / (t * Lay.ep)) * wb;
    // The layer computing and the gathers prefetched ahead of it.
    buf += (1.0 + c.prefetch_depth) * layer;
    // Without resharding after the forward pass, every layer's gathered parameters stay until
    // its backward pass.
    if (!c.reshard_after_forward) buf += std::max(0.0, layers - 1.0 - c.prefetch_depth) * layer;
  }
  if (Lay.tp > 1 && Lay.sequence_parallel) buf += tokens_mb * h * act;  // all-gathered layer input
  mb.buffers = buf;
  mb.runtime = kRuntimeReserveBytes;
  const double tensors = mb.weights + mb.gradients + mb.optimizer + mb.activations + mb.buffers;
  mb.fragmentation = kFragmentation * tensors;
  mb.total = tensors + mb.fragmentation + mb.runtime;
  return mb;
}

}  // namespace fathom::train
