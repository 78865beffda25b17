// `fathom-plot plan PLAN.json|PLAN.sqlite [--plan ID] --chart NAME --out FILE.png|.svg`: a plan's
// chart, drawn by the function the Plans page uses (gui/pages/plan_charts.h), from the report
// `fathom plan ... --format json` wrote or a database `fathom plan ... --db` stored.
#include "common/error.h"
#include "gui/pages/plan_charts.h"
#include "gui/plot.h"
#include "plan/plan_record.h"

namespace fathom::gui {

int plot_plan(const PlotArgs& args) {
  check_plot_out(args);
  const PlanChart which = parse_plan_chart(args.need("chart", "a chart: ranked, pareto-cost-latency, "
                                                              "pareto-throughput-interactivity or hourly"),
                                           "--chart");
  if (args.inputs.size() != 1) {
    throw FlagError("plan", "expected one plan report (PLAN.json from fathom plan ... --format json, or a database from "
                            "--db), found " + std::to_string(args.inputs.size()) + " inputs");
  }
  const plan::PlanReport report = plan::load_plan_report(args.inputs.front(), args.get("plan"), "--plan");
  std::string why;
  if (!plan_chart_applies(report, which, &why)) throw FlagError("--chart", "expected a chart this plan has, found " + to_string(which) + ": " + why);
  write_plot(plan_chart(report, which).chart, args);
  return 0;
}

}  // namespace fathom::gui
