// GEMM section: cuBLASLt products over plan.gemms × plan.gemm_dtypes (see lt_gemm.h for the
// layout), each dtype first checked on one small product against the host.
#include <optional>

#include "calib/cuda/bench.h"
#include "calib/cuda/lt_gemm.h"
#include "calib/cuda/reference.h"

namespace fathom::calib::cuda {

namespace {

// cuBLASLt's recommended workspace on Hopper is 32 MiB; the heuristic may use less.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;
// m, n and k all differ (a swapped dimension or operand cannot pass), are multiples of 16
// (what FP8 asks of n and k) and not of 64 (partial tiles get exercised).
constexpr GemmShape kCheckShape{112, 208, 336, 1};

bool fp8_supported(const DeviceFacts& d) { return d.cc_major > 8 || (d.cc_major == 8 && d.cc_minor >= 9); }
// FP8 (TN): K and the leading dimensions must be 16-byte multiples, so k (the ld of X and W) and
// n (the ld of Y, and W's rows) are multiples of 16; m, the column count of cuBLASLt's B and D,
// is free (decode products have m = 1, as torch._scaled_mm allows).
bool fp8_shape_ok(const GemmShape& g) { return g.n % 16 == 0 && g.k % 16 == 0; }

size_t elements(int64_t rows, int64_t cols, int64_t batch) {
  return static_cast<size_t>(rows) * static_cast<size_t>(cols) * static_cast<size_t>(batch);
}

double flops_of(const GemmShape& g) {
  return static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k) * static_cast<double>(g.batch);
}

// Roles of a product's buffers: X [m×k], W [n×k], Y [m×n] per batch.
std::vector<size_t> roles(const GemmTypes& t, const GemmShape& g) {
  return {elements(g.m, g.k, g.batch) * elem_bytes(t.in), elements(g.n, g.k, g.batch) * elem_bytes(t.in),
          elements(g.m, g.n, g.batch) * elem_bytes(t.out)};
}

void compare_with_host(const GemmTypes& t, const GemmShape& g, const void* x, const void* w, const void* y,
                       const std::string& what) {
  const std::vector<float> xs = fetch(x, elements(g.m, g.k, g.batch), t.in);
  const std::vector<float> ws = fetch(w, elements(g.n, g.k, g.batch), t.in);
  const std::vector<float> ys = fetch(y, elements(g.m, g.n, g.batch), t.out);
  require_close(compare_rows(ys, gemm_reference(xs, ws, g), g.m * g.batch, g.n), kCheckTolerance, what);
}

// One product of kCheckShape on fresh inputs, compared with the host; returns false (after a
// note) when cuBLASLt has no algorithm for it or refuses to run the one it picked.
bool self_check(Bench& bench, const LtHandle& lt, const GemmTypes& t, const DeviceBuffer& workspace) {
  const std::string label = "cuBLASLt " + t.dtype + " self-check " + gemm_shape_text(kCheckShape);
  std::optional<LtMatmul> made;
  try {
    made.emplace(lt, t, kCheckShape, kWorkspaceBytes);
  } catch (const LtError& e) {  // a descriptor or layout cuBLASLt refuses: a status error, the device is fine
    bench.note(label + ": " + e.what() + "; the " + t.dtype + " GEMMs are skipped");
    return false;
  }
  LtMatmul& op = *made;
  if (!op.usable()) {
    bench.note(label + ": " + op.why() + "; the " + t.dtype + " GEMMs are skipped");
    return false;
  }
  const RotatingBuffers bufs(roles(t, kCheckShape), 1, label);
  bufs.fill(0, t.in, bench.plan().seed, bench.next_buffer_id(), bench.grid_blocks(), bench.stream());
  bufs.fill(1, t.in, bench.plan().seed, bench.next_buffer_id(), bench.grid_blocks(), bench.stream());
  try {
    op.run(bufs.at(0, 0), bufs.at(1, 0), bufs.at(2, 0), workspace.get(), bench.stream());
  } catch (const LtError& e) {  // a status error, not a CUDA one: the device is fine
    bench.note(label + ": " + e.what() + "; the " + t.dtype + " GEMMs are skipped");
    return false;
  }
  bench.synchronize(label);
  compare_with_host(t, kCheckShape, bufs.at(0, 0), bufs.at(1, 0), bufs.at(2, 0), label);
  return true;
}

}  // namespace

