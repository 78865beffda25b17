#include "calib/cupti/tracer.h"

#include <cupti.h>
#include <cxxabi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

// Records are read with the layouts of the CUPTI headers this file is built against (CUDA 13:
// CUpti_ActivityKernel10, CUpti_ActivityMemcpy6, CUpti_ActivityMarker2, CUpti_ActivityDevice5),
// and the library linked is the same toolkit's libcupti.so.13.
static_assert(CUPTI_API_VERSION >= 130000, "calib/cupti reads the CUDA 13 CUPTI record layouts");

namespace fathom::calib::cupti {
namespace {

// Everything CUPTI's callbacks touch. CUPTI's buffer callbacks are plain C function pointers
// registered process-wide, with no user data, so this state is process-wide too; it is created
// once and never destroyed because CUPTI may still call back while static destructors run.
struct State {
  std::mutex mu;  // guards everything below except the atomics
  std::vector<KernelRecord> kernels;
  std::vector<MemcpyRecord> memcpys;
  std::vector<MarkerRange> markers;
  std::vector<DeviceRecord> devices;
  std::unordered_map<uint32_t, MarkerRange> open_markers;  // start seen, end not yet (by marker id)
  std::unordered_map<uint32_t, uint64_t> early_ends;        // end seen before its start (by id)
  std::vector<std::string> warnings;                        // kinds enabled best-effort that failed
  std::vector<CUpti_ActivityKind> enabled;
  std::string callback_error;  // first failure inside a callback; raised by the next take_*

  std::atomic<bool> in_use{false};
  std::atomic<bool> launch_times{false};
  std::atomic<size_t> buffer_bytes{8u << 20};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> untimed{0};
  std::atomic<uint64_t> launch_timed{0};  // kernels whose queued time passed the checks
};

State& state() {
  static State* s = new State;
  return *s;
}

std::string result_text(CUptiResult r) {
  const char* text = nullptr;
  if (cuptiGetResultString(r, &text) != CUPTI_SUCCESS || text == nullptr) return "unknown CUPTI result";
  return text;
}

std::string failure(const char* call, CUptiResult r) {
  return std::string("CUPTI ") + call + ": " + result_text(r) + " (expected CUPTI_SUCCESS, found code " +
         std::to_string(static_cast<int>(r)) + ")";
}

void check(CUptiResult r, const char* call) {
  if (r != CUPTI_SUCCESS) throw std::runtime_error(failure(call, r));
}

const char* kind_call(CUpti_ActivityKind kind) {
  switch (kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: return "cuptiActivityEnable(CONCURRENT_KERNEL)";
    case CUPTI_ACTIVITY_KIND_MEMCPY: return "cuptiActivityEnable(MEMCPY)";
    case CUPTI_ACTIVITY_KIND_MARKER: return "cuptiActivityEnable(MARKER)";
    case CUPTI_ACTIVITY_KIND_DEVICE: return "cuptiActivityEnable(DEVICE)";
    default: return "cuptiActivityEnable";
  }
}

std::string demangle(const char* name) {
  if (name == nullptr) return "<unnamed>";
  if (std::strncmp(name, "_Z", 2) != 0) return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return name;
  std::string s(out);
  std::free(out);
  return s;
}

// NVML's spelling of a GPU UUID, so that devices recorded by CUPTI and by NVML/CUDA match.
std::string format_uuid(const CUuuid& u) {
  static const char* kHex = "0123456789abcdef";
  std::string s = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    const auto b = static_cast<unsigned char>(u.bytes[i]);
    s += kHex[b >> 4];
    s += kHex[b & 0xF];
  }
  return s;
}

bool has_flag(CUpti_ActivityFlag flags, CUpti_ActivityFlag f) {
  return (static_cast<unsigned>(flags) & static_cast<unsigned>(f)) != 0;
}

void note_callback_error(State& s, const std::string& what) {
  std::lock_guard lock(s.mu);
  if (s.callback_error.empty()) s.callback_error = what;
}

void CUPTIAPI on_buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  const size_t bytes = state().buffer_bytes.load();
  // CUPTI needs ACTIVITY_RECORD_ALIGNMENT; bytes is kept a multiple of it by the constructor.
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(ACTIVITY_RECORD_ALIGNMENT, bytes));
  *size = *buffer != nullptr ? bytes : 0;  // a null buffer makes CUPTI drop records (counted)
  *max_records = 0;
}

