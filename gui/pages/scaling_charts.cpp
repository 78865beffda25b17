#include "gui/pages/scaling_charts.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/flag_values.h"
#include "common/suggest.h"

namespace fathom::gui {

namespace {

// Colour-blind-safe categorical palette (matplotlib's "tab10").
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kMaxGroups = 12;
constexpr int kBins = 6;
constexpr int kCurveSamples = 60;

std::string color(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

bool all_positive(const std::vector<double>& v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](double x) { return x > 0 && std::isfinite(x); });
}

size_t distinct(const std::vector<double>& v) { return std::set<double>(v.begin(), v.end()).size(); }

std::string space_name(fit::Space s) { return s == fit::Space::Log ? "log-space" : "data-space"; }

// The law variable named like the column, or the variable count.
size_t variable_of(const fit::Law& law, const std::string& column) { return law.variable_index(column); }

// Values of the law's variables at the points of `g`; in a binned group every variable other than
// the plot's x is held at its (geometric) mean, so that the curve is the law at fixed values.
std::vector<std::vector<double>> group_variables(const FitPlot& f, const PointGroup& g) {
  const fit::Dataset& d = f.problem->data;
  const size_t xv = variable_of(*f.problem->law, f.axes.x);
  std::vector<std::vector<double>> vars(d.x.size());
  for (size_t v = 0; v < d.x.size(); ++v) {
    for (size_t i : g.points) vars[v].push_back(d.x[v][i]);
    if (!g.binned || v == xv || vars[v].empty()) continue;
    const bool lg = all_positive(vars[v]);
    double m = 0;
    for (double x : vars[v]) m += lg ? std::log(x) : x;
    m /= static_cast<double>(vars[v].size());
    std::fill(vars[v].begin(), vars[v].end(), lg ? std::exp(m) : m);
  }
  return vars;
}

}  // namespace

FitAxes default_axes(const fit::FitProblem& p) {
  FitAxes a;
  const fit::Law& law = *p.law;
  size_t best = 0;
  for (size_t v = 1; v < law.variables.size(); ++v)
    if (distinct(p.data.x[v]) > distinct(p.data.x[best])) best = v;
  a.x = law.variables.empty() ? p.columns.front() : law.variables[best];
  size_t fewest = kMaxGroups + 1;
  for (size_t v = 0; v < law.variables.size(); ++v) {
    if (v == best) continue;
    const size_t n = distinct(p.data.x[v]);
    if (n <= kMaxGroups && n < fewest) {
      fewest = n;
      a.series = law.variables[v];
    }
  }
  return a;
}

void check_axes(const fit::FitProblem& p, const FitAxes& axes) {
  for (const auto& [name, flag] : {std::pair{axes.x, "--x"}, std::pair{axes.series, "--series"}}) {
    if (name.empty() && std::string(flag) == "--series") continue;
    if (std::find(p.columns.begin(), p.columns.end(), name) == p.columns.end()) {
      throw FlagError(flag, "expected a column of " + p.table.name() + " (" + join(p.columns) + "), found '" + name +
                                "'" + did_you_mean(name, p.columns));
    }
  }
  fit::column_at_points(p, axes.x, "--x");  // x must be numeric: InputError naming the cell
}

