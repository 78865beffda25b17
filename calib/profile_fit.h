#pragma once
// From measurements to a calibrated hardware profile (docs/calibration.md): one efficiency fit
// per kernel kind with fit/ (Ceres, log-space residuals, a Huber loss so that one disturbed
// measurement does not move the fit), and k-fold cross-validation of each fit's error on
// measurements it did not see.
#include <cstdint>
#include <string>
#include <vector>

#include "hw/gpu.h"
#include "hw/profile.h"
#include "store/calib_store.h"

namespace fathom::calib {

struct ProfileFitOptions {
  int folds = 5;
  uint64_t seed = 1;  // of the fold assignment
  int threads = 0;    // fit/'s multi-start threads (0: all cores); results do not depend on it
  int min_points = 6; // a kind with fewer measurements is left to the defaults
};

// One fitted group (GEMMs of one dtype, one memory kernel, element-wise, reduction, attention).
struct GroupFit {
  std::string group;    // "gemm bf16", "memory copy", "elementwise", "reduction", "attention"
  std::string formula;  // as fitted, with the GPU's peak and bandwidth written in
  std::vector<std::string> param_names;
  std::vector<double> params;
  hw::FitQuality quality;
  bool converged = false;
};

struct ProfileFit {
  hw::CalibratedProfile profile;
  std::vector<GroupFit> groups;
  std::vector<std::string> notes;  // kinds skipped, attention not applied, ...
};

// The catalog GPU a device name stands for ("NVIDIA H200" → h200-sxm), or null.
const hw::GpuSpec* match_catalog_gpu(const std::string& device_name, const std::vector<hw::GpuSpec>& gpus);

// The GPU the fit uses: the catalog entry with the device's SM count.
hw::GpuSpec fitting_gpu(const hw::GpuSpec& catalog, const store::DeviceRecord& device);

// Fits every kind that has at least `min_points` measurements. Throws InputError(`where`) when
// nothing can be fitted.
ProfileFit fit_profile(const std::vector<store::MeasurementRecord>& measurements, const hw::GpuSpec& gpu,
                       const store::DeviceRecord& device, const ProfileFitOptions& options, const std::string& where);

// The operation the cost chain would build for a measurement (kind, dtype, shape, FLOPs,
// bytes); false for kinds it has no operation for (launch, kernel).
bool measurement_op(const store::MeasurementRecord& m, hw::Op& op);

// The kernel time the cost chain predicts for a measurement's operation: the roofline part and
// the fixed in-kernel time, without the launch gap (a kernel's own duration is what was measured).
double predicted_kernel_time(const hw::EfficiencyModel& model, const hw::GpuSpec& gpu, const hw::Op& op);

}  // namespace fathom::calib