// Runs on CUPTI's thread or inside cuptiActivityFlushAll: copies what it needs (CUPTI owns the
// name strings) and never throws back into CUPTI.
void CUPTIAPI on_buffer_completed(CUcontext context, uint32_t stream_id, uint8_t* buffer, size_t /*size*/,
                                  size_t valid_size) {
  State& s = state();
  try {
    std::vector<KernelRecord> kernels;
    std::vector<MemcpyRecord> memcpys;
    std::vector<DeviceRecord> devices;
    struct MarkerEvent {
      bool start;
      uint32_t id;
      uint64_t t;
      uint32_t thread;
      std::string name;
    };
    std::vector<MarkerEvent> marker_events;
    uint64_t untimed = 0, launch_timed = 0;

    CUpti_Activity* record = nullptr;
    while (buffer != nullptr && valid_size > 0) {
      const CUptiResult r = cuptiActivityGetNextRecord(buffer, valid_size, &record);
      // MAX_LIMIT_REACHED ends the buffer; INVALID_KIND is an incomplete last record, which
      // CUPTI's documentation also treats as the end.
      if (r == CUPTI_ERROR_MAX_LIMIT_REACHED || r == CUPTI_ERROR_INVALID_KIND) break;
      if (r != CUPTI_SUCCESS) {
        note_callback_error(s, failure("cuptiActivityGetNextRecord", r));
        break;
      }
      switch (record->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
          const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
          // 0 is CUPTI_TIMESTAMP_UNKNOWN: both 0 when no timing was collected, one 0 in a record
          // handed back incomplete. Either would turn a span into nonsense (0 as a start is decades).
          if (k->start == 0 || k->end == 0 || k->end < k->start) {
            ++untimed;
            break;
          }
          KernelRecord out;
          out.name = demangle(k->name);
          out.start_ns = k->start;
          out.end_ns = k->end;
          out.correlation_id = k->correlationId;
          out.device_id = k->deviceId;
          out.context_id = k->contextId;
          out.stream_id = k->streamId;
          out.grid[0] = k->gridX, out.grid[1] = k->gridY, out.grid[2] = k->gridZ;
          out.block[0] = k->blockX, out.block[1] = k->blockY, out.block[2] = k->blockZ;
          // A queued time is used only when it is consistent: set, not after the submission
          // (when that is known) and not after the kernel started. CUPTI has been seen to leave a
          // stale queued value on some launches (CUDA graphs); those fall back to device times.
          const bool queued_ok = k->queued != CUPTI_TIMESTAMP_UNKNOWN && k->queued <= k->start &&
                                 (k->submitted == CUPTI_TIMESTAMP_UNKNOWN || k->queued <= k->submitted);
          out.queued_ns = s.launch_times && queued_ok ? k->queued : 0;
          if (out.queued_ns != 0) ++launch_timed;
          kernels.push_back(std::move(out));
          break;
        }
        case CUPTI_ACTIVITY_KIND_MEMCPY: {
          const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
          if (m->start == 0 || m->end == 0 || m->end < m->start) {  // as for kernels
            ++untimed;
            break;
          }
          MemcpyRecord out;
          out.start_ns = m->start;
          out.end_ns = m->end;
          out.bytes = m->bytes;
          out.copy_kind = m->copyKind;
          out.device_id = m->deviceId;
          out.stream_id = m->streamId;
          out.correlation_id = m->correlationId;
          memcpys.push_back(out);
          break;
        }
        case CUPTI_ACTIVITY_KIND_MARKER: {
          const auto* m = reinterpret_cast<const CUpti_ActivityMarker2*>(record);
          const bool start = has_flag(m->flags, CUPTI_ACTIVITY_FLAG_MARKER_START);
          const bool end = has_flag(m->flags, CUPTI_ACTIVITY_FLAG_MARKER_END);
          if ((!start && !end) || m->timestamp == 0) break;  // instantaneous marks carry no range
          const uint32_t thread =
              m->objectKind == CUPTI_ACTIVITY_OBJECT_THREAD ? m->objectId.pt.threadId : 0;
          marker_events.push_back({start, m->id, m->timestamp, thread,
                                   start && m->name != nullptr ? std::string(m->name) : std::string()});
          break;
        }
        case CUPTI_ACTIVITY_KIND_DEVICE: {
          const auto* d = reinterpret_cast<const CUpti_ActivityDevice5*>(record);
          DeviceRecord out;
          out.id = d->id;
          // The header asks clients to free `name`; it is copied and left alone, since freeing
          // memory whose allocator is CUPTI's is not worth a possible crash in the host program
          // for a few bytes per device.
          out.name = d->name != nullptr ? d->name : "";
          out.uuid = format_uuid(d->uuid);
          out.sm_count = static_cast<int32_t>(d->numMultiprocessors);
          out.memory_bytes = d->globalMemorySize;
          out.cc_major = static_cast<int32_t>(d->computeCapabilityMajor);
          out.cc_minor = static_cast<int32_t>(d->computeCapabilityMinor);
          devices.push_back(std::move(out));
          break;
        }
        default: break;
      }
    }

    std::lock_guard lock(s.mu);
    s.untimed += untimed;
    s.launch_timed += launch_timed;
    for (auto& k : kernels) s.kernels.push_back(std::move(k));
    for (auto& m : memcpys) s.memcpys.push_back(m);
    for (auto& d : devices) s.devices.push_back(std::move(d));
    // A range's start and end may arrive in different buffers, in either order (CUPTI keeps a
    // buffer per thread), so both halves wait for the other.
    for (auto& e : marker_events) {
      if (e.start) {
        if (auto end = s.early_ends.find(e.id); end != s.early_ends.end()) {
          s.markers.push_back(MarkerRange{std::move(e.name), e.t, end->second, e.thread});
          s.early_ends.erase(end);
        } else {
          s.open_markers[e.id] = MarkerRange{std::move(e.name), e.t, 0, e.thread};
        }
      } else if (auto it = s.open_markers.find(e.id); it != s.open_markers.end()) {
        it->second.end_ns = e.t;
        s.markers.push_back(std::move(it->second));
        s.open_markers.erase(it);
      } else {
        s.early_ends[e.id] = e.t;
      }
    }
  } catch (const std::exception& e) {
    note_callback_error(s, std::string("CUPTI buffer callback: ") + e.what());
  } catch (...) {
    note_callback_error(s, "CUPTI buffer callback: unknown exception");
  }

  size_t dropped = 0;
  const CUptiResult r = cuptiActivityGetNumDroppedRecords(context, stream_id, &dropped);
  if (r == CUPTI_SUCCESS) {
    s.dropped += dropped;
  } else {
    note_callback_error(s, failure("cuptiActivityGetNumDroppedRecords", r));
  }
  std::free(buffer);
}

