#pragma once
// Internal to the PyTorch-trace importer (calib/torch_trace.cpp): the events of a Chrome-trace
// JSON file that the importer uses, read with a streaming (SAX) parser so that a trace of
// hundreds of megabytes is never held as a JSON tree, and with timestamps kept to the
// nanosecond (Kineto writes microseconds with three decimals, e.g. 1727000000123456.789, more
// digits than a double holds).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fathom::calib::torch_trace {

enum class EventCat {
  kCpuOp,   // "cpu_op" (PyTorch 1.9+), "Operator" (1.8)
  kKernel,  // "kernel", "Kernel"
  kLaunch,  // "cuda_runtime", "cuda_driver", "Runtime": the host call that launched a kernel
};

// One tensor argument's sizes; absent for a Scalar, None or a list of tensors.
using Dims = std::optional<std::vector<int64_t>>;

struct TraceEvent {
  size_t index = 0;  // position in traceEvents (or in the bare array)
  EventCat cat = EventCat::kCpuOp;
  std::string name;
  int64_t ts_ns = 0, dur_ns = 0;
  std::string thread;  // "pid/tid" as written
  std::optional<int64_t> external_id, correlation;
  // cpu_op: args "Input Dims", "Input type", "Concrete Inputs" ("" where the trace has none).
  bool has_dims = false;
  std::vector<Dims> dims;
  std::vector<std::string> types;
  std::vector<std::string> concrete;
  // kernel: args "device", "grid", "block" ("x,y,z").
  std::optional<int64_t> device;
  std::string grid, block;
};

// One entry of the top-level "deviceProperties" array (Kineto's spelling of the CUDA
// properties; "uuid" is not Kineto's but is taken when a tool adds it).
struct DeviceProps {
  int64_t id = 0;
  std::string name, uuid;
  int64_t sm_count = 0, memory_bytes = 0;
  std::optional<int64_t> cc_major, cc_minor;
};

struct TraceEvents {
  std::string list_name = "traceEvents";  // "events" for a bare array; names events in messages
  std::vector<TraceEvent> events;  // cpu ops, kernels and launches, in file order
  std::vector<DeviceProps> devices;
  size_t copies = 0;  // "gpu_memcpy" and "gpu_memset" events (not imported)
};

// Reads `path`. Throws InputError: "file:line" and the column for JSON syntax errors,
// "file" and "traceEvents[i] ("name")" and the field for a field of the wrong type.
TraceEvents read_trace_events(const std::string& path);

// "12.345" microseconds as 12345 ns, exactly (rounded half up past the third decimal); nullopt
// for text that is not a JSON number or is out of range.
std::optional<int64_t> micros_text_to_ns(const std::string& text);

}  // namespace fathom::calib::torch_trace
