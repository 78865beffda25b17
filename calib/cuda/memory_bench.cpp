// Memory section (copy, read, write and triad over each plan.memory_bytes) and the launch gap.
#include <algorithm>
#include <cmath>

#include "calib/cuda/bench.h"

namespace fathom::calib::cuda {

namespace {

constexpr float kWriteValue = 1.5f;  // not zero: a zero fill could be compressed or elided
constexpr float kTriadScalar = 0.5f;

}  // namespace

void run_memory(Bench& bench) {
  const SuitePlan& plan = bench.plan();
  const int blocks = bench.grid_blocks();
  const cudaStream_t stream = bench.stream();
  for (const double requested : plan.memory_bytes) {
    const auto size = static_cast<int64_t>(std::llround(requested));
    const std::string shape = format_shape({{"bytes", size}});
    for (const std::string name : {"copy", "read", "write", "triad"}) {
      const std::string label = "memory " + name + " " + shape;
      if (!bench.begin(label)) {
        bench.flush();
        return;
      }
      if (size < 16 || size % 16 != 0 || static_cast<double>(size) != requested) {
        bench.note(label + ": expected a whole number of 16-byte vectors, found " + std::to_string(requested) +
                   " bytes; skipped");
        continue;
      }
      const auto bytes = static_cast<size_t>(size);
      const size_t n16 = bytes / 16;
      std::vector<size_t> roles;
      if (name == "copy") roles = {bytes, bytes};                                        // src, dst
      if (name == "read") roles = {bytes, static_cast<size_t>(blocks) * sizeof(float)};  // src, partial sums
      if (name == "write") roles = {bytes};                                              // dst
      if (name == "triad") roles = {bytes, bytes, bytes};                                // a, b, c
      const int copies = bench.copies_for(RotatingBuffers::per_copy_bytes(roles));
      if (copies == 0) {
        bench.note(label + ": its buffers exceed 40% of the free device memory; skipped");
        continue;
      }
      const RotatingBuffers bufs(roles, copies, label);
      if (name == "copy" || name == "read")
        bufs.fill(0, ElemType::kFp32, plan.seed, bench.next_buffer_id(), blocks, stream);
      if (name == "triad") {
        bufs.fill(1, ElemType::kFp32, plan.seed, bench.next_buffer_id(), blocks, stream);
        bufs.fill(2, ElemType::kFp32, plan.seed, bench.next_buffer_id(), blocks, stream);
      }
      const Bench::Launch launch = [&](int c) {
        cudaError_t e = cudaSuccess;
        if (name == "copy") e = launch_copy(bufs.at(0, c), bufs.at(1, c), n16, blocks, stream);
        if (name == "read") e = launch_read(bufs.at(0, c), static_cast<float*>(bufs.at(1, c)), n16, blocks, stream);
        if (name == "write") e = launch_write(bufs.at(0, c), n16, kWriteValue, blocks, stream);
        if (name == "triad")
          e = launch_triad(bufs.at(0, c), bufs.at(1, c), bufs.at(2, c), kTriadScalar, n16, blocks, stream);
        check_cuda(e, label + " launch");
      };
      Timing tm = bench.time(label, copies, launch);
      bench.record(summarise("memory", name, "fp32", shape, memory_work(name, static_cast<double>(size)), tm.times),
                   tm);
    }
  }
  bench.flush();
}

// Back-to-back empty kernels on one stream, no syncs between: the idle time from one kernel's end
// to the next one's start is what the cost chain adds per kernel on top of the kernel's own
// duration (t_gap in docs/calibration.md). When the host launches slower than the GPU runs
// them, this is the host's launch rate, as it is for an eagerly launched program.
void run_launch(Bench& bench) {
  const SuitePlan& plan = bench.plan();
  const std::string label = "launch empty_kernel";
  if (!bench.begin(label)) return;
  if (plan.launch_samples < 2) {
    bench.note(label + ": expected launch_samples ≥ 2, found " + std::to_string(plan.launch_samples) + "; skipped");
    return;
  }
  const cudaStream_t stream = bench.stream();
  const auto launches = [&](int n) {
    return [&, n] {
      for (int i = 0; i < n; ++i) check_cuda(launch_empty(stream), label + " launch");
    };
  };
  bench.trace(label + " (warmup)", launches(std::max(1, plan.warmup)));
  std::vector<cupti::KernelRecord> records = bench.trace(label, launches(plan.launch_samples));
  if (records.size() < 2) {
    throw std::runtime_error(label + ": expected " + std::to_string(plan.launch_samples) +
                             " kernel records from CUPTI, found " + std::to_string(records.size()));
  }
  if (records.size() != static_cast<size_t>(plan.launch_samples)) {
    bench.note(label + ": CUPTI returned " + std::to_string(records.size()) + " of " +
               std::to_string(plan.launch_samples) + " kernel records; the gaps use those");
  }
  std::sort(records.begin(), records.end(),
            [](const cupti::KernelRecord& a, const cupti::KernelRecord& b) { return a.start_ns < b.start_ns; });
  Timing tm;
  tm.kernel = records.front().name;
  tm.grid = dims_text(records.front().grid);
  tm.block = dims_text(records.front().block);
  for (size_t i = 1; i < records.size(); ++i) {
    const uint64_t end = records[i - 1].end_ns, start = records[i].start_ns;
    // Kernels of one stream do not overlap; a zero gap is kept as a tiny positive time, since
    // the store takes times > 0.
    tm.times.push_back(start > end ? static_cast<double>(start - end) * 1e-9 : 1e-9);
  }
  bench.record(summarise("launch", "empty_kernel", "", "", Work{0, 0}, tm.times), tm);
  bench.flush();
}

}  // namespace fathom::calib::cuda
