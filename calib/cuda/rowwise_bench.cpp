// Rowwise section: silu_mul, add, rmsnorm and softmax over each plan.rowwise shape, bf16.
#include <cstdint>

#include "calib/cuda/bench.h"
#include "calib/cuda/reference.h"

namespace fathom::calib::cuda {

namespace {

constexpr float kRmsEps = 1e-6f;  // Llama's RMSNorm epsilon

// The shape whose first repeat of every kernel is checked against the host: the smallest with
// at least 16 rows (several rows, so row indexing is exercised), else the smallest.
const RowwiseShape* checked_shape(const std::vector<RowwiseShape>& shapes) {
  const RowwiseShape* best = nullptr;
  const auto size = [](const RowwiseShape& s) { return static_cast<double>(s.rows) * static_cast<double>(s.cols); };
  for (const RowwiseShape& s : shapes) {
    const bool better = best == nullptr || (s.rows >= 16 && best->rows < 16) ||
                        ((s.rows >= 16) == (best->rows >= 16) && size(s) < size(*best));
    if (better) best = &s;
  }
  return best;
}

}  // namespace

void run_rowwise(Bench& bench) {
  const SuitePlan& plan = bench.plan();
  const int blocks = bench.grid_blocks();
  const cudaStream_t stream = bench.stream();
  const RowwiseShape* checked = checked_shape(plan.rowwise);
  for (const RowwiseShape& s : plan.rowwise) {
    const std::string shape = format_shape({{"rows", s.rows}, {"cols", s.cols}});
    for (const std::string name : {"silu_mul", "add", "rmsnorm", "softmax"}) {
      const std::string kind = rowwise_kind(name);
      const std::string label = kind + " " + name + " " + shape;
      if (!bench.begin(label)) {
        bench.flush();
        return;
      }
      if (s.rows <= 0 || s.cols <= 0 || s.rows > INT32_MAX) {
        bench.note(label + ": expected 1 ≤ rows < 2^31 and cols ≥ 1; skipped");
        continue;
      }
      const size_t count = static_cast<size_t>(s.rows) * static_cast<size_t>(s.cols);
      const size_t bytes = count * 2;
      const bool binary = name == "silu_mul" || name == "add";
      // Roles: a, b, out (binary); x, weight, out (rmsnorm); x, out (softmax).
      std::vector<size_t> roles = {bytes, bytes, bytes};
      if (name == "rmsnorm") roles[1] = static_cast<size_t>(s.cols) * 2;
      if (name == "softmax") roles = {bytes, bytes};
      const size_t out = roles.size() - 1;
      const int copies = bench.copies_for(RotatingBuffers::per_copy_bytes(roles));
      if (copies == 0) {
        bench.note(label + ": its buffers exceed 40% of the free device memory; skipped");
        continue;
      }
      const RotatingBuffers bufs(roles, copies, label);
      for (size_t r = 0; r < out; ++r) bufs.fill(r, ElemType::kBf16, plan.seed, bench.next_buffer_id(), blocks, stream);

      const Bench::Launch launch = [&](int c) {
        cudaError_t e = cudaSuccess;
        if (name == "silu_mul") e = launch_silu_mul(bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), count, blocks, stream);
        if (name == "add") e = launch_add(bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), count, blocks, stream);
        if (name == "rmsnorm")
          e = launch_rmsnorm(bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), s.rows, s.cols, kRmsEps, stream);
        if (name == "softmax") e = launch_softmax(bufs.at(0, c), bufs.at(1, c), s.rows, s.cols, stream);
        check_cuda(e, label + " launch");
      };
      Bench::Check check;
      if (&s == checked) {
        check = [&](int c) {
          const std::vector<float> x = fetch(bufs.at(0, c), count, ElemType::kBf16);
          const std::vector<float> got = fetch(bufs.at(out, c), count, ElemType::kBf16);
          std::vector<double> ref;
          if (binary || name == "rmsnorm") {
            const std::vector<float> y =
                fetch(bufs.at(1, c), name == "rmsnorm" ? static_cast<size_t>(s.cols) : count, ElemType::kBf16);
            if (name == "silu_mul") ref = silu_mul_reference(x, y);
            if (name == "add") ref = add_reference(x, y);
            if (name == "rmsnorm") ref = rmsnorm_reference(x, y, s.rows, s.cols, kRmsEps);
          } else {
            ref = softmax_reference(x, s.rows, s.cols);
          }
          require_close(compare_rows(got, ref, s.rows, s.cols), kCheckTolerance, name + " " + shape);
        };
      }
      Timing tm = bench.time(label, copies, launch, check);
      bench.record(summarise(kind, name, "bf16", shape, rowwise_work(name, s.rows, s.cols), tm.times), tm);
    }
  }
  bench.flush();
}

}  // namespace fathom::calib::cuda
