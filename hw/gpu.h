#pragma once
// One accelerator type of the hardware catalog (data/hardware/gpus/*.yaml), in SI units.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/yaml.h"

namespace fathom::hw {

struct CalibratedProfile;  // hw/profile.h

struct IntraNodeLink {
  std::string kind;                  // nvlink4, infinity-fabric, pcie, ici, roce, ...
  double bandwidth_per_direction_Bps = 0;  // per GPU
  int gpus_per_node = 1;
  bool switched = false;             // all-to-all switch (NVSwitch)
  bool in_network_reduction = false; // NVLink SHARP (NVLS)
};

// Achievable rates measured by others; absent figures fall back to documented defaults.
struct MeasuredRates {
  std::optional<double> gemm_bf16_flops;  // FLOP/s
  std::optional<double> gemm_fp8_flops;   // FLOP/s
  std::optional<double> memory_copy_Bps;  // bytes/s
  std::optional<double> attention_bf16_flops;
};

struct GpuSpec {
  std::string name;
  std::string display_name;
  std::string vendor;
  std::string architecture;
  std::vector<std::string> aliases;
  std::array<double, std::size(kAllDTypes)> peak_flops{};  // FLOP/s by DType index, 0 = unsupported
  double memory_bytes = 0;
  double memory_bw_Bps = 0;
  double l2_bytes = 0;
  int compute_units = 0;
  double boost_clock_Hz = 0;
  double tdp_W = 0;
  IntraNodeLink intra_node;
  int pcie_gen = 0;
  double host_bw_Bps = 0;             // per direction
  double network_bw_per_gpu_Bps = 0;  // per direction
  double usd_per_gpu_hour = 0;
  MeasuredRates measured;
  // The profile calibrated on this GPU (key calibrated_profile: a path relative to the GPU's
  // file), loaded with the catalog. Scenarios on this GPU use it unless they name another
  // profile or `defaults` (docs/calibration.md); null when the catalog has none.
  std::shared_ptr<const CalibratedProfile> calibrated_profile;
  std::map<std::string, std::string> sources;
  std::string file;  // where it was loaded from

  double peak(DType t) const { return peak_flops[static_cast<size_t>(t)]; }
  bool supports(DType t) const { return peak(t) > 0; }
};

// Parses one GPU file; every figure must carry a source.
GpuSpec parse_gpu(const YamlNode& root);

}  // namespace fathom::hw
