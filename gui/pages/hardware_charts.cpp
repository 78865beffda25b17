// The roofline chart of the Hardware page (gui/pages/hardware_views.h): lines from hw::'s
// roofline calls, points from calib::roofline_points, nothing computed here but the axis range.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "gui/pages/hardware_views.h"
#include "hw/roofline.h"

namespace fathom::gui::hardware {

namespace {

// One colour per data type; the datasheet line in a lighter shade of it.
std::string dtype_color(DType t, bool light) {
  static const std::map<DType, std::pair<const char*, const char*>> kColors = {
      {DType::kFp64, {"#6a3d9a", "#a68bc4"}}, {DType::kFp32, {"#b15928", "#d99a6c"}}, {DType::kTf32, {"#33a02c", "#7fc97a"}},
      {DType::kBf16, {"#1f78b4", "#6baed6"}}, {DType::kFp16, {"#0e8a96", "#5fc4cf"}}, {DType::kFp8, {"#e31a1c", "#f47c7d"}},
      {DType::kInt8, {"#ff7f00", "#fdb462"}}, {DType::kInt4, {"#555555", "#a0a0a0"}}, {DType::kFp4, {"#8c564b", "#c49c94"}}};
  auto it = kColors.find(t);
  if (it == kColors.end()) return {};
  return light ? it->second.second : it->second.first;
}

std::string group_color(const std::string& group) {
  if (group.rfind("gemm ", 0) == 0) {
    try {
      return dtype_color(parse_dtype(group.substr(5)), false);
    } catch (const std::invalid_argument&) {
      return {};
    }
  }
  if (group == "attention") return "#000000";
  return {};
}

}  // namespace

Chart roofline_chart(const RooflineView& v, std::vector<std::vector<size_t>>* scatter_points) {
  Chart c;
  c.x = {"arithmetic intensity (FLOP/byte)", true, {}, {}, {}};
  c.y = {"attainable (TFLOP/s)", true, {}, {}, {}};
  if (scatter_points) scatter_points->clear();
  if (!v.gpu) {
    c.empty_text = "select a GPU in the catalog";
    return c;
  }
  c.title = fmt::format("{}: roofline, datasheet and {}", v.gpu->name, v.model_label);

  // Intensity range: two decades around the ridges, widened to every measured point.
  double lo = 0.1, hi = 1e4;
  std::map<std::string, std::vector<size_t>> groups;
  if (v.points) {
    for (size_t i = 0; i < v.points->size(); ++i) {
      const calib::RooflinePoint& p = (*v.points)[i];
      if (!(p.intensity > 0) || !(p.flops_per_s > 0)) continue;  // no FLOPs or no bytes: not on this chart
      groups[p.group].push_back(i);
      lo = std::min(lo, p.intensity / 2);
      hi = std::max(hi, p.intensity * 2);
    }
  }
  auto add_line = [&](const std::string& name, const hw::Roofline& r, const std::string& color) {
    Series s{name, SeriesKind::kLine, {}, {}, {}, {}, color};
    for (const auto& [x, y] : hw::roofline_curve(r, lo, hi)) {
      s.x.push_back(x);
      s.y.push_back(y / 1e12);
    }
    c.series.push_back(std::move(s));
    if (scatter_points) scatter_points->emplace_back();
  };
  for (DType t : v.dtypes) {
    if (!v.gpu->supports(t)) continue;
    add_line(to_string(t) + " datasheet", hw::datasheet_roofline(*v.gpu, t), dtype_color(t, true));
    if (v.model) add_line(to_string(t) + " " + v.model_label, hw::gemm_roofline(*v.gpu, t, *v.model), dtype_color(t, false));
  }
  for (const auto& [group, idx] : groups) {
    Series s{group, SeriesKind::kScatter, {}, {}, {}, {}, group_color(group)};  // the report's group name
    for (size_t i : idx) {
      s.x.push_back((*v.points)[i].intensity);
      s.y.push_back((*v.points)[i].flops_per_s / 1e12);
    }
    c.series.push_back(std::move(s));
    if (scatter_points) scatter_points->push_back(idx);
  }
  if (c.series.empty()) c.empty_text = v.gpu->name + " has no peak for the chosen data types";
  return c;
}

std::string describe_point(const calib::RooflinePoint& p) {
  return fmt::format("{} '{}'{}{}: {:.4g} s, {:.4g} TFLOP/s, {:.4g} GB/s at {:.4g} FLOP/byte (measurement {})", p.group,
                     p.name, p.dtype.empty() ? "" : " " + p.dtype, p.shape.empty() ? "" : " " + p.shape, p.time_s,
                     p.flops_per_s / 1e12, p.bytes_per_s / 1e9, p.intensity, p.measurement_id);
}

}  // namespace fathom::gui::hardware