// Delivers every completed record to on_buffer_completed, then raises any failure noted there.
void flush(State& s) {
  check(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
  std::string error;
  {
    std::lock_guard lock(s.mu);
    error = std::exchange(s.callback_error, {});
  }
  if (!error.empty()) throw std::runtime_error(error);
}

void disable_all(State& s) {
  std::vector<CUpti_ActivityKind> kinds;
  {
    std::lock_guard lock(s.mu);
    kinds = std::exchange(s.enabled, {});
  }
  for (auto k : kinds) cuptiActivityDisable(k);  // best effort: nothing to do if it fails
}

void clear(State& s) {
  std::lock_guard lock(s.mu);
  s.kernels.clear();
  s.memcpys.clear();
  s.markers.clear();
  s.devices.clear();
  s.open_markers.clear();
  s.early_ends.clear();
  s.warnings.clear();
  s.callback_error.clear();
}

}  // namespace

ActivityTracer::ActivityTracer(TracerOptions options) {
  State& s = state();
  if (options.buffer_bytes < (64u << 10)) {
    throw std::runtime_error("TracerOptions.buffer_bytes: expected at least 65536, found " +
                             std::to_string(options.buffer_bytes));
  }
  if (s.in_use.exchange(true)) {
    throw std::runtime_error(
        "ActivityTracer: expected no other tracer in this process, found one already running "
        "(CUPTI's activity callbacks are process-wide)");
  }
  try {
    clear(s);
    s.dropped = 0;
    s.untimed = 0;
    s.launch_timed = 0;
    const size_t align = ACTIVITY_RECORD_ALIGNMENT;
    s.buffer_bytes = (options.buffer_bytes + align - 1) / align * align;
    s.launch_times = options.launch_times;
    check(cuptiActivityRegisterCallbacks(on_buffer_requested, on_buffer_completed),
          "cuptiActivityRegisterCallbacks");
    if (options.launch_times) {
      check(cuptiActivityEnableLatencyTimestamps(1), "cuptiActivityEnableLatencyTimestamps");
    }
    std::vector<CUpti_ActivityKind> kinds = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL};
    if (options.memcpy) kinds.push_back(CUPTI_ACTIVITY_KIND_MEMCPY);
    if (options.markers) kinds.push_back(CUPTI_ACTIVITY_KIND_MARKER);
    if (options.devices) kinds.push_back(CUPTI_ACTIVITY_KIND_DEVICE);
    for (auto k : kinds) {
      const CUptiResult r = cuptiActivityEnable(k);
      if (r != CUPTI_SUCCESS && options.best_effort && k != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
        std::lock_guard lock(s.mu);
        s.warnings.push_back(failure(kind_call(k), r) + "; going on without these records");
        continue;
      }
      check(r, kind_call(k));
      std::lock_guard lock(s.mu);
      s.enabled.push_back(k);
    }
  } catch (...) {
    disable_all(s);
    s.in_use = false;
    throw;
  }
}

