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

// The report's group of a measurement: "gemm <dtype>", "memory <kernel>", or its kind.
std::string report_group(const store::MeasurementRecord& m);

// One measurement as a point of a roofline: its arithmetic intensity and the rates it reached.
struct RooflinePoint {
  std::string group;  // as ReportRow::group
  int64_t measurement_id = 0;
  std::string name, dtype, shape;
  double flops = 0, bytes = 0, time_s = 0;
  double intensity = 0;    // flops / bytes (FLOP/byte); NaN when either is 0
  double flops_per_s = 0;  // flops / time_s
  double bytes_per_s = 0;  // bytes / time_s
  // The rate the report's best_rate takes for this group: FLOP/s for GEMMs and attention,
  // bytes/s for the rest.
  bool rate_is_flops = false;
};

// Every measurement the cost chain has an operation for (the ones make_report predicts), in the
// order given; launch and plain kernel measurements have no FLOPs or bytes and are left out.
// The largest rate of a group's points is that group's ReportRow::best_rate.
std::vector<RooflinePoint> roofline_points(const std::vector<store::MeasurementRecord>& measurements);

CalibReport make_report(const std::vector<store::MeasurementRecord>& measurements, const hw::GpuSpec& gpu,
                        const hw::CalibratedProfile* profile);

}  // namespace fathom::calib
