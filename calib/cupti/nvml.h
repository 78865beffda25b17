#pragma once
// NVML read through dlopen("libnvidia-ml.so.1"): the driver ships the library, the toolkit here
// ships no header, and linking the stub would stop the binary from starting without a driver.
// Only the few stable C entry points Fathom needs are declared (docs/calibration.md).
#include <optional>
#include <string>

namespace fathom::calib::nvml {

struct Clocks {
  std::optional<double> sm_mhz, memory_mhz;
};

struct DeviceInfo {
  std::string name, uuid;  // as NVML reports them
  std::string driver_version;
  Clocks clocks;
  std::optional<double> power_limit_w;
  std::optional<double> temperature_c;
};

// Empty when NVML cannot be loaded or initialised; `why` (when given) says which step failed.
// `pci_bus_id` picks the device (from cudaDeviceGetPCIBusId); empty: index 0.
std::optional<DeviceInfo> query(const std::string& pci_bus_id, std::string* why = nullptr);
// Current SM and memory clocks of the same device, or empty optionals.
Clocks clocks(const std::string& pci_bus_id);

}  // namespace fathom::calib::nvml
