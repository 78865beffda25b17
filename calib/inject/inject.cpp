// libfathom_inject.so: records the kernels of an unmodified CUDA program as calibration
// measurements. Run the program as
//
//   export CUDA_INJECTION64_PATH=/path/to/libfathom_inject.so FATHOM_CALIB_DB=calib.db
//   export NVTX_INJECTION64_PATH=/path/to/libcupti.so.13   # for NVTX ranges, see below
//   program args...
//
// The CUDA driver loads the library named by CUDA_INJECTION64_PATH while it initialises
// (cuInit) and calls its InitializeInjection. That starts a CUPTI activity tracer; at exit the
// records are grouped (calib/inject_aggregate.h: plain kernels, and operations labelled with
// fathom:KIND[/NAME]:DTYPE:SHAPE ranges) and written to FATHOM_CALIB_DB as one run of kind
// "injection" per GPU that ran kernels.
//
// NVTX ranges reach CUPTI only through NVTX's own injection: the NVTX calls compiled into the
// program are no-ops until the first call finds NVTX_INJECTION64_PATH naming a tool library, and
// CUPTI produces CUPTI_ACTIVITY_KIND_MARKER records only when it is that library. It must be the
// same libcupti this library is bound to, not another copy, or the ranges go to a CUPTI instance
// nobody listens to. Which copy that is cannot be known before the program runs: a program that
// loaded a libcupti.so.13 of its own before cuInit (PyTorch's wheels do, for its profiler) binds
// this library to that one, whatever its run path says. So when NVTX_INJECTION64_PATH is unset,
// InitializeInjection sets it to the file its CUPTI came from (dladdr); NVTX reads the variable
// at the program's first NVTX call, which must come after CUDA is initialised. When it is set to
// another file, one warning line says so and it is left alone. Without ranges, kernels are still
// recorded, with no range names. CUPTI 13.0 was reported to crash in nvtxNameOsThreadA
// with NVTX injection on (NVIDIA/NVTX issue 125); programs that name their threads may need a
// newer toolkit's CUPTI for ranges.
//
// Placement in ranges uses the kernels' queued timestamps (host side; CUPTI wants them switched
// on before CUDA initialises, which is when this library runs). If CUPTI refuses them, kernels
// are placed by their device times, which is right only for code that synchronises inside ranges.
//
// Provenance: the device (UUID, name, SMs, memory, compute capability) comes from CUPTI's device
// record; the driver version from NVML (empty when NVML cannot be opened); cuda_version is left
// empty, because the CUDA version would need the driver or runtime API, which a library running
// inside cuInit should not call; the CUPTI API version (cuptiGetVersion) goes in the run's notes
// with the dropped-record counts. No clocks are recorded.
//
// Memory: every kernel record is kept until exit, roughly 100 bytes plus the kernel name's
// length per launch; the library is meant for calibration programs and short profiling runs,
// not for whole training jobs (a million launches is some hundreds of MB).
//
// Failures print one line starting "fathom-inject: " on stderr; nothing is thrown into, and
// nothing stops, the host program. A program that ends by _exit or a signal writes nothing (the
// records are written by an atexit handler).
#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <cupti.h>

#include "calib/cupti/nvml.h"
#include "calib/cupti/tracer.h"
#include "calib/inject_aggregate.h"
#include "common/version.h"
#include "store/calib_store.h"

namespace {

namespace cupti = fathom::calib::cupti;

void say(const std::string& line) { std::fprintf(stderr, "fathom-inject: %s\n", line.c_str()); }

struct Session {
  std::string db_path;
  pid_t pid = 0;
  bool launch_times = false;
  std::unique_ptr<cupti::ActivityTracer> tracer;
};
// Set once by InitializeInjection, read by the exit handler; never freed, because the process is
// ending when it is last used and CUPTI may still call back during exit.
Session* g_session = nullptr;

std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw.empty() ? "unknown program" : raw;
}

// The file this library's CUPTI was loaded from; empty when dladdr cannot tell.
std::string bound_cupti_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuptiGetVersion), &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) == nullptr ? path : std::string(buf);
}

