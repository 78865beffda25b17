#pragma once
// CUPTI Activity API collector: every kernel (and memcpy, and NVTX range when asked) the process
// runs, with device start and end timestamps. Used by the microbenchmark suite (calib/cuda/) and
// by the injection library (calib/inject/). Compiled with the host compiler against CUPTI's
// headers; no CUDA runtime calls here.
#include <cstdint>
#include <string>
#include <vector>

namespace fathom::calib::cupti {

struct KernelRecord {
  std::string name;  // demangled when CUPTI gives a mangled name
  uint64_t start_ns = 0, end_ns = 0;  // device timestamps, CUPTI's timebase
  uint32_t correlation_id = 0;
  uint32_t device_id = 0, context_id = 0, stream_id = 0;
  int32_t grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
  // When the launch was queued in the command buffer: a host-side time on the same timebase as
  // NVTX markers, so it says which range launched the kernel even when the kernel itself runs
  // after the range has closed. 0 unless TracerOptions::launch_times.
  uint64_t queued_ns = 0;
};

struct MemcpyRecord {
  uint64_t start_ns = 0, end_ns = 0;
  uint64_t bytes = 0;
  uint8_t copy_kind = 0;  // CUpti_ActivityMemcpyKind
  uint32_t device_id = 0, stream_id = 0, correlation_id = 0;
};

// One NVTX push/pop or start/end range (CUPTI_ACTIVITY_KIND_MARKER start and end joined).
struct MarkerRange {
  std::string name;
  uint64_t start_ns = 0, end_ns = 0;
  uint32_t thread_id = 0;
};

// What CUPTI's device activity record says about a GPU (the injection library has no other
// source that is safe to call from inside someone else's program).
struct DeviceRecord {
  uint32_t id = 0;
  std::string name, uuid;
  int32_t sm_count = 0;
  uint64_t memory_bytes = 0;
  int32_t cc_major = 0, cc_minor = 0;
};

struct TracerOptions {
  bool memcpy = true;
  bool markers = false;  // NVTX ranges (needs NVTX_INJECTION64_PATH=libcupti.so in the program)
  bool devices = false;
  // Queued timestamps of kernels (KernelRecord::queued_ns; cuptiActivityEnableLatencyTimestamps).
  // CUPTI wants this set before CUDA initialises; it costs a little per launch.
  bool launch_times = false;
  size_t buffer_bytes = 8u << 20;  // one activity buffer, bytes; at least 64 KiB
  // Kinds other than kernels that CUPTI refuses to enable are left out with a warning
  // (ActivityTracer::warnings) instead of failing the constructor; for the injection library,
  // where kernels without ranges or device records are still worth keeping.
  bool best_effort = false;
};

// Everything recorded so far, for a program's last moment (ActivityTracer::take_all_noexcept).
struct ActivityHarvest {
  std::vector<KernelRecord> kernels;
  std::vector<MemcpyRecord> memcpys;
  std::vector<MarkerRange> markers;
  std::vector<DeviceRecord> devices;
  size_t unpaired_markers = 0;      // range starts without an end, or ends without a start
  std::vector<std::string> errors;  // CUPTI failures met on the way (flush, buffer callbacks)
};

// One per process (CUPTI's activity callbacks are global). The constructor registers buffer
// callbacks and enables the activity kinds; it throws std::runtime_error naming the CUPTI call
// and its error string when CUPTI refuses (no driver, a second tracer, ...). The destructor
// flushes and disables everything.
class ActivityTracer {
 public:
  explicit ActivityTracer(TracerOptions options = {});
  ~ActivityTracer();
  ActivityTracer(const ActivityTracer&) = delete;
  ActivityTracer& operator=(const ActivityTracer&) = delete;

  // Flushes CUPTI's buffers (cuptiActivityFlushAll with forced flush) and moves out the records
  // completed since the last take. Call after the work is synchronised.
  std::vector<KernelRecord> take_kernels();
  std::vector<MemcpyRecord> take_memcpys();
  std::vector<MarkerRange> take_markers();
  std::vector<DeviceRecord> take_devices();
  // One forced flush, then every kind at once. Never throws: a failing flush or an error noted
  // in a buffer callback is reported in `errors`, and the records already collected still come
  // back (the injection library's exit handler, where losing them all would lose the run).
  ActivityHarvest take_all_noexcept() noexcept;
  // Why a best-effort kind was not enabled, one line each (TracerOptions::best_effort).
  std::vector<std::string> warnings() const;
  // Kernels recorded with a usable queued (launch) time, of all kernels recorded.
  uint64_t launch_timed() const;
  // Records CUPTI dropped because buffers were full (should stay 0; reported with the run).
  uint64_t dropped() const;
  // Kernel and memcpy records CUPTI delivered without valid timestamps (a 0 start or end, or an
  // end before the start; left out of take_*).
  uint64_t untimed() const;
};

}  // namespace fathom::calib::cupti
