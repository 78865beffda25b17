#include "calib/cupti/nvml.h"

#include <dlfcn.h>

#include <utility>

namespace fathom::calib::nvml {
namespace {

// Our own declarations of the few entry points used, following NVML's public C API (the
// "NVML API Reference" of the driver): every call returns nvmlReturn_t, an int where 0 is
// NVML_SUCCESS; devices are opaque handles; enums are passed as int. No header is needed, and
// nothing here links against libnvidia-ml, so a machine without a driver still loads Fathom.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_opaque*;
constexpr nvmlReturn_t kSuccess = 0;
constexpr int kClockSm = 1;         // NVML_CLOCK_SM
constexpr int kClockMem = 2;        // NVML_CLOCK_MEM
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr unsigned kTextBytes = 256;  // above NVML's largest name, UUID and version buffers (96)

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using ErrorStringFn = const char* (*)(nvmlReturn_t);
using HandleByPciFn = nvmlReturn_t (*)(const char*, nvmlDevice_t*);
using HandleByIndexFn = nvmlReturn_t (*)(unsigned, nvmlDevice_t*);
using DeviceTextFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned);
using SystemTextFn = nvmlReturn_t (*)(char*, unsigned);
using ClockFn = nvmlReturn_t (*)(nvmlDevice_t, int, unsigned*);
using PowerLimitFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*);
using TemperatureFn = nvmlReturn_t (*)(nvmlDevice_t, int, unsigned*);