// Points NVTX's injection at the CUPTI this library uses (see the file comment).
void point_nvtx_at_bound_cupti() {
  const std::string bound = bound_cupti_path();
  if (bound.empty()) {
    say("could not tell which libcupti this library is bound to (dladdr); NVTX ranges need NVTX_INJECTION64_PATH set to it");
    return;
  }
  const char* set = std::getenv("NVTX_INJECTION64_PATH");
  if (set == nullptr || *set == '\0') {
    ::setenv("NVTX_INJECTION64_PATH", bound.c_str(), 1);
    return;
  }
  if (real_path(set) != real_path(bound)) {
    say(std::string("NVTX_INJECTION64_PATH is ") + set + " but this library's CUPTI is " + bound +
        "; NVTX ranges may reach another CUPTI and be lost (unset it to let this library choose)");
  }
}

std::string cupti_api_version() {
  uint32_t v = 0;
  return cuptiGetVersion(&v) == CUPTI_SUCCESS ? std::to_string(v) : "unknown";
}

void write_records(Session& s) {
  cupti::ActivityTracer& tracer = *s.tracer;
  // One harvest that never throws: a CUPTI error at exit must not cost the records already taken.
  cupti::ActivityHarvest harvest = tracer.take_all_noexcept();
  for (const auto& e : harvest.errors) say(e + " (the records collected until then are kept)");
  std::vector<cupti::KernelRecord> kernels = std::move(harvest.kernels);
  std::vector<cupti::MarkerRange> markers = std::move(harvest.markers);
  std::vector<cupti::DeviceRecord> devices = std::move(harvest.devices);
  if (kernels.empty()) {
    say("no kernels were recorded; nothing written to " + s.db_path);
    return;
  }
  const size_t kernel_count = kernels.size();
  const uint64_t launch_timed = tracer.launch_timed();
  if (s.launch_times) {
    say(std::to_string(launch_timed) + " of " + std::to_string(kernel_count) +
        " kernels have a launch time; the rest are placed in NVTX ranges by their device times");
  }

  std::vector<fathom::calib::InjectedRange> ranges;
  ranges.reserve(markers.size());
  for (auto& m : markers) ranges.push_back({std::move(m.name), m.start_ns, m.end_ns});
  std::map<uint32_t, std::vector<fathom::calib::InjectedKernel>> by_device;
  for (auto& k : kernels) {
    fathom::calib::InjectedKernel out;
    out.name = std::move(k.name);
    out.start_ns = k.start_ns;
    out.end_ns = k.end_ns;
    out.launch_ns = k.queued_ns;
    for (int i = 0; i < 3; ++i) {
      out.grid[i] = k.grid[i];
      out.block[i] = k.block[i];
    }
    by_device[k.device_id].push_back(std::move(out));
  }
  kernels = {};

  std::string why;
  const auto nvml = fathom::calib::nvml::query("", &why);
  const std::string notes_common =
      "cupti_api_version=" + cupti_api_version() + "; dropped_records=" + std::to_string(tracer.dropped()) +
      "; untimed_records=" + std::to_string(tracer.untimed()) + "; nvtx_ranges=" + std::to_string(ranges.size()) +
      "; unpaired_nvtx=" + std::to_string(harvest.unpaired_markers) +
      (s.launch_times ? "; kernels_with_launch_time=" + std::to_string(launch_timed) + "/" + std::to_string(kernel_count)
                      : std::string("; ranges by device time")) +
      (harvest.errors.empty() ? std::string() : "; cupti_errors=" + std::to_string(harvest.errors.size())) +
      (std::getenv("NVTX_INJECTION64_PATH") == nullptr ? std::string("; NVTX_INJECTION64_PATH unset")
                                                       : std::string("; NVTX_INJECTION64_PATH=") +
                                                             std::getenv("NVTX_INJECTION64_PATH")) +
      "; cupti=" + bound_cupti_path();

  fathom::store::CalibStore db = fathom::store::CalibStore::open(s.db_path);
  const std::string source = command_line(), host = fathom::host_name(), version = fathom::version();
  for (auto& [device_id, device_kernels] : by_device) {
    const cupti::DeviceRecord* dev = nullptr;
    for (const auto& d : devices) {
      if (d.id == device_id) dev = &d;
    }
    // Without CUPTI's device record, a single GPU is named by NVML (index 0, which is that GPU
    // when the program used one); with several, the kernels cannot be told apart and are dropped.
    cupti::DeviceRecord from_nvml;
    if (dev == nullptr && by_device.size() == 1 && nvml && !nvml->uuid.empty()) {
      from_nvml.id = device_id;
      from_nvml.name = nvml->name;
      from_nvml.uuid = nvml->uuid;
      dev = &from_nvml;
      say("no CUPTI device record for device " + std::to_string(device_id) + "; naming it from NVML (" +
          nvml->name + ", " + nvml->uuid + "), without SM count, memory or compute capability");
    }
    if (dev == nullptr) {
      say("expected a CUPTI device record for device " + std::to_string(device_id) + ", found none; its " +
          std::to_string(device_kernels.size()) + " kernel(s) were not written");
      continue;
    }
    fathom::calib::InjectionSummary summary = fathom::calib::aggregate_injection(device_kernels, ranges);
    for (const auto& w : summary.warnings) say(w);

    fathom::store::DeviceRecord d;
    d.uuid = dev->uuid;
    d.name = dev->name;
    d.sm_count = dev->sm_count;
    d.memory_bytes = static_cast<int64_t>(dev->memory_bytes);
    d.compute_capability =
        dev->cc_major > 0 ? std::to_string(dev->cc_major) + "." + std::to_string(dev->cc_minor) : std::string();
    fathom::store::CalibRunRecord run;
    run.device_id = db.add_device(d);
    run.kind = "injection";
    run.source = source;
    run.host = host;
    run.fathom_version = version;
    run.driver_version = nvml ? nvml->driver_version : "";
    run.notes = notes_common + "; warnings=" + std::to_string(summary.warnings.size()) +
                (nvml ? "" : "; NVML: " + why);
    const int64_t run_id = db.add_run(run);
    for (auto& m : summary.measurements) m.run_id = run_id;
    const size_t written = db.add_measurements(summary.measurements);
    db.finish_run(run_id, std::nullopt);
    say("wrote " + std::to_string(written) + " measurement(s) from " + std::to_string(device_kernels.size()) +
        " kernel(s) on " + d.name + " to " + s.db_path + " (run " + std::to_string(run_id) + ")");
  }
}

