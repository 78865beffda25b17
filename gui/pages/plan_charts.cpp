#include "gui/pages/plan_charts.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/error.h"
#include "plan/plan_serve.h"

namespace fathom::gui {

namespace {

const plan::PlanSection* find_section(const plan::PlanReport& r, const std::string& name, int* index = nullptr) {
  for (size_t i = 0; i < r.sections.size(); ++i) {
    if (r.sections[i].name == name) {
      if (index) *index = static_cast<int>(i);
      return &r.sections[i];
    }
  }
  return nullptr;
}

bool has(const plan::PlanRow& row, const std::string& column) {
  for (const auto& [name, value] : row.cells) {
    if (name == column) return true;
  }
  return false;
}

double number_or_nan(const plan::PlanRow& row, const std::string& column) {
  return has(row, column) ? row.number(column) : std::nan("");
}

std::string text_or_empty(const plan::PlanRow& row, const std::string& column) {
  if (!has(row, column)) return {};
  const plan::PlanValue& v = row.at(column);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  const double d = std::get<double>(v);
  return std::isfinite(d) ? fmt::format("{:g}", d) : std::string();
}

// Whether a column holds a finite number in some row.
bool any_finite(const plan::PlanSection& s, const std::string& column) {
  for (const auto& row : s.rows) {
    if (std::isfinite(number_or_nan(row, column))) return true;
  }
  return false;
}

// How a ranked row is named under its bar: a line per part, so that ten bars fit 900 pixels.
std::string row_label(const plan::PlanReport& r, const plan::PlanRow& row, size_t rank) {
  std::string s = fmt::format("{}", rank);
  if (r.kind == "serve") {
    s += fmt::format("\n{}\n{} {}\n×{}", text_or_empty(row, "gpu"), text_or_empty(row, "precision"), text_or_empty(row, "layout"),
                     text_or_empty(row, "units"));
    const std::string pools = text_or_empty(row, "pools");
    if (!pools.empty() && pools != "aggregated") {
      s += '\n';
      s += pools;
    }
  } else if (r.kind == "train") {
    s += fmt::format("\n{} ×{}\ntp{} pp{}\ndp{}", text_or_empty(row, "gpu"), text_or_empty(row, "gpus"), text_or_empty(row, "tp"),
                     text_or_empty(row, "pp"), text_or_empty(row, "dp"));
  } else {
    s += '\n';
    s += text_or_empty(row, "point");
  }
  return s;
}

// Column titles with their units, for axes.
std::string axis_title(const std::string& column) {
  static const std::map<std::string, std::string> kTitles = {
      {"usd_per_hour", "fleet cost ($/hour)"},
      {"gpus", "GPUs"},
      {"ttft_p99_s", "TTFT p99 at the planned load (s)"},
      {"tpot_p99_s", "TPOT p99 at the planned load (s)"},
      {"e2e_p99_s", "end-to-end p99 at the planned load (s)"},
      {"tokens_per_s_per_user", "interactivity: output tokens/s per user"},
      {"tokens_per_s_per_gpu", "throughput: output tokens/s per GPU"},
      {"hour", "hour of the day"},
      {"usd_autoscaled", "$ per hour"},
      {"usd", "training cost ($)"},
      {"gpu_hours", "GPU-hours"},
  };
  const auto it = kTitles.find(column);
  return it == kTitles.end() ? column : it->second;
}

PlanChartData ranked_chart(const plan::PlanReport& r) {
  PlanChartData d;
  Chart& c = d.chart;
  const plan::PlanSection& s = r.sections.front();
  // The figure each planner ranks by (docs/planning*.md): $/hour of a serve fleet (GPUs when
  // unpriced), a training run's dollars (GPU-hours when unpriced), a model size's lifetime cost
  // split into training and serving (FLOPs with --cost flops).
  std::vector<std::pair<std::string, std::string>> parts;  // (column, series name)
  std::string unit;
  if (r.kind == "serve") {
    parts = {any_finite(s, "usd_per_hour") ? std::pair{"usd_per_hour", "fleet $/hour"} : std::pair{"gpus", "GPUs"}};
    unit = axis_title(parts.front().first);
  } else if (r.kind == "train") {
    parts = {any_finite(s, "usd") ? std::pair{"usd", "training $"} : std::pair{"gpu_hours", "GPU-hours"}};
    unit = axis_title(parts.front().first);
  } else if (any_finite(s, "total_usd")) {
    parts = {{"train_usd", "training $"}, {"serving_usd", "lifetime serving $"}};
    unit = std::string("$");
  } else {
    parts = {{"train_flops", "training FLOPs"}, {"inference_flops", "lifetime inference FLOPs"}};
    unit = std::string("FLOPs");
  }
  c.title = fmt::format("{} plan '{}': {}", r.kind, r.name, s.title);
  c.x.title = "rank";
  c.y.title = unit;
  c.empty_text = "the ranked table has no rows (the notes say why)";
  for (size_t i = 0; i < s.rows.size(); ++i) c.x.categories.push_back(row_label(r, s.rows[i], i + 1));
  for (const auto& [column, name] : parts) {
    Series ser{name, SeriesKind::kStackedBar, {}, {}, {}, {}, {}};
    for (const auto& row : s.rows) {
      const double v = number_or_nan(row, column);
      ser.y.push_back(std::isfinite(v) ? v : 0.0);
    }
    c.series.push_back(std::move(ser));
    d.rows.emplace_back();  // bars are not clicked
  }
  if (s.rows.empty()) {
    c.series.clear();
    d.rows.clear();
  }
  return d;
}

// One front (and, for cost against latency, every ranked fleet beside it) on its two columns.
PlanChartData front_chart(const plan::PlanReport& r, const std::string& section_name, bool with_ranked) {
  PlanChartData d;
  int si = -1;
  const plan::PlanSection* s = find_section(r, section_name, &si);
  const plan::ChartColumns cols = plan::serve_chart_columns(*s);
  Chart& c = d.chart;
  c.title = s->title;
  c.x.title = axis_title(cols.x);
  c.y.title = axis_title(cols.y);
  c.empty_text = "no fleet met the objectives";
  auto add = [&](const plan::PlanSection& from, int section, const std::string& name, SeriesKind kind) {
    Series ser{name, kind, {}, {}, {}, {}, {}};
    std::vector<PlanRowRef> refs;
    for (size_t i = 0; i < from.rows.size(); ++i) {
      const double x = number_or_nan(from.rows[i], cols.x), y = number_or_nan(from.rows[i], cols.y);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      ser.x.push_back(x);
      ser.y.push_back(y);
      refs.push_back({section, static_cast<int>(i)});
    }
    c.series.push_back(std::move(ser));
    d.rows.push_back(std::move(refs));
  };
  if (with_ranked) add(r.sections.front(), 0, "ranked fleets", SeriesKind::kScatter);
  add(*s, si, "Pareto front", SeriesKind::kLine);
  return d;
}

PlanChartData hourly_chart(const plan::PlanReport& r) {
  PlanChartData d;
  int si = -1;
  const plan::PlanSection* s = find_section(r, "hourly", &si);
  const plan::ChartColumns cols = plan::serve_chart_columns(*s);
  Chart& c = d.chart;
  c.title = s->title;
  c.x.title = axis_title("hour");
  c.y.title = cols.y == "gpus" ? "GPUs" : "$ per hour";
  const std::vector<std::pair<std::string, std::string>> lines =
      cols.y == "gpus" ? std::vector<std::pair<std::string, std::string>>{{"gpus", "GPUs autoscaled"}}
                       : std::vector<std::pair<std::string, std::string>>{{"usd_autoscaled", "autoscaled"}, {"usd_fixed", "fixed fleet at the peak"}};
  for (const auto& [column, name] : lines) {
    Series ser{name, SeriesKind::kLine, {}, {}, {}, {}, {}};
    std::vector<PlanRowRef> refs;
    for (size_t i = 0; i < s->rows.size(); ++i) {
      const double x = number_or_nan(s->rows[i], "hour"), y = number_or_nan(s->rows[i], column);
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      ser.x.push_back(x);
      ser.y.push_back(y);
      refs.push_back({si, static_cast<int>(i)});
    }
    c.series.push_back(std::move(ser));
    d.rows.push_back(std::move(refs));
  }
  return d;
}

}  // namespace

std::string to_string(PlanChart c) {
  switch (c) {
    case PlanChart::kRanked: return "ranked";
    case PlanChart::kParetoCostLatency: return "pareto-cost-latency";
    case PlanChart::kParetoThroughputInteractivity: return "pareto-throughput-interactivity";
    case PlanChart::kHourly: return "hourly";
  }
  return "ranked";
}

const std::vector<PlanChart>& all_plan_charts() {
  static const std::vector<PlanChart> kAll = {PlanChart::kRanked, PlanChart::kParetoCostLatency,
                                              PlanChart::kParetoThroughputInteractivity, PlanChart::kHourly};
  return kAll;
}

PlanChart parse_plan_chart(const std::string& text, const std::string& flag) {
  std::string names;
  for (PlanChart c : all_plan_charts()) {
    if (to_string(c) == text) return c;
    names += (names.empty() ? "" : ", ") + to_string(c);
  }
  throw FlagError(flag, fmt::format("expected one of {}, found '{}'", names, text));
}

bool plan_chart_applies(const plan::PlanReport& r, PlanChart c, std::string* why) {
  auto no = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (r.sections.empty()) return no(fmt::format("the {} plan '{}' has no sections", r.kind, r.name));
  switch (c) {
    case PlanChart::kRanked: return true;
    case PlanChart::kParetoCostLatency:
    case PlanChart::kParetoThroughputInteractivity: {
      const char* name = c == PlanChart::kParetoCostLatency ? "pareto_cost_latency" : "pareto_throughput_interactivity";
      if (find_section(r, name) == nullptr) {
        return no(fmt::format("a {} plan has no Pareto front (section {}): plan serve draws them", r.kind, name));
      }
      return true;
    }
    case PlanChart::kHourly:
      if (find_section(r, "hourly") == nullptr) {
        return no(fmt::format("the {} plan '{}' has no hourly section (a serve plan with traffic.hourly has one)", r.kind, r.name));
      }
      return true;
  }
  return true;
}

PlanChartData plan_chart(const plan::PlanReport& r, PlanChart c) {
  std::string why;
  if (!plan_chart_applies(r, c, &why)) {
    PlanChartData d;
    d.chart.title = to_string(c);
    d.chart.empty_text = why;
    return d;
  }
  switch (c) {
    case PlanChart::kRanked: return ranked_chart(r);
    case PlanChart::kParetoCostLatency: return front_chart(r, "pareto_cost_latency", true);
    case PlanChart::kParetoThroughputInteractivity: return front_chart(r, "pareto_throughput_interactivity", false);
    case PlanChart::kHourly: return hourly_chart(r);
  }
  return {};
}

}  // namespace fathom::gui
