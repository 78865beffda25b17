#pragma once
// The Scaling laws page's charts and tables as gui::Chart and gui::Table values, built from the
// library's fit (fit/problem.h, fit/curve.h, fit/optimal.h, fit/result.h), so that the page and
// `fathom-plot fit` draw the same pictures from the same calls. Nothing here fits or computes a
// law: the numbers are predict, predict_with_error, point_residuals, optimal_allocation and
// isoflop_curve's; this file only chooses what to draw (axes, groups, colours).
#include <string>
#include <vector>

#include "fit/curve.h"
#include "fit/optimal.h"
#include "fit/problem.h"
#include "fit/result.h"
#include "gui/chart/chart.h"
#include "gui/table/table.h"

namespace fathom::gui {

// The plot's x axis and the column whose values group the points into series. Both are columns
// of the file or --column definitions; x need not be a law variable (the curve follows the law's
// variables through each group's points, fit::fitted_curve).
struct FitAxes {
  std::string x;
  std::string series;  // empty: one group
};
// x: the law variable with the most distinct values; series: another law variable with at most
// 12 distinct values (the fewest), else none. Loss against D for each N on a grid of runs.
FitAxes default_axes(const fit::FitProblem& p);
// Throws FlagError("--x" / "--series") naming the valid columns when one is unknown.
void check_axes(const fit::FitProblem& p, const FitAxes& axes);

struct PointGroup {
  std::string label;           // "N = 7e+07", "D ≈ 1.5e+09" (a range, by its geometric mean), "data"
  std::vector<size_t> points;  // indices of the problem's points
  bool binned = false;         // a range of a numeric column rather than one value
};
// At most 12 distinct values: one group per value (numbers in ascending order, texts in order of
// appearance). More numbers: 6 bins even in log (linear when a value is not positive). More
// texts: the first 11 and "other".
std::vector<PointGroup> group_points(const fit::FitProblem& p, const std::string& column);

// A fitted law against its data.
struct FitPlot {
  const fit::FitProblem* problem = nullptr;
  fit::FittedLaw fitted;  // law null: the data alone (before a fit)
  double level = 0.95;    // of the band
  FitAxes axes;
};

// The points, the fitted curve through each group (60 samples; in a binned group the law's other
// variables are held at the group's geometric mean, so the curve is the law at fixed values) and
// its band at `level`; x on a log axis where every value is positive, the response too where it
// also spans a decade.
Chart fit_chart(const FitPlot& f);
// The residuals the fitter minimised (fit space: log f − log y, or f − y) against x, per group.
Chart residuals_chart(const FitPlot& f);

// The compute-optimal allocation of a fitted L(N, D): the optimum at each budget (what
// `fathom optimal` prints) and the iso-FLOP curve through it (its --isoflop-out).
struct Frontier {
  fit::AllocationProblem problem;
  std::vector<double> budgets;
  std::vector<fit::Allocation> optima;
  std::vector<std::vector<fit::CurvePoint>> isoflops;
  std::string unavailable;  // why there is none (the library's message); empty when computed
};
// Powers of ten spanning k·N·D over the points (at least one budget, at most 8); empty when the
// law has no N and D.
std::vector<double> default_budgets(const fit::FitProblem& p, double k);
// Never throws: a law without N and D, a missing --at value or a bad budget leaves `unavailable`.
Frontier compute_frontier(const fit::Law& law, const std::vector<double>& params, double k,
                          const std::vector<std::string>& at, const std::vector<double>& budgets);
// Loss against N along each budget's iso-FLOP curve, with the optima joined: the frontier.
Chart frontier_chart(const Frontier& f, const std::string& response);

// The fit's parameters and derived quantities with the fields of `fathom fit --format json`:
// value, std error, the bootstrap interval at its level, median and sd; `fit::result_csv` is its
// CSV. Every cell's tooltip says where its number comes from.
Table parameter_table(const fit::Law& law, const fit::FitRecord& rec);
// Objective, termination, starts, the goodness of fit (n, k, RMSE, ..., BIC), the bootstrap's counts.
Table metrics_table(const fit::Law& law, const fit::FitRecord& rec);
// The optima: compute, N, D, tokens per parameter, the response (`fathom optimal`'s columns).
Table frontier_table(const Frontier& f, const std::string& response);

}  // namespace fathom::gui