void run_gemms(Bench& bench) {
  const SuitePlan& plan = bench.plan();
  if (plan.gemms.empty() || plan.gemm_dtypes.empty()) return;
  const LtHandle lt;
  const DeviceBuffer workspace(kWorkspaceBytes, "the cuBLASLt workspace");

  std::vector<std::optional<GemmTypes>> types;
  for (const std::string& dtype : plan.gemm_dtypes) {
    std::optional<GemmTypes> t = gemm_types(dtype);
    if (!t) {
      bench.note("GEMM dtype '" + dtype + "': expected bf16, fp16, tf32, fp32 or fp8; skipped");
    } else if (dtype == "fp8" && !fp8_supported(bench.device())) {
      bench.note("fp8 GEMMs need compute capability 8.9 or newer, this GPU is " +
                 std::to_string(bench.device().cc_major) + "." + std::to_string(bench.device().cc_minor) + "; skipped");
      t.reset();
    } else if (!self_check(bench, lt, *t, workspace)) {
      t.reset();
    }
    types.push_back(t);
  }

  // The bf16 product checked against the host on its first timed repeat: the smallest, so the
  // host's O(mnk) stays well under a second.
  const GemmShape* checked = &plan.gemms.front();
  for (const GemmShape& g : plan.gemms) {
    if (flops_of(g) < flops_of(*checked)) checked = &g;
  }

  // Shapes outer, dtypes inner: a time budget then cuts the largest shapes of every dtype
  // rather than whole dtypes.
  size_t over_budget = 0;
  for (const GemmShape& g : plan.gemms) {
    for (const std::optional<GemmTypes>& ot : types) {
      if (!ot) {
        bench.skip(1);
        continue;
      }
      if (bench.over_budget()) {
        ++over_budget;
        bench.skip(1);
        continue;
      }
      const GemmTypes& t = *ot;
      const std::string shape = gemm_shape_text(g);
      const std::string label = "gemm " + t.dtype + " " + shape;
      if (!bench.begin(label)) {
        bench.flush();
        return;
      }
      if (t.dtype == "fp8" && !fp8_shape_ok(g)) {
        bench.note(label + ": fp8 needs n and k to be multiples of 16; skipped");
        continue;
      }
      std::optional<LtMatmul> made;
      try {
        made.emplace(lt, t, g, kWorkspaceBytes);
      } catch (const LtError& e) {  // a descriptor or layout cuBLASLt refuses for this shape
        bench.note(label + ": " + e.what() + "; skipped");
        continue;
      }
      const LtMatmul& op = *made;
      if (!op.usable()) {
        bench.note(label + ": " + op.why() + "; skipped");
        continue;
      }
      const std::vector<size_t> bytes = roles(t, g);
      const int copies = bench.copies_for(RotatingBuffers::per_copy_bytes(bytes));
      if (copies == 0) {
        bench.note(label + ": its " + std::to_string(RotatingBuffers::per_copy_bytes(bytes)) +
                   " bytes of buffers exceed 40% of the free device memory; skipped");
        continue;
      }
      const RotatingBuffers bufs(bytes, copies, label);
      bufs.fill(0, t.in, plan.seed, bench.next_buffer_id(), bench.grid_blocks(), bench.stream());
      bufs.fill(1, t.in, plan.seed, bench.next_buffer_id(), bench.grid_blocks(), bench.stream());
      Bench::Check check;
      if (t.dtype == "bf16" && &g == checked) {
        check = [&](int c) {
          compare_with_host(t, g, bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), "cuBLASLt bf16 " + shape);
        };
      }
      Timing tm;
      try {
        tm = bench.time(
            label, copies,
            [&](int c) { op.run(bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), workspace.get(), bench.stream()); },
            check);
      } catch (const LtError& e) {  // cublasLtMatmul refused the heuristic's own algorithm: skip this one
        bench.note(label + ": " + e.what() + "; skipped");
        continue;
      }
      bench.record(summarise("gemm", "cublasLt", t.dtype, shape, gemm_work(g, t.dtype), tm.times), tm);
    }
  }
  if (over_budget > 0) {
    bench.note(std::to_string(over_budget) + " GEMM benchmarks skipped: past the time budget of " +
               number_text(plan.time_budget_s) + " s");
  }
  bench.flush();
}

}  // namespace fathom::calib::cuda
