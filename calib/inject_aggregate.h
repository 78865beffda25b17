#pragma once
// Turns what the injection library (calib/inject/) recorded in someone else's program, kernels
// and NVTX ranges on CUPTI's timebase, into calibration measurements. Host-only and pure, so it
// is tested without a GPU; the injection library converts CUPTI's records to these structs.
//
// Plain kernels: grouped by (kernel name, grid, block, innermost enclosing NVTX range) and stored
// as kind "kernel" (no FLOPs or bytes): time_s the median duration, min_s, max_s, repeats the
// count, grid and block "x,y,z", nvtx the range name ("" outside every range).
//
// Labelled operations: a range named
//
//     fathom:KIND[/NAME]:DTYPE:SHAPE
//
// marks ONE operation of a kind Fathom fits (calib/measure.h): every kernel inside one instance
// of the range belongs to it (a GEMM may launch a split-K reduction too), their durations are
// summed per instance, and the stored time is the median over instances of the same label.
// FLOPs and bytes come from measure.h's conventions. The fields:
//   KIND   gemm | memory | elementwise | reduction | attention
//   NAME   memory: copy|read|write|triad (required: the kernel cannot tell them apart);
//          elementwise: silu_mul|add, reduction: rmsnorm|softmax (required);
//          gemm, attention: optional, default the kernel that took most of the time.
//   DTYPE  gemm: bf16|fp16|tf32|fp32|fp8 (as measure.h's dtype_size knows them); elementwise,
//          reduction and attention: a 2-byte type (bf16|fp16), as their bytes are counted in
//          bf16; memory: empty or any known type (ignored: bytes are the buffer's).
//   SHAPE  measure.h's shape text, exactly these keys:
//          gemm m,n,k[,batch]; memory bytes; elementwise/reduction rows,cols;
//          attention batch,heads,kv_heads,q,kv,d,causal.
// Examples: fathom:gemm:bf16:m=4096,n=4096,k=4096
//           fathom:memory/copy::bytes=1048576
//           fathom:reduction/rmsnorm:bf16:rows=4096,cols=8192
//           fathom:attention/flash_fwd:bf16:batch=1,heads=32,kv_heads=8,q=1024,kv=1024,d=128,causal=1
// A range whose name starts with "fathom:" but does not parse is treated as a plain range (its
// kernels become "kernel" records) and yields one warning per distinct label; nothing throws.
//
// Which range holds a kernel: NVTX ranges are host times and kernels run later, asynchronously.
// When the kernel's launch time is known (CUPTI's queued timestamp, host side), the innermost
// range is the shortest one whose [start, end] contains the launch time; otherwise the shortest
// one that contains the kernel's whole device interval [start, end] (right for code that
// synchronises before closing the range, and for nothing else). A kernel belongs to the operation
// of the innermost *fathom:* range that holds it, even when a framework's own range sits between
// them; nested fathom: ranges give the kernel to the inner one. Threads are not distinguished
// (CUPTI's kernel records carry none): in a program whose threads launch work concurrently, a
// kernel may land in a range another thread has open.
#include <cstdint>
#include <string>
#include <vector>

#include "calib/measure.h"
#include "store/calib_store.h"

namespace fathom::calib {

struct InjectedKernel {
  std::string name;
  uint64_t start_ns = 0, end_ns = 0;  // device execution, CUPTI timebase
  uint64_t launch_ns = 0;             // host time the launch was queued; 0 when unknown
  int32_t grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
};

struct InjectedRange {
  std::string name;
  uint64_t start_ns = 0, end_ns = 0;  // host push/pop (or start/end) times, CUPTI timebase
};

struct InjectionSummary {
  std::vector<store::MeasurementRecord> measurements;  // run_id 0: the caller sets it
  std::vector<std::string> warnings;                   // one line each
};

// A parsed fathom: label. `name` is empty when the label leaves it to the kernels.
struct OpLabel {
  std::string kind, name, dtype, shape;  // shape in measure.h's canonical order
  Work work;
};

// Parses "fathom:KIND[/NAME]:DTYPE:SHAPE" (syntax above); throws std::invalid_argument naming the
// label, what was expected and what was found.
OpLabel parse_op_label(const std::string& label);

// Measurements of `kernels`, grouped as described above; deterministic order (labelled
// operations by label, then kernels by name, grid, block and range).
InjectionSummary aggregate_injection(const std::vector<InjectedKernel>& kernels,
                                     const std::vector<InjectedRange>& ranges);

}  // namespace fathom::calib
