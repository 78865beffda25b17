// `fathom fit`: a law of the catalog or a user formula fitted to a CSV (docs/fitting.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/flag_values.h"
#include "common/suggest.h"
#include "common/version.h"
#include "fit/expr.h"
#include "fit/fitter.h"
#include "fit/law.h"
#include "fit/optimal.h"
#include "fit/problem.h"
#include "fit/result.h"
#include "fit/validate.h"
#include "sim/model/model_catalog.h"
#include "sim/model/params.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string g(double v, int digits = 6) { return fmt::format("{:.{}g}", v, digits); }


fit::FitSpec make_spec(const FitFlags& fl) {
  fit::FitSpec s;
  s.data = fl.data;
  s.law = fl.law;
  s.formula = fl.formula;
  s.response = fl.response;
  s.columns = fl.columns;
  s.space = fl.space;
  s.loss = fl.loss;
  s.method = fl.method;
  s.fix = fl.fix;
  s.grid = fl.grid;
  s.bounds = fl.bounds;
  s.ranges = fl.ranges;
  s.no_grid = fl.no_grid;
  s.random_starts = fl.random_starts;
  s.polish = fl.polish;
  s.screen_tolerance = fl.screen_tolerance;
  s.tolerance = fl.tolerance;
  s.seed = fl.seed;
  s.threads = fl.threads;
  s.drop_highest = fl.drop_highest;
  return s;
}

std::string list_laws() {
  std::string s;
  Table t;
  t.header = {"law", "formula", "fitted as", "source"};
  t.right = {false, false, false, false};
  for (const auto& n : fit::law_names()) {
    auto law = fit::make_law(n);
    t.rows.push_back({n, law->formula,
                      fit::to_string(law->space) + ", " + fit::to_string(law->loss) + ", " + fit::to_string(law->method),
                      law->source});
  }
  std::ostringstream os;
  t.print(os);
  return os.str();
}

}  // namespace

