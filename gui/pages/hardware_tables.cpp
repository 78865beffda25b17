// The Hardware page's tables (gui/pages/hardware_views.h): catalog fields and library results,
// each cell with its source as a tooltip. Figures are shown in the unit their column names.
#include <cmath>

#include <fmt/format.h>

#include "gui/pages/hardware_views.h"
#include "hw/profile.h"

namespace fathom::gui::hardware {

namespace {

std::string source_of(const hw::GpuSpec& g, const std::string& key) {
  auto it = g.sources.find(key);
  std::string s = it == g.sources.end() ? std::string("no source in the GPU file") : it->second;
  s += "\n";
  s += g.file.empty() ? g.name : g.file;
  return s;
}

Cell nan_or(double v, std::string tip = {}) {
  return std::isnan(v) ? Cell{std::monostate{}, "none (no profile, or no points held out)", -1} : Cell::number(v, std::move(tip));
}

}  // namespace

std::vector<DType> catalog_dtypes(const hw::HardwareCatalog& catalog) {
  std::vector<DType> out;
  for (DType t : kAllDTypes) {
    for (const auto& g : catalog.gpus()) {
      if (g.supports(t)) {
        out.push_back(t);
        break;
      }
    }
  }
  return out;
}

int catalog_price_column(const hw::HardwareCatalog& catalog) { return 3 + static_cast<int>(catalog_dtypes(catalog).size()) + 4; }

Table catalog_table(const hw::HardwareCatalog& catalog, const std::map<std::string, double>& user_prices,
                    const std::string& prices_file) {
  const std::vector<DType> dtypes = catalog_dtypes(catalog);
  Table t;
  t.columns.push_back({"GPU", "catalog name (data/hardware/gpus/NAME.yaml)", 4});
  t.columns.push_back({"memory (GiB)", "device memory, GiB (2^30 bytes)", 4});
  t.columns.push_back({"bandwidth (TB/s)", "peak device memory bandwidth, TB/s", 4});
  for (DType d : dtypes) {
    t.columns.push_back({to_string(d) + " (TFLOP/s)", "dense peak of " + to_string(d) + " (no 2:4 sparsity), TFLOP/s", 5});
  }
  t.columns.push_back({"link", "intra-node interconnect", 4});
  t.columns.push_back({"link (GB/s)", "intra-node bandwidth per GPU per direction, GB/s", 4});
  t.columns.push_back({"GPUs/node", "GPUs on one intra-node link", 4});
  t.columns.push_back({"network (GB/s)", "scale-out NIC bandwidth per GPU per direction, GB/s", 4});
  t.columns.push_back({"catalog $/GPU-h", "reference on-demand price in the GPU file (usd_per_gpu_hour)", 4});
  t.columns.push_back({"your $/GPU-h", "your price in the prices file (fathom plan serve|train|total --prices FILE); empty: none", 4});
  t.columns.push_back({"profile", "what prices this GPU's kernels in scenarios: its calibrated profile, or the documented defaults", 4});

  for (const hw::GpuSpec& g : catalog.gpus()) {
    std::vector<Cell> row;
    row.push_back(Cell::text(g.name, fmt::format("{} ({}, {})\n{}", g.display_name, g.vendor, g.architecture, g.file)));
    row.push_back(Cell::number(g.memory_bytes / 1073741824.0, source_of(g, "memory")));
    row.push_back(Cell::number(g.memory_bw_Bps / 1e12, source_of(g, "memory_bandwidth")));
    for (DType d : dtypes) {
      if (g.supports(d)) row.push_back(Cell::number(g.peak(d) / 1e12, source_of(g, "peak_flops")));
      else row.push_back(Cell{std::monostate{}, "not supported by " + g.name, -1});
    }
    std::string link_tip = source_of(g, "intra_node");
    if (g.intra_node.switched) link_tip += "\nswitched (all-to-all)";
    if (g.intra_node.in_network_reduction) link_tip += "\nin-network reduction (NVLink SHARP)";
    row.push_back(Cell::text(g.intra_node.kind, link_tip));
    row.push_back(Cell::number(g.intra_node.bandwidth_per_direction_Bps / 1e9, source_of(g, "intra_node")));
    row.push_back(Cell::number(g.intra_node.gpus_per_node, source_of(g, "intra_node")));
    row.push_back(g.network_bw_per_gpu_Bps > 0 ? Cell::number(g.network_bw_per_gpu_Bps / 1e9, source_of(g, "network_bandwidth_per_gpu"))
                                               : Cell{std::monostate{}, "none in the GPU file", -1});
    row.push_back(g.usd_per_gpu_hour > 0 ? Cell::number(g.usd_per_gpu_hour, source_of(g, "usd_per_gpu_hour"))
                                         : Cell{std::monostate{}, "no price in the GPU file", -1});
    if (auto it = user_prices.find(g.name); it != user_prices.end()) {
      row.push_back(Cell::number(it->second, "your price, in " + prices_file + "\nfathom plan serve|train|total PLAN --prices " + prices_file));
    } else {
      row.push_back(Cell{std::monostate{}, "none: plans use the plan's prices, else the catalog's", -1});
    }
    if (g.calibrated_profile) {
      row.push_back(Cell::text("calibrated: " + g.calibrated_profile->file, source_of(g, "calibrated_profile")));
    } else {
      row.push_back(Cell::text("documented defaults", "no calibrated_profile in the GPU file: the default efficiency model (docs/cost_model.md)"));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table provenance_table(const std::vector<hw::EfficiencyParameter>& parameters) {
  Table t;
  t.columns = {{"applies to", "the operations of the cost chain this parameter prices", 4},
               {"parameter", "t = max(F / (P·compute fraction), B / (BW·memory fraction)) + launch gap + fixed time (docs/cost_model.md)", 4},
               {"value", "the value the efficiency model uses", 4},
               {"unit", "empty: a fraction of the datasheet peak", 4},
               {"origin", "measured (calibration database), fitted (profile fit), published (the GPU file's measured rates), default (documented)", 4},
               {"held-out error", "fitted: median |predicted/measured - 1| over k-fold held-out measurements", 3},
               {"source", "where the value comes from", 4}};
  for (const hw::EfficiencyParameter& p : parameters) {
    std::vector<Cell> row;
    row.push_back(Cell::text(p.applies_to));
    row.push_back(Cell::text(p.parameter));
    row.push_back(Cell::number(p.value, p.source));
    row.push_back(Cell::text(p.unit));
    row.push_back(Cell::text(hw::to_string(p.origin), p.source));
    if (p.quality && p.quality->points > 0) {
      row.push_back(nan_or(p.quality->heldout_median,
                           fmt::format("{} points, {} folds; p90 {:.3g}; in-sample median {:.3g}", p.quality->points,
                                       p.quality->folds, p.quality->heldout_p90, p.quality->insample_median)));
    } else {
      row.push_back(Cell{});
    }
    row.push_back(Cell::text(p.source, p.source));
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table report_table(const calib::CalibReport& report) {
  Table t;
  const std::string err = "|predicted/measured - 1| of each kernel's own duration (launch gap excluded)";
  t.columns = {{"group", "kernel kind (gemm by data type, memory by kernel)", 4},
               {"points", "measurements", 4},
               {"measured median (s)", "median measured kernel time", 4},
               {"default median err", err + ", documented defaults: median", 3},
               {"default p90 err", err + ", documented defaults: 90th percentile", 3},
               {"calibrated median err", err + ", the profile: median", 3},
               {"calibrated p90 err", err + ", the profile: 90th percentile", 3},
               {"held-out median err", "the profile's k-fold cross-validation", 3},
               {"best rate", "fastest measurement: FLOP/s (GEMM, attention) or bytes/s (the rest)", 4},
               {"datasheet rate", "the datasheet peak of that rate", 4},
               {"rate unit", "FLOP/s or B/s", 4}};
  for (const calib::ReportRow& r : report.rows) {
    const std::string how = "calib::make_report (fathom calib report DB --format json)";
    t.rows.push_back({Cell::text(r.group), Cell::number(static_cast<double>(r.points), how),
                      nan_or(r.measured_median_s, how), nan_or(r.default_median, how), nan_or(r.default_p90, how),
                      nan_or(r.calibrated_median, how), nan_or(r.calibrated_p90, how), nan_or(r.heldout_median, how),
                      nan_or(r.best_rate, how), nan_or(r.datasheet_rate, how),
                      Cell::text(std::isnan(r.best_rate) ? "" : (r.rate_is_flops ? "FLOP/s" : "B/s"))});
  }
  return t;
}

}  // namespace fathom::gui::hardware