std::vector<PointGroup> group_points(const fit::FitProblem& p, const std::string& column) {
  const size_t n = p.data.size();
  std::vector<PointGroup> out;
  if (column.empty()) {
    PointGroup g{"data", {}, false};
    for (size_t i = 0; i < n; ++i) g.points.push_back(i);
    return {g};
  }
  std::vector<double> values;
  bool numeric = true;
  try {
    values = fit::column_at_points(p, column, "--series");
  } catch (const InputError&) {
    numeric = false;
  }
  if (!numeric) {
    const std::vector<std::string> text = fit::column_text_at_points(p, column, "--series");
    std::vector<std::string> order;
    for (const auto& t : text)
      if (std::find(order.begin(), order.end(), t) == order.end()) order.push_back(t);
    const bool other = order.size() > kMaxGroups;
    if (other) order.resize(kMaxGroups - 1);
    for (const auto& t : order) out.push_back({column + " = " + t, {}, false});
    if (other) out.push_back({column + ": other", {}, true});
    for (size_t i = 0; i < n; ++i) {
      const auto it = std::find(order.begin(), order.end(), text[i]);
      out[it == order.end() ? out.size() - 1 : static_cast<size_t>(it - order.begin())].points.push_back(i);
    }
    return out;
  }
  const std::set<double> set(values.begin(), values.end());
  if (set.size() <= kMaxGroups) {
    for (double v : set) {
      PointGroup g{fmt::format("{} = {:.4g}", column, v), {}, false};
      for (size_t i = 0; i < n; ++i)
        if (values[i] == v) g.points.push_back(i);
      out.push_back(std::move(g));
    }
    return out;
  }
  const bool lg = all_positive(values);
  const double lo = *set.begin(), hi = *set.rbegin();
  for (int b = 0; b < kBins; ++b) {
    PointGroup g{"", {}, true};
    double mean = 0;
    for (size_t i = 0; i < n; ++i) {
      const double t = lg ? (std::log(values[i]) - std::log(lo)) / (std::log(hi) - std::log(lo)) : (values[i] - lo) / (hi - lo);
      const int bin = std::min(kBins - 1, static_cast<int>(std::floor(t * kBins)));
      if (bin != b) continue;
      g.points.push_back(i);
      mean += lg ? std::log(values[i]) : values[i];
    }
    if (g.points.empty()) continue;
    mean /= static_cast<double>(g.points.size());
    // Named by the group's (geometric) mean, the value the curve holds the other variables at.
    g.label = fmt::format("{} ≈ {:.2g}", column, lg ? std::exp(mean) : mean);
    out.push_back(std::move(g));
  }
  return out;
}

Chart fit_chart(const FitPlot& f) {
  const fit::FitProblem& p = *f.problem;
  const fit::Law* law = f.fitted.law;
  Chart c;
  const std::vector<double> x = fit::column_at_points(p, f.axes.x, "--x");
  const std::vector<double>& y = p.data.y;
  c.x = {f.axes.x, all_positive(x), {}, {}, {}};
  // A log response axis where the response spans a decade; within one, Qt's log axis would show
  // no tick between its two powers of ten.
  const bool log_y = all_positive(y) && *std::max_element(y.begin(), y.end()) >= 10 * *std::min_element(y.begin(), y.end());
  c.y = {p.law->response, log_y, {}, {}, {}};
  c.title = fmt::format("{} against {}{}", p.law->response, f.axes.x, f.axes.series.empty() ? "" : " by " + f.axes.series);
  if (law) {
    c.title += fmt::format(": {} law", law->name);
    c.title += ", lines: the fitted law";
    if (!f.fitted.covariance.empty()) c.title += fmt::format(", shaded: {:g}% bands (delta method)", 100 * f.level);
  }
  const auto groups = group_points(p, f.axes.series);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const PointGroup& g = groups[gi];
    Series pts{g.label, SeriesKind::kScatter, {}, {}, {}, {}, color(gi)};
    for (size_t i : g.points) {
      pts.x.push_back(x[i]);
      pts.y.push_back(y[i]);
    }
    if (!law) {
      c.series.push_back(std::move(pts));
      continue;
    }
    std::vector<double> axis;
    for (size_t i : g.points) axis.push_back(x[i]);
    const auto curve = fit::fitted_curve(f.fitted, axis, group_variables(f, g), kCurveSamples, f.level);
    // The legend names the curve and the band once; the colour ties each to its points.
    Series line{gi == 0 ? "fit" : "", SeriesKind::kLine, {}, {}, {}, {}, color(gi)};
    Series band{gi == 0 ? fmt::format("{:g}% band", 100 * f.level) : "", SeriesKind::kBand, {}, {}, {}, {}, color(gi)};
    for (const auto& b : curve) {
      line.x.push_back(b.axis);
      line.y.push_back(b.value);
      if (std::isfinite(b.low) && std::isfinite(b.high)) {
        band.x.push_back(b.axis);
        band.y_lo.push_back(b.low);
        band.y_hi.push_back(b.high);
      }
    }
    if (!band.x.empty()) c.series.push_back(std::move(band));
    c.series.push_back(std::move(line));
    c.series.push_back(std::move(pts));
  }
  c.empty_text = "no points to draw";
  return c;
}

