#include "plan/sweep_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/error.h"

namespace fathom::plan {

using ojson = nlohmann::ordered_json;

namespace {

SweepCell cell_of(const ojson& v) {
  SweepCell c;
  if (v.is_null()) return c;
  if (v.is_string()) {
    c.kind = SweepCell::Kind::kText;
    c.text = v.get<std::string>();
    return c;
  }
  c.text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (v.is_number()) {
    c.kind = SweepCell::Kind::kNumber;
    c.number = v.get<double>();
  } else {
    c.kind = SweepCell::Kind::kText;  // true/false, a list or a map as compact JSON
  }
  return c;
}

SweepCell text_cell(const std::string& s) { return {SweepCell::Kind::kText, std::numeric_limits<double>::quiet_NaN(), s}; }

// A number written as text ("512", "2.5e-1"); false when the text is not one whole number.
bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

bool matches(const SweepCell& c, const std::string& value) {
  if (c.kind == SweepCell::Kind::kNull) return false;
  if (c.text == value) return true;
  double v = 0;
  return c.kind == SweepCell::Kind::kNumber && parse_number(value, v) && v == c.number;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? std::string("none") : out;
}

}  // namespace

int SweepTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

SweepTable read_sweep_table(const store::SweepStore& db, const store::SweepInfo& sweep) {
  SweepTable t;
  t.sweep = sweep;
  t.axes = nlohmann::json::parse(sweep.axes_json).get<std::vector<std::string>>();
  const auto points = db.points(sweep.id);
  std::vector<ojson> metrics;
  metrics.reserve(points.size());
  for (const auto& p : points) {
    metrics.push_back(ojson::parse(p.metrics_json));
    for (const auto& [k, v] : metrics.back().items()) {
      if (std::find(t.metrics.begin(), t.metrics.end(), k) == t.metrics.end()) t.metrics.push_back(k);
    }
  }
  t.columns.push_back("point");
  t.columns.insert(t.columns.end(), t.axes.begin(), t.axes.end());
  for (const char* c : {"status", "verdict", "seed"}) t.columns.push_back(c);
  t.columns.insert(t.columns.end(), t.metrics.begin(), t.metrics.end());
  t.columns.push_back("scenario_hash");
  t.columns.push_back("message");

  t.axis_values.resize(t.axes.size());
  std::vector<bool> all_numbers(t.axes.size(), true);
  std::vector<std::map<std::string, double>> seen(t.axes.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    const ojson values = ojson::parse(p.values_json);
    std::vector<SweepCell> row;
    row.reserve(t.columns.size());
    row.push_back(cell_of(ojson(p.point)));
    for (size_t a = 0; a < t.axes.size(); ++a) {
      SweepCell c = values.contains(t.axes[a]) ? cell_of(values[t.axes[a]]) : SweepCell{};
      if (c.kind != SweepCell::Kind::kNull && seen[a].emplace(c.text, c.number).second) {
        t.axis_values[a].push_back(c.text);
        all_numbers[a] = all_numbers[a] && c.kind == SweepCell::Kind::kNumber;
      }
      row.push_back(std::move(c));
    }
    row.push_back(text_cell(p.status));
    row.push_back(text_cell(p.verdict));
    row.push_back(p.seed ? cell_of(ojson(*p.seed)) : SweepCell{});
    for (const auto& m : t.metrics) row.push_back(metrics[i].contains(m) ? cell_of(metrics[i][m]) : SweepCell{});
    row.push_back(text_cell(p.scenario_hash));
    row.push_back(text_cell(p.message));
    t.rows.push_back(std::move(row));
  }
  for (size_t a = 0; a < t.axes.size(); ++a) {
    if (!all_numbers[a]) continue;
    const auto& num = seen[a];
    std::stable_sort(t.axis_values[a].begin(), t.axis_values[a].end(),
                     [&](const std::string& l, const std::string& r) { return num.at(l) < num.at(r); });
  }
  return t;
}

std::string sweep_table_csv(const SweepTable& t) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c) out += ',';
    out += csv_field(t.columns[c]);
  }
  out += '\n';
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      const SweepCell& cell = row[c];
      if (cell.kind == SweepCell::Kind::kNumber) out += cell.text;
      else if (cell.kind == SweepCell::Kind::kText) out += csv_field(cell.text);
    }
    out += '\n';
  }
  return out;
}

