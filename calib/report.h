#pragma once
// `fathom calib report`: every measurement against what the cost chain predicts for it, with
// the datasheet defaults and with a calibrated profile, summarised per kind.
#include <optional>
#include <string>
#include <vector>

#include "hw/efficiency.h"
#include "hw/gpu.h"
#include "hw/profile.h"
#include "store/calib_store.h"

namespace fathom::calib {

struct ReportRow {
  std::string group;  // "gemm bf16", "memory copy", "elementwise", ..., "launch", "kernel"
  size_t points = 0;
  double measured_median_s = 0;
  // |predicted/measured − 1|: median and 90th percentile, default model and calibrated profile.
  double default_median = 0, default_p90 = 0;
  double calibrated_median = 0, calibrated_p90 = 0;  // NaN without a profile
  double heldout_median = 0;                          // from the profile's cross-validation; NaN if none
  // The best rate any measurement of the group reached, against the datasheet: FLOP/s for GEMMs
  // and attention (peak of the GEMM's dtype; bf16 for attention), bytes/s for the rest (memory
  // bandwidth). NaN for launch and plain kernels.
  double best_rate = 0, datasheet_rate = 0;
  bool rate_is_flops = false;
};

struct CalibReport {
  std::vector<ReportRow> rows;
  size_t unpredicted = 0;  // measurements of kinds the cost chain has no operation for
};

CalibReport make_report(const std::vector<store::MeasurementRecord>& measurements, const hw::GpuSpec& gpu,
                        const hw::CalibratedProfile* profile);

}  // namespace fathom::calib