// libnvidia-ml loaded and initialised for the lifetime of one query; every failure is a string.
class Session {
 public:
  Session() {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) {
      const char* e = dlerror();
      error_ = std::string("dlopen(libnvidia-ml.so.1): expected the NVIDIA driver's NVML library, found ") +
               (e != nullptr ? e : "nothing");
      return;
    }
    init_ = sym<InitFn>("nvmlInit_v2");
    shutdown_ = sym<ShutdownFn>("nvmlShutdown");
    error_string_ = reinterpret_cast<ErrorStringFn>(dlsym(lib_, "nvmlErrorString"));  // optional
    by_pci_ = sym<HandleByPciFn>("nvmlDeviceGetHandleByPciBusId_v2");
    by_index_ = sym<HandleByIndexFn>("nvmlDeviceGetHandleByIndex_v2");
    name_ = sym<DeviceTextFn>("nvmlDeviceGetName");
    uuid_ = sym<DeviceTextFn>("nvmlDeviceGetUUID");
    driver_ = sym<SystemTextFn>("nvmlSystemGetDriverVersion");
    clock_ = sym<ClockFn>("nvmlDeviceGetClockInfo");
    power_ = sym<PowerLimitFn>("nvmlDeviceGetPowerManagementLimit");
    temperature_ = sym<TemperatureFn>("nvmlDeviceGetTemperature");
    if (!error_.empty()) return;
    if (const nvmlReturn_t r = init_(); r != kSuccess) {
      error_ = describe("nvmlInit_v2", r);
      return;
    }
    initialised_ = true;
  }
  ~Session() {
    if (initialised_) shutdown_();
    // The library stays loaded (dlopen counts references): unloading a driver library that may
    // have started threads risks a crash at exit, and loading it again costs nothing.
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // The device at `pci_bus_id`, or index 0 when it is empty; nullptr with error() set otherwise.
  nvmlDevice_t device(const std::string& pci_bus_id) {
    nvmlDevice_t d = nullptr;
    const nvmlReturn_t r = pci_bus_id.empty() ? by_index_(0, &d) : by_pci_(pci_bus_id.c_str(), &d);
    if (r != kSuccess) {
      error_ = pci_bus_id.empty() ? describe("nvmlDeviceGetHandleByIndex_v2(0)", r)
                                  : describe("nvmlDeviceGetHandleByPciBusId_v2(" + pci_bus_id + ")", r);
      return nullptr;
    }
    return d;
  }

  bool text(DeviceTextFn fn, const char* call, nvmlDevice_t d, std::string& out) {
    char buf[kTextBytes] = {0};
    if (const nvmlReturn_t r = fn(d, buf, kTextBytes); r != kSuccess) {
      error_ = describe(call, r);
      return false;
    }
    out = buf;
    return true;
  }

  std::string driver_version() {
    char buf[kTextBytes] = {0};
    return driver_(buf, kTextBytes) == kSuccess ? std::string(buf) : std::string();
  }

  Clocks clocks(nvmlDevice_t d) {
    Clocks c;
    unsigned mhz = 0;
    if (clock_(d, kClockSm, &mhz) == kSuccess) c.sm_mhz = mhz;
    if (clock_(d, kClockMem, &mhz) == kSuccess) c.memory_mhz = mhz;
    return c;
  }

  std::optional<double> power_limit_w(nvmlDevice_t d) {
    unsigned mw = 0;
    if (power_(d, &mw) != kSuccess) return std::nullopt;
    return mw / 1000.0;  // NVML reports milliwatts
  }

  std::optional<double> temperature_c(nvmlDevice_t d) {
    unsigned c = 0;
    if (temperature_(d, kTemperatureGpu, &c) != kSuccess) return std::nullopt;
    return c;
  }

  DeviceTextFn name_fn() const { return name_; }
  DeviceTextFn uuid_fn() const { return uuid_; }

 private:
  template <typename Fn>
  Fn sym(const char* name) {
    void* p = dlsym(lib_, name);
    if (p == nullptr && error_.empty()) {
      error_ = std::string("dlsym(") + name + "): expected it in libnvidia-ml.so.1, found no such symbol";
    }
    return reinterpret_cast<Fn>(p);
  }

  std::string describe(const std::string& call, nvmlReturn_t r) const {
    const char* text = error_string_ != nullptr ? error_string_(r) : nullptr;
    return call + ": expected NVML_SUCCESS, found " + (text != nullptr ? std::string(text) : "an error") +
           " (code " + std::to_string(r) + ")";
  }

  void* lib_ = nullptr;
  bool initialised_ = false;
  std::string error_;
  InitFn init_ = nullptr;
  ShutdownFn shutdown_ = nullptr;
  ErrorStringFn error_string_ = nullptr;
  HandleByPciFn by_pci_ = nullptr;
  HandleByIndexFn by_index_ = nullptr;
  DeviceTextFn name_ = nullptr, uuid_ = nullptr;
  SystemTextFn driver_ = nullptr;
  ClockFn clock_ = nullptr;
  PowerLimitFn power_ = nullptr;
  TemperatureFn temperature_ = nullptr;
};

}  // namespace

std::optional<DeviceInfo> query(const std::string& pci_bus_id, std::string* why) {
  auto fail = [&](std::string message) -> std::optional<DeviceInfo> {
    if (why != nullptr) *why = std::move(message);
    return std::nullopt;
  };
  try {
    Session nvml;
    if (!nvml.ok()) return fail(nvml.error());
    nvmlDevice_t d = nvml.device(pci_bus_id);
    if (d == nullptr) return fail(nvml.error());
    DeviceInfo info;
    if (!nvml.text(nvml.name_fn(), "nvmlDeviceGetName", d, info.name)) return fail(nvml.error());
    if (!nvml.text(nvml.uuid_fn(), "nvmlDeviceGetUUID", d, info.uuid)) return fail(nvml.error());
    info.driver_version = nvml.driver_version();
    info.clocks = nvml.clocks(d);
    info.power_limit_w = nvml.power_limit_w(d);
    info.temperature_c = nvml.temperature_c(d);
    return info;
  } catch (const std::exception& e) {
    return fail(std::string("NVML query: ") + e.what());
  }
}

Clocks clocks(const std::string& pci_bus_id) {
  try {
    Session nvml;
    if (!nvml.ok()) return {};
    nvmlDevice_t d = nvml.device(pci_bus_id);
    return d != nullptr ? nvml.clocks(d) : Clocks{};
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace fathom::calib::nvml
