#pragma once
// Imports a PyTorch profiler trace (torch.profiler's export_chrome_trace, Kineto's Chrome-trace
// JSON, recorded with ProfilerActivity.CUDA and record_shapes=True) as calibration
// measurements: each GPU kernel is matched to the CPU op that launched it, the op's recorded
// input shapes give the measurement's kind, shape, FLOPs and bytes (calib/measure.h), and
// identical measurements are summarised (median, min, max, repeats). docs/calibration.md has
// the table below for users.
//
// Matching a kernel to its op. Kineto gives each kernel the "External id" of the CPU op that was
// innermost when it was launched, and the launch call (cat "cuda_runtime" or "cuda_driver") the
// kernel's "correlation". The launching op is, in this order:
//   1. a cpu_op with the kernel's External id. Several can share one (ops nested in some
//      PyTorch versions): the innermost (shortest) one whose interval holds the launch call
//      when the launch is in the trace, else the shortest one; ties go to the latest started.
//      When the launch is in the trace but no such op holds it, the id is not trusted (Kineto
//      before early 2024 wrote a kernel's own correlation there) and step 2 decides.
//   2. the launch call's own External id, as in 1, else the innermost cpu_op on the launching
//      thread whose interval holds the launch call.
//   3. none: the kernel is "unmatched" and imported as a plain kernel.
// Which op a kernel counts for (its "owner"), walking out from the launching op through the
// ops that enclose it on the same thread: the OUTERMOST attention or normalisation op when
// there is one (aten::rms_norm runs as pow, mean, add, rsqrt and mul kernels; the SDPA wrapper
// as flash or efficient kernels), else the INNERMOST recognised op (aten::linear runs
// aten::addmm or aten::mm, and under autocast also the aten::copy_ casts of its inputs, which
// are copies and not part of the GEMM), else none (plain kernel).
//
// Recognised ops (tensor arguments by position in "Input Dims"; "rows" = product of all but the
// last dimension, "cols" = the last):
//   gemm (name = the op, dtype of the first matrix: bf16, fp16, fp32 (TF32 cannot be told
//   apart), fp8; shape m,n,k[,batch]; work gemm_work):
//     aten::mm(a[m,k], b[k,n])   aten::addmm(bias, a[m,k], b[k,n])   aten::_scaled_mm(a, b): fp8
//     aten::bmm(a[B,m,k], b[B,k,n])   aten::baddbmm(c, a[B,m,k], b[B,k,n])
//     aten::linear(x[...,k], w[n,k], bias?): m = product of x's leading dimensions
//     aten::matmul(a, b): torch.matmul's rules (1-D operands become a row/column; a ≥3-D `a`
//       with a 2-D `b` folds into m; otherwise batch = product of the broadcast leading dims)
//   attention (name = the kernel that took most of the time; bf16 or fp16; work attention_work):
//     aten::scaled_dot_product_attention, aten::_scaled_dot_product_flash_attention,
//     aten::_scaled_dot_product_efficient_attention, aten::_scaled_dot_product_cudnn_attention:
//       q[batch..., heads, q, d], k[batch..., kv_heads, kv, d]
//     aten::_flash_attention_forward, aten::_efficient_attention_forward:
//       q[batch, q, heads, d], k[batch, kv, kv_heads, d]
//     causal from "Concrete Inputs" (is_causal; custom_mask_type != 0 for the efficient
//     kernel); when absent: not causal, with one warning.
//   reduction (bf16 or fp16; rows, cols of the input; work rowwise_work):
//     aten::rms_norm, aten::_fused_rms_norm → rmsnorm; aten::layer_norm, aten::native_layer_norm
//       → rmsnorm (Fathom has no layer-norm convention; the extra bias read is cols elements);
//     aten::softmax, aten::_softmax, aten::_safe_softmax → softmax (cols = last dimension
//       whatever the softmax dim).
//   elementwise (bf16 or fp16; rows, cols of the largest tensor argument; work rowwise_work):
//     aten::silu, aten::silu_, aten::gelu → silu_mul; aten::mul, aten::mul_, aten::add,
//     aten::add_ → add. These are Fathom's conventions (silu_mul reads two tensors, add reads
//     two), not each op's exact traffic.
//   memory: aten::copy_(dst, src) → name copy, shape bytes = numel(src) × element size of src,
//     dtype of src, work memory_work("copy", bytes).
// Everything else, an op whose shapes are missing (record_shapes off) or cannot be read, and
// elementwise, reduction and attention ops in other dtypes (their bytes are counted in 2-byte
// elements) become plain kernels: kind "kernel", name = the kernel's name, grid and block
// "x,y,z", no FLOPs or bytes, one measurement per kernel launch. A recognised op launching
// several kernels (a split-K GEMM and its reduction) is ONE instance timed by the sum of its
// kernels' durations; grid and block are kept when every instance ran one kernel with the same
// geometry. Only cat "kernel" events are timed: memcpy and memset events are counted and left
// out (a copy_ done by cudaMemcpy launches no kernel).
#include <cstddef>
#include <string>
#include <vector>

#include "store/calib_store.h"

namespace fathom::calib {

struct TorchTraceImport {
  // From the trace's "deviceProperties" entry for the device the kernels ran on (name, numSms,
  // totalGlobalMem, computeMajor.computeMinor); uuid "torch-trace:<name>" unless the entry has a
  // "uuid". Without deviceProperties: name "unknown GPU (from <file name>)".
  store::DeviceRecord device;
  // One per (kind, name, dtype, shape), plain kernels also per grid and block; sorted by kind,
  // name, dtype, shape, grid, block; run_id 0 (the caller sets it).
  std::vector<store::MeasurementRecord> measurements;
  size_t kernels = 0;            // cat "kernel" events read
  size_t ops = 0;                // distinct cpu_op events that launched at least one of them
  size_t unmatched_kernels = 0;  // kernels no cpu_op launched (imported as plain kernels)
  std::vector<std::string> warnings;  // one line each
};

// Reads and imports the trace at `path`. Throws InputError (nothing else) for an unreadable or
// malformed file ("file:line" and column for JSON syntax, the event index and field for a field
// of the wrong type) and for a trace without GPU kernels. Nothing is returned in part.
TorchTraceImport import_torch_trace(const std::string& path);

}  // namespace fathom::calib