Chart residuals_chart(const FitPlot& f) {
  Chart c;
  if (!f.problem || !f.fitted.law) {
    c.title = "Residuals";
    c.empty_text = "Fit to see the residuals";
    return c;
  }
  const fit::FitProblem& p = *f.problem;
  const std::vector<double> x = fit::column_at_points(p, f.axes.x, "--x");
  c.x = {f.axes.x, all_positive(x), {}, {}, {}};
  const bool log_space = f.fitted.space == fit::Space::Log;
  c.y = {log_space ? "log f - log y (log-space residual)" : "f - y (" + p.law->response + ")", false, {}, {}, {}};
  c.title = fmt::format("Residuals of the {} law ({} residuals the fit minimised)", f.fitted.law->name,
                        space_name(f.fitted.space));
  const std::vector<double> r = fit::point_residuals(*f.fitted.law, f.fitted.params, f.fitted.space, p.data);
  const auto groups = group_points(p, f.axes.series);
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    Series s{groups[gi].label, SeriesKind::kScatter, {}, {}, {}, {}, color(gi)};
    for (size_t i : groups[gi].points) {
      if (!std::isfinite(r[i])) continue;
      s.x.push_back(x[i]);
      s.y.push_back(r[i]);
    }
    c.series.push_back(std::move(s));
  }
  c.lines.push_back({"zero", true, 0.0});
  return c;
}

std::vector<double> default_budgets(const fit::FitProblem& p, double k) {
  const fit::Law& law = *p.law;
  const size_t in = law.variable_index("N"), id = law.variable_index("D");
  if (in == law.variables.size() || id == law.variables.size() || !(k > 0)) return {};
  double lo = fit::kInf, hi = 0;
  for (size_t i = 0; i < p.data.size(); ++i) {
    const double c = k * p.data.x[in][i] * p.data.x[id][i];
    if (!(c > 0) || !std::isfinite(c)) continue;
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  if (!(hi > 0)) return {};
  const int e0 = static_cast<int>(std::ceil(std::log10(lo))), e1 = static_cast<int>(std::floor(std::log10(hi)));
  if (e0 > e1) return {std::sqrt(lo * hi)};
  const int step = std::max(1, (e1 - e0 + 8) / 8);
  std::vector<double> out;
  for (int e = e0; e <= e1; e += step) out.push_back(std::pow(10.0, e));
  return out;
}

Frontier compute_frontier(const fit::Law& law, const std::vector<double>& params, double k,
                          const std::vector<std::string>& at, const std::vector<double>& budgets) {
  Frontier f;
  f.budgets = budgets;
  try {
    f.problem = fit::make_allocation_problem(law, params, k, at);
    fit::check_budgets(budgets);
    for (double c : budgets) {
      f.optima.push_back(fit::optimal_allocation(f.problem, c));
      f.isoflops.push_back(fit::isoflop_curve(f.problem, c));
    }
  } catch (const Error& e) {
    f.unavailable = e.what();
    f.optima.clear();
    f.isoflops.clear();
  }
  return f;
}

Chart frontier_chart(const Frontier& f, const std::string& response) {
  Chart c;
  c.title = fmt::format("Compute-optimal frontier: {} along iso-FLOP curves, C = {:g}·N·D", response,
                        f.problem.flops_per_param_token);
  c.x = {"N (parameters)", true, {}, {}, {}};
  c.y = {response, false, {}, {}, {}};
  c.empty_text = f.unavailable.empty() ? "Fit a law of N and D to see the frontier" : f.unavailable;
  if (!f.unavailable.empty()) return c;
  Series optima{"compute-optimal (fathom optimal)", SeriesKind::kScatter, {}, {}, {}, {}, "#000000"};
  Series frontier{"frontier", SeriesKind::kLine, {}, {}, {}, {}, "#000000"};
  for (size_t b = 0; b < f.optima.size(); ++b) {
    Series s{fmt::format("C = {:.3g} FLOP", f.optima[b].compute), SeriesKind::kLine, {}, {}, {}, {}, color(b)};
    for (const auto& q : f.isoflops[b]) {
      s.x.push_back(q.n);
      s.y.push_back(q.loss);
    }
    c.series.push_back(std::move(s));
    optima.x.push_back(f.optima[b].n);
    optima.y.push_back(f.optima[b].loss);
  }
  frontier.x = optima.x;
  frontier.y = optima.y;
  if (optima.x.size() > 1) c.series.push_back(std::move(frontier));
  c.series.push_back(std::move(optima));
  return c;
}

}  // namespace fathom::gui
