// `fathom-plot fit RESULT.yaml --data DATA.csv [--x COLUMN] [--series COLUMN] --chart fit|residuals|frontier
// [--compute C1,C2,...] [--flops-per-param-token K] [--at NAME=VALUE;...] --out FILE.png|.svg`: the Scaling laws
// page's charts (pages/scaling_charts.h) of a fit `fathom fit --result` wrote, drawn against its data.
#include <fmt/format.h>

#include "common/error.h"
#include "common/flag_values.h"
#include "fit/problem.h"
#include "fit/result.h"
#include "gui/pages/scaling_charts.h"
#include "gui/plot.h"

namespace fathom::gui {

namespace {

std::vector<std::string> split_semicolons(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    const size_t semi = text.find(';', i);
    const std::string item = text.substr(i, semi == std::string::npos ? std::string::npos : semi - i);
    if (!item.empty()) out.push_back(item);
    if (semi == std::string::npos) break;
    i = semi + 1;
  }
  return out;
}

}  // namespace

int plot_fit(const PlotArgs& args) {
  check_plot_out(args);
  const std::string chart_name = args.get("chart", "fit");
  if (chart_name != "fit" && chart_name != "residuals" && chart_name != "frontier")
    throw FlagError("--chart", "expected fit, residuals or frontier, found '" + chart_name + "'");
  if (args.inputs.size() != 1) {
    throw FlagError("fit", fmt::format("expected one result file (`fathom fit --result`), found {}", args.inputs.size()));
  }
  const std::string data = args.need("data", "the CSV the fit was made on (DATA.csv of `fathom fit`)");
  const fit::LoadedFit lf = fit::load_fit(args.inputs[0]);
  // The points as the fit saw them: the same law, --column definitions and dropped rows.
  fit::FitSpec spec;
  spec.data = data;
  if (lf.law->name == "formula") {
    spec.formula = lf.law->formula;
    spec.response = lf.law->response;
  } else {
    spec.law = lf.law->name;
  }
  spec.columns = lf.columns;
  spec.drop_highest = static_cast<int64_t>(lf.dropped);
  const fit::FitProblem problem = fit::prepare_fit(spec);

  Chart chart;
  if (chart_name == "frontier") {
    const double k = args.has("flops-per-param-token")
                         ? parse_number(args.get("flops-per-param-token"), "--flops-per-param-token")
                         : 6.0;
    std::vector<double> budgets =
        args.has("compute") ? parse_list(args.get("compute"), "--compute") : default_budgets(problem, k);
    const Frontier f = compute_frontier(*lf.law, lf.params, k, split_semicolons(args.get("at")), budgets);
    if (!f.unavailable.empty()) throw FlagError("--chart", "frontier: " + f.unavailable);
    chart = frontier_chart(f, lf.law->response);
  } else {
    FitPlot plot;
    plot.problem = &problem;
    plot.fitted = {lf.law.get(), lf.params, lf.free, lf.covariance, lf.space};
    plot.level = lf.level;
    plot.axes = default_axes(problem);
    if (args.has("x")) plot.axes.x = args.get("x");
    if (args.has("series")) plot.axes.series = args.get("series");
    check_axes(problem, plot.axes);
    chart = chart_name == "fit" ? fit_chart(plot) : residuals_chart(plot);
  }
  write_plot(chart, args);
  return 0;
}

}  // namespace fathom::gui