void on_exit() {
  try {
    if (g_session == nullptr) return;
    // A forked child inherits this handler and a copy of the parent's records: only the process
    // that started tracing writes.
    if (getpid() != g_session->pid) return;
    write_records(*g_session);
  } catch (const std::exception& e) {
    say(std::string(e.what()) + "; nothing more was written");
  } catch (...) {
    say("unknown error while writing the records; nothing more was written");
  }
}

std::unique_ptr<cupti::ActivityTracer> start_tracer(bool& launch_times) {
  cupti::TracerOptions options;
  options.memcpy = false;  // not aggregated; saves memory
  options.markers = true;
  options.devices = true;
  options.launch_times = true;
  options.best_effort = true;  // kernels without ranges or device records are still worth keeping
  std::string refused;
  try {
    launch_times = true;
    return std::make_unique<cupti::ActivityTracer>(options);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("cuptiActivityEnableLatencyTimestamps") == std::string::npos) throw;
    refused = e.what();
  }
  options.launch_times = false;
  launch_times = false;
  // Said only once tracing works without them, so that a failure is still one line.
  auto tracer = std::make_unique<cupti::ActivityTracer>(options);
  say(refused + "; kernels will be placed in NVTX ranges by their device times");
  return tracer;
}

}  // namespace

// Called by the CUDA driver once, from cuInit. Returns 1 in every case: the library did load,
// and whether a 0 would make the driver fail cuInit is not documented; the host program must run
// whether or not it is traced.
extern "C" __attribute__((visibility("default"))) int InitializeInjection(void) {
  try {
    static std::atomic<bool> called{false};
    if (called.exchange(true)) return 1;
    const char* db = std::getenv("FATHOM_CALIB_DB");
    if (db == nullptr || *db == '\0') {
      say("FATHOM_CALIB_DB is not set; nothing will be recorded");
      return 1;
    }
    auto session = std::make_unique<Session>();
    session->db_path = db;
    session->pid = getpid();
    session->tracer = start_tracer(session->launch_times);
    for (const auto& w : session->tracer->warnings()) say(w);
    point_nvtx_at_bound_cupti();
    g_session = session.release();
    if (std::atexit(on_exit) != 0) {
      say("atexit: expected to register the exit handler, found it refused; nothing will be recorded");
    }
  } catch (const std::exception& e) {
    say(std::string(e.what()) + "; nothing will be recorded");
  } catch (...) {
    say("unknown error while starting CUPTI; nothing will be recorded");
  }
  return 1;
}
