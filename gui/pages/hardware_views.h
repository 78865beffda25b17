#pragma once
// What the Hardware page shows, built from library results as gui::Table and gui::Chart (free
// of Qt): the GPU catalog with the user's prices, the efficiency provenance of one GPU, a
// calibration database's report, and the roofline of one GPU with the database's measurements.
// No model code: every number is a field of the catalog or a value an hw::/calib:: call returned.
#include <map>
#include <string>
#include <vector>

#include "calib/report.h"
#include "common/dtype.h"
#include "gui/chart/chart.h"
#include "gui/table/table.h"
#include "hw/catalog.h"
#include "hw/efficiency.h"
#include "hw/efficiency_provenance.h"

namespace fathom::gui::hardware {

// The data types with a peak in any catalog GPU, in kAllDTypes order (the catalog's columns).
std::vector<DType> catalog_dtypes(const hw::HardwareCatalog& catalog);

// One row per GPU, in catalog order: name, memory (GiB), bandwidth (TB/s), peak TFLOP/s per
// data type, intra-node link (kind, GB/s per direction, GPUs per node), network (GB/s per GPU),
// the catalog's $/GPU-hour, the user's from `prices_file` (empty when none) and the profile.
// Tooltips: the GPU file's source of each figure.
Table catalog_table(const hw::HardwareCatalog& catalog, const std::map<std::string, double>& user_prices,
                    const std::string& prices_file);
// Column indices of catalog_table.
int catalog_price_column(const hw::HardwareCatalog& catalog);  // the catalog's $/GPU-hour

// hw::efficiency_provenance as rows: applies to, parameter, value, unit, origin, held-out
// median error (fitted rows), source.
Table provenance_table(const std::vector<hw::EfficiencyParameter>& parameters);

// calib::make_report as rows (the numbers of `fathom calib report DB --format json`).
Table report_table(const calib::CalibReport& report);

struct RooflineView {
  const hw::GpuSpec* gpu = nullptr;
  const hw::EfficiencyModel* model = nullptr;  // the profile's or the defaults'
  std::string model_label;                     // "calibrated profile h200.yaml", "documented defaults"
  std::vector<DType> dtypes;                   // lines drawn
  const std::vector<calib::RooflinePoint>* points = nullptr;  // a database's measurements, or null
};

// The roofline chart (log-log, TFLOP/s against FLOP/byte): per data type the datasheet line and
// the model's line (hw::datasheet_roofline, hw::gemm_roofline, sampled by hw::roofline_curve),
// and one scatter series per report group (named as the group: "gemm bf16", "attention") of
// the points with FLOPs and bytes. `scatter_points`
// receives, per chart series, the indices into *points of its markers (empty for lines).
Chart roofline_chart(const RooflineView& view, std::vector<std::vector<size_t>>* scatter_points);

// A measurement point in words, for the read-out under the chart.
std::string describe_point(const calib::RooflinePoint& p);

}  // namespace fathom::gui::hardware