SweepPlot select_sweep(const SweepTable& t, const SweepSelection& s) {
  auto axis_index = [&](const std::string& path, const std::string& flag) -> size_t {
    for (size_t a = 0; a < t.axes.size(); ++a) {
      if (t.axes[a] == path) return a;
    }
    throw FlagError(flag, fmt::format("expected an axis of sweep '{}' ({}), found '{}'", t.sweep.name, joined(t.axes), path));
  };
  const size_t xa = axis_index(s.x, "--x");
  const auto ym = std::find(t.metrics.begin(), t.metrics.end(), s.y);
  if (ym == t.metrics.end()) {
    throw FlagError("--y", fmt::format("expected a metric of sweep '{}' ({}), found '{}'", t.sweep.name, joined(t.metrics), s.y));
  }
  const int yc = t.column(s.y);
  const int xc = t.column(s.x);
  int sc = -1;
  size_t sa = 0;
  if (!s.series.empty()) {
    sa = axis_index(s.series, "--series");
    if (sa == xa) throw FlagError("--series", fmt::format("expected an axis other than --x, found '{}' for both", s.series));
    sc = t.column(s.series);
  }
  std::vector<std::pair<int, std::string>> filters;
  for (const auto& [path, value] : s.where) {
    const size_t a = axis_index(path, "--where");
    bool known = false;
    for (const auto& row : t.rows) known = known || matches(row[static_cast<size_t>(t.column(path))], value);
    if (!known) {
      throw FlagError("--where", fmt::format("expected a value of axis '{}' among the stored points ({}), found '{}'", path,
                                             joined(t.axis_values[a]), value));
    }
    filters.emplace_back(t.column(path), value);
  }

  SweepPlot plot;
  bool numeric_x = true;
  for (const auto& row : t.rows) numeric_x = numeric_x && row[static_cast<size_t>(xc)].kind != SweepCell::Kind::kText;
  if (!numeric_x) plot.x_categories = t.axis_values[xa];
  auto category = [&](const std::string& text) {
    const auto it = std::find(plot.x_categories.begin(), plot.x_categories.end(), text);
    return static_cast<double>(it - plot.x_categories.begin());
  };
  std::vector<std::string> series_values = sc >= 0 ? t.axis_values[sa] : std::vector<std::string>{""};
  plot.series.resize(series_values.size());
  for (size_t k = 0; k < series_values.size(); ++k) {
    plot.series[k].label = sc >= 0 ? fmt::format("{}={}", s.series, series_values[k]) : s.y;
  }
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    bool pass = true;
    for (const auto& [c, value] : filters) pass = pass && matches(row[static_cast<size_t>(c)], value);
    if (!pass) continue;
    ++plot.matched;
    const SweepCell& xcell = row[static_cast<size_t>(xc)];
    const SweepCell& ycell = row[static_cast<size_t>(yc)];
    if (xcell.kind == SweepCell::Kind::kNull || ycell.kind != SweepCell::Kind::kNumber || !std::isfinite(ycell.number)) continue;
    size_t k = 0;
    if (sc >= 0) {
      const SweepCell& scell = row[static_cast<size_t>(sc)];
      const auto it = std::find(series_values.begin(), series_values.end(), scell.text);
      if (scell.kind == SweepCell::Kind::kNull || it == series_values.end()) continue;
      k = static_cast<size_t>(it - series_values.begin());
    }
    ++plot.plotted;
    plot.series[k].x.push_back(numeric_x ? xcell.number : category(xcell.text));
    plot.series[k].y.push_back(ycell.number);
    plot.series[k].rows.push_back(r);
  }
  for (auto& ser : plot.series) {  // by ascending x, ties in point order
    std::vector<size_t> idx(ser.x.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return ser.x[a] < ser.x[b]; });
    SweepSeries sorted{ser.label, {}, {}, {}};
    for (size_t i : idx) {
      sorted.x.push_back(ser.x[i]);
      sorted.y.push_back(ser.y[i]);
      sorted.rows.push_back(ser.rows[i]);
    }
    ser = std::move(sorted);
  }
  std::erase_if(plot.series, [](const SweepSeries& ser) { return ser.x.empty(); });
  return plot;
}

}  // namespace fathom::plan
