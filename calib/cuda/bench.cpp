#include "calib/cuda/bench.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace fathom::calib::cuda {

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string dims_text(const int32_t (&v)[3]) {
  return std::to_string(v[0]) + "," + std::to_string(v[1]) + "," + std::to_string(v[2]);
}

Bench::Bench(const SuitePlan& plan, const DeviceFacts& device, cupti::ActivityTracer& tracer, store::CalibStore& db,
             int64_t run_id, const Progress& progress)
    : plan_(plan),
      device_(device),
      tracer_(tracer),
      db_(db),
      run_id_(run_id),
      progress_(progress),
      start_(std::chrono::steady_clock::now()),
      total_(plan.benchmark_count()) {}

bool Bench::begin(const std::string& what) {
  if (cancelled_) return false;
  if (progress_ && !progress_(what, done_, total_)) {
    cancelled_ = true;
    return false;
  }
  ++done_;
  return true;
}

bool Bench::over_budget() const {
  if (plan_.time_budget_s <= 0) return false;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  return elapsed.count() > plan_.time_budget_s;
}

int Bench::copies_for(size_t per_copy_bytes) const {
  if (per_copy_bytes == 0) throw std::invalid_argument("copies_for: expected a buffer size > 0, found 0 bytes");
  size_t free_bytes = 0, total_bytes = 0;
  check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const double per_copy = static_cast<double>(per_copy_bytes);
  const double fit = std::floor(0.4 * static_cast<double>(free_bytes) / per_copy);
  if (fit < 1) return 0;
  const double wanted =
      std::max(2.0, std::ceil(plan_.rotate_factor * static_cast<double>(device_.l2_bytes) / per_copy));
  return static_cast<int>(std::min({wanted, fit, static_cast<double>(std::numeric_limits<int>::max())}));
}

void Bench::synchronize(const std::string& label) {
  check_cuda(cudaDeviceSynchronize(), label + ": cudaDeviceSynchronize");
}

Timing Bench::time(const std::string& label, int copies, const Launch& launch, const Check& check) {
  if (copies < 1) throw std::invalid_argument(label + ": expected ≥ 1 buffer copy, found " + std::to_string(copies));
  synchronize(label + " (inputs)");
  tracer_.take_kernels();  // the fills
  const uint64_t dropped_before = tracer_.dropped(), untimed_before = tracer_.untimed();
  int use = 0;
  for (int w = 0; w < plan_.warmup; ++w) {
    launch(use++ % copies);
    synchronize(label);
    tracer_.take_kernels();
  }
  Timing t;
  for (int r = 0; r < plan_.repeats; ++r) {
    int copy = 0;
    std::vector<cupti::KernelRecord> records;
    // A repeat whose only records came back without timestamps (tracer.untimed()) is run again
    // on the next copy, twice at most, rather than ending the whole run.
    // So is one where any record came back untimed: its span would miss that kernel.
    for (int attempt = 0; attempt < 3; ++attempt) {
      const uint64_t untimed_now = tracer_.untimed();
      copy = use++ % copies;
      launch(copy);
      synchronize(label);
      records = tracer_.take_kernels();
      if (!records.empty() && tracer_.untimed() == untimed_now) break;
      if (attempt < 2) records.clear();
    }
    if (records.empty()) {
      throw std::runtime_error(label + ": CUPTI returned no timed kernel record for timed repeat " +
                               std::to_string(r + 1) + " of " + std::to_string(plan_.repeats) +
                               " in 3 tries (expected at least one)");
    }
    uint64_t first = std::numeric_limits<uint64_t>::max(), last = 0;
    const cupti::KernelRecord* main = &records.front();
    for (const cupti::KernelRecord& k : records) {
      first = std::min(first, k.start_ns);
      last = std::max(last, k.end_ns);
      if (k.end_ns - k.start_ns > main->end_ns - main->start_ns) main = &k;
    }
    if (last <= first) {
      throw std::runtime_error(label + ": kernel records end (" + std::to_string(last) + " ns) before they start (" +
                               std::to_string(first) + " ns)");
    }
    t.times.push_back(static_cast<double>(last - first) * 1e-9);
    if (r == 0) {
      t.kernel = main->name;
      t.grid = dims_text(main->grid);
      t.block = dims_text(main->block);
      if (check) check(copy);
    }
  }
  const uint64_t lost = tracer_.dropped() - dropped_before, untimed = tracer_.untimed() - untimed_before;
  if (lost > 0 || untimed > 0) {
    note(label + ": CUPTI dropped " + std::to_string(lost) + " activity records and gave " + std::to_string(untimed) +
         " kernels no timestamps; its times may miss kernels");
  }
  return t;
}

std::vector<cupti::KernelRecord> Bench::trace(const std::string& label, const std::function<void()>& work) {
  synchronize(label + " (before)");
  tracer_.take_kernels();
  work();
  synchronize(label);
  return tracer_.take_kernels();
}

void Bench::record(store::MeasurementRecord r, const Timing& t) {
  r.run_id = run_id_;
  r.grid = t.grid;
  r.block = t.block;
  pending_.push_back(std::move(r));
}

void Bench::flush() {
  if (pending_.empty()) return;
  db_.add_measurements(pending_);
  pending_.clear();
}

void Bench::note(const std::string& line) const { std::cerr << "fathom calib run: " << line << '\n'; }

}  // namespace fathom::calib::cuda