int cmd_fit(const FitFlags& fl, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  const ProgressMode progress = parse_progress_mode(f.progress);
  if (fl.list) {
    emit(list_laws(), f);
    return 0;
  }
  if (fl.law.empty() == fl.formula.empty()) throw FlagError("--law", "expected exactly one of --law NAME or --formula 'Y = EXPRESSION'");
  if (fl.bootstrap < 0 || fl.bootstrap > 1000000)
    throw FlagError("--bootstrap", "expected 0 to 1000000 resamples, found " + std::to_string(fl.bootstrap));
  fit::FitProblem problem = fit::prepare_fit(make_spec(fl));
  const std::unique_ptr<fit::Law>& law = problem.law;
  const fit::Dataset& data = problem.data;
  const fit::Options& o = problem.options;

  fit::FitRecord rec;
  rec.data_file = fl.data;
  rec.points = data.size();
  rec.dropped = problem.dropped;
  rec.columns = fl.columns;
  rec.options = o;
  const auto t0 = std::chrono::steady_clock::now();
  rec.result = fit::fit(*law, data, o);
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double boot_s = 0;
  if (fl.bootstrap > 0) {
    const auto t1 = std::chrono::steady_clock::now();
    // SIGINT ends the process (common/interrupt.h), so the CLI needs no cancellation token.
    ProgressLine line("bootstrap", "resamples", progress);
    fit::BootstrapControl control;
    control.on_progress = line.callback();
    rec.boot = fit::bootstrap(*law, data, o, rec.result, static_cast<int>(fl.bootstrap), fl.level, control);
    line.finish();
    boot_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  }
  if (!fl.extrapolate.empty()) {
    const size_t colon = fl.extrapolate.find(':');
    const std::string var = fl.extrapolate.substr(0, colon);
    const double frac = colon == std::string::npos ? 0.1 : parse_number(fl.extrapolate.substr(colon + 1), "--extrapolate");
    const size_t v = law->variable_index(var);
    if (v == law->variables.size())
      throw FlagError("--extrapolate", "expected a variable of the law (" + join(law->variables) + "), found '" + var + "'" +
                                           did_you_mean(var, law->variables));
    rec.extrapolation = fit::extrapolate(*law, data, o, v, frac);
  }
  const std::string yaml = fit::result_yaml(*law, rec);
  const fit::FitResult& r = rec.result;

  std::ostringstream os;
  if (fmt == Format::kJson) {
    json params = json::object(), derived = json::object();
    for (size_t j = 0; j < law->params.size(); ++j) {
      json p = {{"value", r.params[j]}, {"fixed", !r.free[j]}};
      if (r.free[j]) p["std_error"] = std::isfinite(r.std_error[j]) ? json(r.std_error[j]) : json(nullptr);
      if (rec.boot && r.free[j]) p["interval"] = {rec.boot->params[j].low, rec.boot->params[j].high};
      params[law->params[j].name] = p;
    }
    for (size_t d = 0; d < law->derived.size(); ++d) {
      json p = {{"value", r.derived[d]}};
      if (rec.boot) p["interval"] = {rec.boot->derived[d].low, rec.boot->derived[d].high};
      derived[law->derived[d].name] = p;
    }
    json j = {{"context", context("fit")},
              {"law", law->name},
              {"formula", law->formula},
              {"data", {{"file", fl.data}, {"points", rec.points}, {"dropped", rec.dropped}}},
              {"procedure",
               {{"space", fit::to_string(o.space)}, {"loss", fit::to_string(o.loss)}, {"method", fit::to_string(o.method)},
                {"starts", r.starts}, {"polished", r.polished}, {"seed", o.seed}}},
              {"objective", r.objective},
              {"termination", r.termination},
              {"best_start", r.best_start},
              {"starts_at_best", r.starts_at_best},
              {"parameters", params},
              {"derived", derived},
              {"metrics",
               {{"n", r.metrics.n}, {"k", r.metrics.k}, {"rmse", r.metrics.rmse}, {"mape", r.metrics.mape},
                {"r2", r.metrics.r2}, {"aic", r.metrics.aic}, {"bic", r.metrics.bic}}}};
    if (std::isfinite(r.metrics.rmse_log)) j["metrics"]["rmse_log"] = r.metrics.rmse_log;
    if (rec.boot)
      j["bootstrap"] = {{"resamples", rec.boot->resamples}, {"failed", rec.boot->failed},
                        {"not_converged", rec.boot->not_converged}, {"level", rec.boot->level}};
    if (rec.extrapolation) {
      const auto& e = *rec.extrapolation;
      j["extrapolation"] = {{"variable", e.variable},       {"threshold", e.threshold},
                            {"fitted_points", e.fitted},     {"held_out", e.held_out.size()},
                            {"mean_abs_error", e.mean_abs_error}, {"max_abs_error", e.max_abs_error}};
    }
    os << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (fmt == Format::kCsv) {
    os << fit::result_csv(*law, rec);
  } else {
    os << "fathom fit: " << law->name << " law on " << rec.points << " points of " << fl.data;
    if (rec.dropped) os << " (" << rec.dropped << " highest " << law->response << " dropped)";
    os << "\n  " << law->formula << "\n";
    os << "  procedure: " << fit::to_string(o.space) << "-space residuals, loss " << fit::to_string(o.loss) << ", "
       << fit::to_string(o.method) << "; " << r.starts << " starts";
    if (o.screen_tolerance > 0) os << " screened to " << g(o.screen_tolerance) << ", best " << r.polished << " polished";
    os << " to " << g(o.function_tolerance) << "\n";
    os << "  objective " << g(r.objective, 15) << " (sum of the loss), " << r.termination << " after " << r.iterations
       << " iterations; best start #" << r.best_start << "; " << r.starts_at_best << " of " << r.starts
       << (o.screen_tolerance > 0 ? " starts ended the screen within 1e-6 of it\n\n" : " starts ended within 1e-6 of it\n\n");
    Table t;
    const std::string lvl = rec.boot ? fmt::format("{:g}%", rec.boot->level * 100) : "";
    t.header = {"parameter", "value", "std error"};
    if (rec.boot) {
      t.header.push_back(lvl + " low");
      t.header.push_back(lvl + " high");
      t.header.push_back("bootstrap sd");
    }
    t.right.assign(t.header.size(), true);
    t.right[0] = false;
    for (size_t j = 0; j < law->params.size(); ++j) {
      std::vector<std::string> row = {law->params[j].name, g(r.params[j], 7),
                                      r.free[j] ? (std::isfinite(r.std_error[j]) ? g(r.std_error[j], 3) : "-") : "fixed"};
      if (rec.boot) {
        const auto& iv = rec.boot->params[j];
        row.push_back(r.free[j] ? g(iv.low, 6) : "");
        row.push_back(r.free[j] ? g(iv.high, 6) : "");
        row.push_back(r.free[j] ? g(iv.sd, 3) : "");
      }
      t.rows.push_back(row);
    }
    for (size_t d = 0; d < law->derived.size(); ++d) {
      std::vector<std::string> row = {law->derived[d].name, g(r.derived[d], 7), ""};
      if (rec.boot) {
        const auto& iv = rec.boot->derived[d];
        row.push_back(g(iv.low, 6));
        row.push_back(g(iv.high, 6));
        row.push_back(g(iv.sd, 3));
      }
      t.rows.push_back(row);
    }
    t.print(os);
    if (!r.covariance_note.empty()) os << "  note: " << r.covariance_note << "\n";
    if (rec.boot) {
      os << "  intervals: " << rec.boot->resamples << " bootstrap resamples (seed " << rec.boot->seed << "), "
         << rec.boot->failed << " failed, " << rec.boot->not_converged
         << " stopped at the iteration limit; std error: asymptotic, s^2 (J'J)^-1 at the optimum\n";
    }
    const auto& m = r.metrics;
    os << "\n  fit: n " << m.n << ", k " << m.k << ", RMSE " << g(m.rmse, 4);
    if (std::isfinite(m.rmse_log)) os << ", RMSE(log) " << g(m.rmse_log, 4);
    os << ", MAPE " << g(100 * m.mape, 3) << "%, R^2 " << g(m.r2, 5) << ", AIC " << g(m.aic, 6) << ", BIC " << g(m.bic, 6)
       << "\n";
    if (rec.extrapolation) {
      const auto& e = *rec.extrapolation;
      os << "\n  extrapolation: fitted the " << e.fitted << " points with " << e.variable << " < " << g(e.threshold)
         << ", predicted the " << e.held_out.size() << " largest: mean |error| " << g(100 * e.mean_abs_error, 3)
         << "%, max " << g(100 * e.max_abs_error, 3) << "%\n";
    }
    os << "\n  time: fit " << fmt::format("{:.2f}", fit_s) << " s";
    if (rec.boot) os << ", bootstrap " << fmt::format("{:.2f}", boot_s) << " s";
    os << "\n";
  }
  // Everything is rendered before anything is written: a failure leaves no partial file.
  if (!fl.result.empty()) stage_file(fl.result, yaml, "--result");
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
