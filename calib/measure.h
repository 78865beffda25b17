#pragma once
// One definition of what a calibration measurement means: how its shape is written, and how
// many FLOPs and bytes each kind of kernel does. The microbenchmarks, the synthetic generator,
// the PyTorch-trace importer, the injection library and the profile fitter all use these, so a
// GEMM measured on the GPU and one imported from a trace are counted the same way.
//
// Kinds and names (docs/calibration.md):
//   gemm        name "cublasLt" (suite) or the framework op; dtype bf16|fp16|tf32|fp32|fp8;
//               shape "m=,n=,k=" (+ ",batch=" when > 1); flops 2·m·n·k·batch; bytes: A and B in the
//               input type, D in the output type (fp32 for tf32/fp32, bf16 otherwise).
//   memory      name copy|read|write|triad; shape "bytes=" (one buffer); bytes moved: copy 2×,
//               read 1×, write 1×, triad 3× the buffer; triad flops 2 per fp32 element.
//   elementwise name silu_mul|add; shape "rows=,cols="; bf16; silu_mul reads 2 and writes 1
//               rows×cols tensors (flops 5 per output element), add reads 2 writes 1 (1 flop).
//   reduction   name rmsnorm|softmax; shape "rows=,cols="; bf16; reads rows×cols (+ cols of
//               weight for rmsnorm), writes rows×cols; flops 4 per element (rmsnorm), 5 (softmax).
//   attention   name of the kernel; shape "batch=,heads=,kv_heads=,q=,kv=,d=,causal="; flops
//               4·batch·heads·q·kv·d (× the causal fraction of the q×kv score matrix); bytes Q, K,
//               V and O once each in bf16.
//   launch      name empty_kernel; time_s is the median idle gap (one kernel's end to the next
//               one's start) of back-to-back launches on one stream.
//   kernel      anything recorded from a program that is not recognised (no FLOPs or bytes).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/calib_store.h"

namespace fathom::calib {

// "m=4096,n=4096,k=4096" ⇄ {{"k",4096},{"m",4096},{"n",4096}}; the writer keeps the caller's
// order. Throws std::invalid_argument naming the bad part.
using ShapeMap = std::map<std::string, int64_t>;
ShapeMap parse_shape(const std::string& text);
std::string format_shape(const std::vector<std::pair<std::string, int64_t>>& parts);
// The value of `key`, or throws std::invalid_argument("shape '…' has no 'key'").
int64_t shape_get(const ShapeMap& s, const std::string& key);

struct GemmShape {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool operator<(const GemmShape& o) const;
  bool operator==(const GemmShape& o) const = default;
};

struct AttentionShape {
  int64_t batch = 1, heads = 32, kv_heads = 8, q_len = 1, kv_len = 1, head_dim = 128;
  bool causal = false;
};

struct Work {
  double flops = 0;
  double bytes = 0;
};

// Element size in bytes of a measurement dtype ("bf16", "fp8", "tf32", ...); throws
// std::invalid_argument for an unknown one.
double dtype_size(const std::string& dtype);
// The output dtype of a GEMM with input `dtype` (fp32 for tf32/fp32, bf16 otherwise).
std::string gemm_output_dtype(const std::string& dtype);

Work gemm_work(const GemmShape& g, const std::string& dtype);
Work memory_work(const std::string& name, double buffer_bytes);  // copy|read|write|triad
Work rowwise_work(const std::string& name, int64_t rows, int64_t cols);  // silu_mul|add|rmsnorm|softmax
Work attention_work(const AttentionShape& a);
// The kind of a rowwise kernel name: "elementwise" or "reduction".
std::string rowwise_kind(const std::string& name);

std::string gemm_shape_text(const GemmShape& g);
std::string attention_shape_text(const AttentionShape& a);
GemmShape gemm_from_shape(const std::string& text);            // throws std::invalid_argument
AttentionShape attention_from_shape(const std::string& text);  // throws std::invalid_argument

// Median, min and max of `times` (seconds) as a measurement; `times` must not be empty.
store::MeasurementRecord summarise(std::string kind, std::string name, std::string dtype, std::string shape,
                                   Work work, std::vector<double> times);

}  // namespace fathom::calib
