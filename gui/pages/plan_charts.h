#pragma once
// A planner's report (plan/plan_report.h) as the Plans page and `fathom-plot plan` draw it: the
// ranked costs, the two Pareto fronts of a serve plan, the hourly day, and each section as a
// table with its provenance. Qt-free, so the report of a long plan is turned into charts and
// tables on the worker thread (docs/gui-plans.md).
#include <string>
#include <vector>

#include "gui/chart/chart.h"
#include "gui/table/table.h"
#include "plan/plan_report.h"

namespace fathom::gui {

enum class PlanChart { kRanked, kParetoCostLatency, kParetoThroughputInteractivity, kHourly };

// "ranked", "pareto-cost-latency", "pareto-throughput-interactivity", "hourly" (fathom-plot's
// --chart words) and back; parse throws FlagError naming `flag`.
std::string to_string(PlanChart c);
PlanChart parse_plan_chart(const std::string& text, const std::string& flag);
const std::vector<PlanChart>& all_plan_charts();

// Whether the report has what the chart draws (a Pareto front is a serve plan's; hourly needs
// traffic.hourly); the reason when it has not.
bool plan_chart_applies(const plan::PlanReport& r, PlanChart c, std::string* why = nullptr);

// A row of the report: its section and index (-1: none).
struct PlanRowRef {
  int section = -1;
  int row = -1;
};

// A chart with, for each of its series, the report row of each point (so that a clicked point
// opens its row's scenario). A chart that does not apply is empty with its reason as empty_text.
struct PlanChartData {
  Chart chart;
  std::vector<std::vector<PlanRowRef>> rows;  // rows[series][point]
};
PlanChartData plan_chart(const plan::PlanReport& r, PlanChart c);

// A section as a table: its columns (with what each means), a cell per value, each with its
// provenance (the planner, the section, the kernel profile that priced the row, the interval).
// The CSV of the same section is plan::section_csv (what `fathom plan ... --format csv` and
// `fathom plan export --section` write).
Table plan_table(const plan::PlanReport& r, size_t section);

}  // namespace fathom::gui
