#include "gui/pages/sweep_charts.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace fathom::gui {

Chart sweep_chart(const plan::SweepTable& t, const plan::SweepSelection& s, const plan::SweepPlot& p, bool logx, bool logy) {
  Chart c;
  c.title = fmt::format("sweep '{}': {} against {}", t.sweep.name, s.y, s.x);
  std::string filters;
  for (const auto& [axis, value] : s.where) filters += fmt::format("{}{}={}", filters.empty() ? "" : ", ", axis, value);
  if (!filters.empty()) c.title += " (" + filters + ")";
  c.x.title = s.x;
  c.y.title = s.y;
  c.x.log = logx && p.x_categories.empty();
  c.y.log = logy;
  c.x.categories = p.x_categories;
  c.empty_text = t.rows.empty() ? "no point stored yet" : "no stored point passes the filters with a value of " + s.y;
  for (const auto& ser : p.series) {
    const std::set<double> distinct(ser.x.begin(), ser.x.end());
    const bool line = distinct.size() == ser.x.size() && p.x_categories.empty();
    // The legend names the series axis by its last key ("token_budget=512"): the full path is in
    // the page's series box and the command line.
    std::string label = ser.label;
    const size_t eq = label.find('=');
    const size_t dot = label.rfind('.', eq == std::string::npos ? label.size() : eq);
    if (eq != std::string::npos && dot != std::string::npos) label = label.substr(dot + 1);
    c.series.push_back({label, line ? SeriesKind::kLine : SeriesKind::kScatter, ser.x, ser.y, {}, {}, {}});
  }
  return c;
}

Table sweep_table(const plan::SweepTable& t) {
  Table out;
  const std::string source = fmt::format("sweep '{}' (spec {}), read by plan::read_sweep_table", t.sweep.name,
                                         t.sweep.spec_hash.substr(0, 12));
  for (const auto& name : t.columns) {
    std::string tip;
    if (name == "point") tip = "index of the point in the spec (the last axis varies fastest)";
    else if (std::find(t.axes.begin(), t.axes.end(), name) != t.axes.end()) tip = "axis: the value --set at this point";
    else if (name == "status") tip = "ok, or failed with the message";
    else if (name == "verdict") tip = "saturation verdict of a serving point (docs/metrics.md)";
    else if (name == "seed") tip = "the workload's seed";
    else if (name == "scenario_hash") tip = "SHA-256 of the point's resolved scenario, stored with it";
    else if (name == "message") tip = "why the point failed";
    else tip = "metric of the point (docs/sweeps.md lists them)";
    const bool whole = name == "point" || name == "seed";
    const bool axis = std::find(t.axes.begin(), t.axes.end(), name) != t.axes.end();
    out.columns.push_back({name, tip + " — " + source, whole ? 12 : axis ? 6 : 4});
  }
  for (const auto& row : t.rows) {
    std::vector<Cell> cells;
    cells.reserve(row.size());
    for (const auto& cell : row) {
      if (cell.kind == plan::SweepCell::Kind::kNumber) cells.push_back(Cell::number(cell.number));
      else if (cell.kind == plan::SweepCell::Kind::kText) cells.push_back(Cell::text(cell.text));
      else cells.push_back(Cell{});
    }
    out.rows.push_back(std::move(cells));
  }
  return out;
}

}  // namespace fathom::gui