ActivityTracer::~ActivityTracer() {
  State& s = state();
  disable_all(s);
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);  // a destructor has no one to tell
  clear(s);
  s.in_use = false;
}

std::vector<KernelRecord> ActivityTracer::take_kernels() {
  State& s = state();
  flush(s);
  std::lock_guard lock(s.mu);
  return std::exchange(s.kernels, {});
}

std::vector<MemcpyRecord> ActivityTracer::take_memcpys() {
  State& s = state();
  flush(s);
  std::lock_guard lock(s.mu);
  return std::exchange(s.memcpys, {});
}

std::vector<MarkerRange> ActivityTracer::take_markers() {
  State& s = state();
  flush(s);
  std::lock_guard lock(s.mu);
  return std::exchange(s.markers, {});
}

std::vector<DeviceRecord> ActivityTracer::take_devices() {
  State& s = state();
  flush(s);
  std::lock_guard lock(s.mu);
  return std::exchange(s.devices, {});
}

ActivityHarvest ActivityTracer::take_all_noexcept() noexcept {
  State& s = state();
  ActivityHarvest h;
  try {
    const CUptiResult r = cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    if (r != CUPTI_SUCCESS) h.errors.push_back(failure("cuptiActivityFlushAll", r));
    std::lock_guard lock(s.mu);
    if (!s.callback_error.empty()) h.errors.push_back(std::exchange(s.callback_error, {}));
    h.kernels = std::exchange(s.kernels, {});
    h.memcpys = std::exchange(s.memcpys, {});
    h.markers = std::exchange(s.markers, {});
    h.devices = std::exchange(s.devices, {});
    h.unpaired_markers = s.open_markers.size() + s.early_ends.size();
  } catch (const std::exception& e) {
    h.errors.push_back(std::string("collecting CUPTI records: ") + e.what());
  } catch (...) {
    h.errors.push_back("collecting CUPTI records: unknown exception");
  }
  return h;
}

std::vector<std::string> ActivityTracer::warnings() const {
  State& s = state();
  std::lock_guard lock(s.mu);
  return s.warnings;
}

uint64_t ActivityTracer::launch_timed() const { return state().launch_timed.load(); }

uint64_t ActivityTracer::dropped() const { return state().dropped.load(); }

uint64_t ActivityTracer::untimed() const { return state().untimed.load(); }

}  // namespace fathom::calib::cupti
