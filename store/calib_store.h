#pragma once
// The calibration half of the Fathom database (schema version 2): the GPUs measured, each
// measuring run with its provenance (driver and CUDA versions, clocks at start and end, host,
// time), every kernel measurement (median time of repeats, FLOPs and bytes moved, shape, launch
// geometry, NVTX range), and the hardware profiles fitted from them. Measurements are written in
// one transaction per batch: a batch with a bad row leaves nothing behind.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fathom::store {

struct DeviceRecord {
  int64_t id = 0;
  std::string uuid;  // NVML/CUDA UUID; "synthetic-…" for generated data
  std::string name;  // e.g. "NVIDIA H200"
  int64_t sm_count = 0;
  int64_t memory_bytes = 0;
  std::string compute_capability;  // e.g. "9.0"
};

struct CalibRunRecord {
  int64_t id = 0;
  int64_t device_id = 0;
  std::string kind;    // microbench, injection, torch-trace, synthetic
  std::string source;  // suite name, program, or trace file
  std::string host;
  std::string started_at;  // UTC ISO 8601 (filled by the database when empty)
  std::string fathom_version;
  std::string driver_version, cuda_version;
  std::optional<double> sm_clock_start_mhz, sm_clock_end_mhz, memory_clock_mhz;
  std::string notes;
};

struct MeasurementRecord {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string kind;   // gemm, memory, elementwise, reduction, attention, launch, kernel
  std::string name;   // kernel or benchmark name
  std::string dtype;  // bf16, fp16, tf32, fp32, fp8, ...
  std::string shape;  // "m=4096,n=4096,k=4096", "bytes=1073741824", ...
  double flops = 0, bytes = 0;
  double time_s = 0;  // median of the repeats, from the device's own timestamps
  std::optional<double> min_s, max_s;
  int64_t repeats = 1;
  std::string grid, block, nvtx;
};

struct ProfileRecord {
  int64_t id = 0;
  int64_t device_id = 0;
  std::string created_at;
  std::string fathom_version;
  std::string profile_yaml;
  std::string summary_json;  // held-out errors per kind, counts
};

class CalibStore {
 public:
  // Opens (creating if needed) and migrates the Fathom database at `path`. Throws InputError.
  static CalibStore open(const std::string& path);
  // Opens an existing database read-only (fit's and report's input): nothing in the file or
  // beside it changes; an older or newer schema is refused. Writing through it throws.
  static CalibStore open_read(const std::string& path);
  ~CalibStore();
  CalibStore(CalibStore&&) noexcept;
  CalibStore& operator=(CalibStore&&) noexcept;

  int schema_version() const;

  // The device's id; a device already present (same UUID) is not added again.
  int64_t add_device(const DeviceRecord& d);
  int64_t add_run(const CalibRunRecord& r);
  // Records the clocks at the end of a run.
  void finish_run(int64_t run_id, std::optional<double> sm_clock_end_mhz);
  // All of `m` in one transaction (each row's run_id must exist); returns the number written.
  size_t add_measurements(const std::vector<MeasurementRecord>& m);
  int64_t add_profile(const ProfileRecord& p);

  std::vector<DeviceRecord> devices() const;
  std::vector<CalibRunRecord> runs() const;
  // Every measurement, or those of one kind (empty: all), in id order.
  std::vector<MeasurementRecord> measurements(const std::string& kind = "") const;
  std::vector<ProfileRecord> profiles() const;

 private:
  struct Impl;
  explicit CalibStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::store
