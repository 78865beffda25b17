#pragma once
// Where each efficiency the cost chain uses for one GPU comes from: the parameters of
// DefaultEfficiencyModel and CalibratedEfficiencyModel (hw/efficiency.h, hw/profile.h) that
// price that GPU's kernels, each with its value and its origin:
//   measured   taken directly from a calibration database (the profile's launch gap),
//   fitted     fitted to a calibration database's measurements (`fathom calib fit`),
//   published  a rate measured by others, from the GPU's catalog file (`measured:`),
//   default    a documented default of docs/cost_model.md.
// The values are the ones the models return; tests/hw/efficiency_provenance_test.cpp checks it.
#include <optional>
#include <string>
#include <vector>

#include "hw/efficiency.h"
#include "hw/gpu.h"
#include "hw/profile.h"

namespace fathom::hw {

enum class EfficiencyOrigin { kMeasured, kFitted, kPublished, kDefault };
std::string to_string(EfficiencyOrigin o);

struct EfficiencyParameter {
  std::string applies_to;  // the operations it prices: "gemm bf16", "attention", "elementwise, scan", ...
  std::string parameter;   // "compute fraction", "memory fraction", "k_half", "fixed time", "launch gap", ...
  double value = 0;
  std::string unit;        // "" (a fraction of peak), "s", "elements"
  EfficiencyOrigin origin = EfficiencyOrigin::kDefault;
  std::string source;      // the profile and fit, the GPU file's source, or the documented default
  std::optional<FitQuality> quality;  // fitted: the fit's cross-validation
};

// The parameters that price `gpu`'s kernels with `options` and, when given, `profile` (which
// must belong to `gpu`; parameters it has no fit for keep the defaults, as the model does). GEMM
// rows for every data type the GPU supports, then the GEMM shape constants, attention, the
// streaming kinds, the vector units' compute fraction and the launch gap.
std::vector<EfficiencyParameter> efficiency_provenance(const GpuSpec& gpu, const DefaultEfficiencyOptions& options,
                                                       const CalibratedProfile* profile);

}  // namespace fathom::hw
