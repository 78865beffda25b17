#include "calib/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include "calib/profile_fit.h"
#include "common/stats.h"

namespace fathom::calib {

std::string report_group(const store::MeasurementRecord& m) {
  if (m.kind == "gemm") return "gemm " + m.dtype;
  if (m.kind == "memory") return "memory " + m.name;
  return m.kind;
}

namespace {

// The operation make_report prices for a measurement; false when it has none (launch, kernel,
// a shape it cannot read) or the operation moves nothing.
bool priced_op(const store::MeasurementRecord& m, hw::Op& op) {
  bool ok = false;
  try {
    ok = measurement_op(m, op);
  } catch (const std::invalid_argument&) {
    ok = false;
  }
  return ok && (op.flops > 0 || op.bytes > 0);
}

double heldout_of(const hw::CalibratedProfile& p, const std::string& group) {
  const hw::FitQuality* q = nullptr;
  if (group.rfind("gemm ", 0) == 0) {
    auto it = p.gemm.find(group.substr(5));
    if (it != p.gemm.end()) q = &it->second.quality;
  } else if (group.rfind("memory ", 0) == 0) {
    auto it = p.memory.find(group.substr(7));
    if (it != p.memory.end()) q = &it->second.quality;
  } else if (group == "elementwise" && p.elementwise) {
    q = &p.elementwise->quality;
  } else if (group == "reduction" && p.reduction) {
    q = &p.reduction->quality;
  } else if (group == "attention" && p.attention) {
    q = &p.attention->quality;
  }
  return q && q->points > 0 ? q->heldout_median : std::nan("");
}

}  // namespace

std::vector<RooflinePoint> roofline_points(const std::vector<store::MeasurementRecord>& measurements) {
  std::vector<RooflinePoint> out;
  for (const store::MeasurementRecord& m : measurements) {
    if (m.kind == "launch") continue;
    hw::Op op;
    if (!priced_op(m, op)) continue;
    RooflinePoint p;
    p.group = report_group(m);
    p.measurement_id = m.id;
    p.name = m.name;
    p.dtype = m.dtype;
    p.shape = m.shape;
    p.flops = op.flops;
    p.bytes = op.bytes;
    p.time_s = m.time_s;
    p.intensity = op.flops > 0 && op.bytes > 0 ? op.flops / op.bytes : std::nan("");
    p.flops_per_s = op.flops / m.time_s;
    p.bytes_per_s = op.bytes / m.time_s;
    p.rate_is_flops = op.kind == hw::OpKind::kGemm || op.kind == hw::OpKind::kAttention;
    out.push_back(std::move(p));
  }
  return out;
}

CalibReport make_report(const std::vector<store::MeasurementRecord>& measurements, const hw::GpuSpec& gpu,
                        const hw::CalibratedProfile* profile) {
  const hw::DefaultEfficiencyModel def;
  std::unique_ptr<hw::CalibratedEfficiencyModel> cal;
  if (profile) cal = std::make_unique<hw::CalibratedEfficiencyModel>(std::make_shared<hw::CalibratedProfile>(*profile));

  struct Acc {
    std::vector<double> measured, err_def, err_cal;
    double best_rate = std::nan(""), datasheet_rate = std::nan("");
    bool flops = false;
  };
  std::map<std::string, Acc> acc;
  CalibReport r;
  for (const store::MeasurementRecord& m : measurements) {
    const std::string g = report_group(m);
    Acc& a = acc[g];
    a.measured.push_back(m.time_s);
    if (m.kind == "launch") {
      const double d = def.launch_overhead_s(hw::Op{}, gpu);
      a.err_def.push_back(std::abs(d / m.time_s - 1));
      if (profile && profile->launch_gap_s) a.err_cal.push_back(std::abs(*profile->launch_gap_s / m.time_s - 1));
      continue;
    }
    hw::Op op;
    if (!priced_op(m, op)) {
      ++r.unpredicted;
      continue;
    }
    a.flops = op.kind == hw::OpKind::kGemm || op.kind == hw::OpKind::kAttention;
    const double rate = (a.flops ? op.flops : op.bytes) / m.time_s;
    if (std::isnan(a.best_rate) || rate > a.best_rate) a.best_rate = rate;
    a.datasheet_rate = a.flops ? gpu.peak(op.dtype) : gpu.memory_bw_Bps;
    a.err_def.push_back(std::abs(predicted_kernel_time(def, gpu, op) / m.time_s - 1));
    if (cal) a.err_cal.push_back(std::abs(predicted_kernel_time(*cal, gpu, op) / m.time_s - 1));
  }
  for (auto& [g, a] : acc) {
    ReportRow row;
    row.group = g;
    row.points = a.measured.size();
    row.measured_median_s = quantile(a.measured, 0.5);
    row.default_median = quantile(a.err_def, 0.5);
    row.default_p90 = quantile(a.err_def, 0.9);
    row.calibrated_median = quantile(a.err_cal, 0.5);
    row.calibrated_p90 = quantile(a.err_cal, 0.9);
    row.heldout_median = profile ? heldout_of(*profile, g) : std::nan("");
    row.best_rate = a.best_rate;
    row.datasheet_rate = a.datasheet_rate;
    row.rate_is_flops = a.flops;
    r.rows.push_back(row);
  }
  return r;
}

}  // namespace fathom::calib
