// The Scaling laws page's tables (declared in scaling_charts.h): each number as the library
// returned it, with a tooltip saying which call produced it and how.
#include <cmath>

#include <fmt/format.h>

#include "gui/pages/scaling_charts.h"

namespace fathom::gui {

namespace {

Cell number_or_dash(double v, const std::string& tip) {
  return std::isfinite(v) ? Cell::number(v, tip) : Cell::text("-", tip + " (not available)");
}

std::string procedure(const fit::Law& law, const fit::FitRecord& rec) {
  const fit::Options& o = rec.options;
  const fit::FitResult& r = rec.result;
  return fmt::format("fit::fit, {} law: best of {} starts (#{}, {} within 1e-6 of it), objective {:.6g}; {} residuals, "
                     "loss {}, {}; seed {}",
                     law.name, r.starts, r.best_start, r.starts_at_best, r.objective, fit::to_string(o.space),
                     fit::to_string(o.loss), fit::to_string(o.method), o.seed);
}

std::string interval_tip(const fit::FitRecord& rec, const char* what) {
  const fit::BootstrapResult& b = *rec.boot;
  return fmt::format("{} of the {:g}% percentile interval of {} bootstrap refits (fit::bootstrap, seed {}, {} failed, "
                     "{} stopped at the iteration limit)",
                     what, 100 * b.level, b.resamples, b.seed, b.failed, b.not_converged);
}

// The bootstrap columns of a row: low, high, median and standard deviation of the interval.
void append_interval(std::vector<Cell>& row, const fit::Interval& iv, const fit::FitRecord& rec) {
  row.push_back(Cell::number(iv.low, interval_tip(rec, "low end")));
  row.push_back(Cell::number(iv.high, interval_tip(rec, "high end")));
  row.push_back(Cell::number(iv.median, interval_tip(rec, "median")));
  row.push_back(Cell::number(iv.sd, interval_tip(rec, "standard deviation")));
}

}  // namespace

Table parameter_table(const fit::Law& law, const fit::FitRecord& rec) {
  const fit::FitResult& r = rec.result;
  const bool boot = rec.boot.has_value();
  const std::string lvl = boot ? fmt::format("{:g}%", 100 * rec.boot->level) : "";
  Table t;
  t.columns = {{"name", "parameter or derived quantity of the law", 4},
               {"kind", "parameter (fitted), fixed (--fix) or derived (from the parameters)", 4},
               {"value", "the fitted value (fathom fit's `value`)", 7},
               {"std error", "asymptotic standard error s^2 (J'J)^-1 at the optimum (fathom fit's `std_error`)", 3},
               {boot ? lvl + " low" : "low", "bootstrap percentile interval, low end (`interval`[0]); needs Bootstrap > 0", 6},
               {boot ? lvl + " high" : "high", "bootstrap percentile interval, high end (`interval`[1])", 6},
               {"bootstrap median", "median of the bootstrap refits", 6},
               {"bootstrap sd", "standard deviation of the bootstrap refits (divisor R - 1)", 3},
               {"meaning", "from the law's catalog entry (docs/fitting.md)", 4}};
  const std::string proc = procedure(law, rec);
  std::string se_tip = "asymptotic: s^2 (J'J)^-1 at the optimum (ceres::Covariance, DENSE_SVD)";
  if (!r.covariance_note.empty()) se_tip += "; note: " + r.covariance_note;
  for (size_t j = 0; j < law.params.size(); ++j) {
    const bool is_free = r.free[j];
    std::vector<Cell> row = {Cell::text(law.params[j].name, law.params[j].meaning),
                             Cell::text(is_free ? "parameter" : "fixed"),
                             Cell::number(r.params[j], is_free ? proc : "held at this value (--fix)")};
    row.push_back(is_free ? number_or_dash(r.std_error[j], se_tip) : Cell::text("fixed"));
    if (boot && is_free) {
      append_interval(row, rec.boot->params[j], rec);
    } else {
      row.insert(row.end(), 4, Cell::text(""));
    }
    row.push_back(Cell::text(law.params[j].meaning));
    t.rows.push_back(std::move(row));
  }
  for (size_t d = 0; d < law.derived.size(); ++d) {
    const std::string tip = law.derived[d].meaning + ", from the fitted parameters (Law::derived_values)";
    std::vector<Cell> row = {Cell::text(law.derived[d].name, law.derived[d].meaning), Cell::text("derived"),
                             Cell::number(r.derived[d], tip), Cell::text("")};
    if (boot) {
      append_interval(row, rec.boot->derived[d], rec);
    } else {
      row.insert(row.end(), 4, Cell::text(""));
    }
    row.push_back(Cell::text(law.derived[d].meaning));
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table metrics_table(const fit::Law& law, const fit::FitRecord& rec) {
  const fit::FitResult& r = rec.result;
  const fit::Metrics& m = r.metrics;
  Table t;
  t.columns = {{"quantity", "", 4}, {"value", "fathom fit's figure of the same name", 6}, {"definition", "docs/fitting.md, Metrics", 4}};
  auto add = [&](const std::string& name, double v, const std::string& def) {
    t.rows.push_back({Cell::text(name), number_or_dash(v, def), Cell::text(def)});
  };
  auto add_text = [&](const std::string& name, const std::string& v, const std::string& def) {
    t.rows.push_back({Cell::text(name), Cell::text(v, def), Cell::text(def)});
  };
  const std::string space = fit::to_string(rec.options.space);
  add("objective", r.objective, "sum of the robust loss over the points at the optimum (what Ceres minimised)");
  add_text("termination", r.termination, "Ceres' termination type of the winning start");
  add("starts", static_cast<double>(r.starts), "grid and random starts run (" + law.name + " law's grid)");
  add("best start", static_cast<double>(r.best_start), "index of the winning start (grid order, last parameter fastest)");
  add("starts at best", static_cast<double>(r.starts_at_best), "starts that ended the screen within a relative 1e-6 of the best");
  add("polished", static_cast<double>(r.polished), "distinct starts continued to the tight tolerances");
  add("n", static_cast<double>(m.n), "points fitted");
  add("k", static_cast<double>(m.k), "free parameters");
  add("RMSE", m.rmse, "sqrt(mean (f - y)^2), in the response's unit");
  add("RMSE(log)", m.rmse_log, "sqrt(mean (log f - log y)^2)");
  add("MAPE", m.mape, "mean |f - y| / |y| (a fraction)");
  add("R^2", m.r2, "1 - SS_res / SS_tot, data space");
  add("AIC", m.aic, "n ln(RSS/n) + 2k, RSS of the " + space + "-space residuals");
  add("BIC", m.bic, "n ln(RSS/n) + k ln n, RSS of the " + space + "-space residuals");
  if (rec.boot) {
    add("bootstrap resamples", rec.boot->resamples, "resamples of the points with replacement, each refitted");
    add("bootstrap failed", rec.boot->failed, "refits left out (non-finite objective or a Ceres failure)");
    add("bootstrap not converged", rec.boot->not_converged, "refits kept but stopped at the iteration limit");
    add("bootstrap level", rec.boot->level, "level of the percentile intervals");
  }
  if (!r.covariance_note.empty()) add_text("covariance note", r.covariance_note, "flat directions, bounds, rank deficiency");
  return t;
}

Table frontier_table(const Frontier& f, const std::string& response) {
  Table t;
  const std::string how = fmt::format(
      "fit::optimal_allocation: minimises {}(N, C/(kN)) over N (401-point scan of log N, then golden section to a "
      "relative 1e-12), k = {:g}",
      response, f.problem.flops_per_param_token);
  t.columns = {{"compute (FLOP)", "the budget C = k N D", 4},
               {"N_opt", "parameters minimising the loss at this budget", 4},
               {"D_opt", "tokens: C / (k N_opt)", 4},
               {"tokens/param", "D_opt / N_opt", 4},
               {response, "the law's value at (N_opt, D_opt)", 6}};
  for (const auto& a : f.optima) {
    t.rows.push_back({Cell::number(a.compute, "the budget"), Cell::number(a.n, how), Cell::number(a.d, how),
                      Cell::number(a.tokens_per_param, how), Cell::number(a.loss, how)});
  }
  return t;
}

}  // namespace fathom::gui
