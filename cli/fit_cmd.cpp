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
#include "cli/flag_parse.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/suggest.h"
#include "common/version.h"
#include "fit/expr.h"
#include "fit/fitter.h"
#include "fit/law.h"
#include "fit/optimal.h"
#include "fit/result.h"
#include "fit/validate.h"
#include "sim/model/model_catalog.h"
#include "sim/model/params.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string g(double v, int digits = 6) { return fmt::format("{:.{}g}", v, digits); }


// The table of a CSV plus --column definitions: every column is a named vector of numbers,
// read only when used (so text columns elsewhere in the file do no harm).
class Columns {
 public:
  Columns(const CsvTable& t, const std::vector<std::string>& defs) : t_(t) {
    for (const auto& def : defs) {
      const auto [name, expr] = split_assign(def, "--column", "EXPRESSION");
      std::vector<std::string> names = known();
      const fit::Expr e = fit::Expr::parse(expr, names, "--column " + name);
      if (!e.parameters().empty()) {
        const std::string& bad = e.parameters().front();
        throw FlagError("--column", "expected columns of " + t.name() + " or earlier --column names in '" + def +
                                        "', found unknown name '" + bad + "'" + did_you_mean(bad, names));
      }
      std::vector<const std::vector<double>*> inputs;
      const auto used = e.variables_used();
      for (size_t i = 0; i < names.size(); ++i) inputs.push_back(used[i] ? &get(names[i]) : nullptr);
      std::vector<double> out(t.rows());
      std::vector<double> x(names.size(), 0);
      for (size_t r = 0; r < t.rows(); ++r) {
        for (size_t i = 0; i < names.size(); ++i) x[i] = inputs[i] ? (*inputs[i])[r] : 0;
        out[r] = e.eval(static_cast<const double*>(nullptr), x.data());
        if (!std::isfinite(out[r])) {
          throw InputError(t.name() + ":" + std::to_string(t.line(r)),
                           "--column " + name + ": expected a finite value of '" + expr + "', found " + g(out[r]));
        }
      }
      defined_[name] = std::move(out);
      order_.push_back(name);
    }
  }
  std::vector<std::string> known() const {
    std::vector<std::string> n = t_.header();
    for (const auto& d : order_)
      if (std::find(n.begin(), n.end(), d) == n.end()) n.push_back(d);
    return n;
  }
  bool has(const std::string& name) const { return defined_.count(name) || t_.has_column(name); }
  const std::vector<double>& get(const std::string& name) {
    if (auto it = defined_.find(name); it != defined_.end()) return it->second;
    if (auto it = read_.find(name); it != read_.end()) return it->second;
    const size_t c = t_.column(name);
    std::vector<double> v(t_.rows());
    for (size_t r = 0; r < t_.rows(); ++r) v[r] = t_.number(r, c);
    return read_[name] = std::move(v);
  }

 private:
  const CsvTable& t_;
  std::map<std::string, std::vector<double>> defined_, read_;
  std::vector<std::string> order_;
};

void apply_overrides(fit::Law& law, const FitFlags& fl) {
  auto param = [&](const std::string& name, const std::string& flag) -> fit::ParamSpec& {
    const size_t j = law.param_index(name);
    if (j == law.params.size()) {
      std::vector<std::string> names;
      for (const auto& p : law.params) names.push_back(p.name);
      throw FlagError(flag, "expected a parameter of " + law.name + " (" + join(names) + "), found '" + name + "'" +
                                did_you_mean(name, names));
    }
    return law.params[j];
  };
  for (const auto& s : fl.grid) {
    const auto [n, v] = split_assign(s, "--grid", "v1,v2,...");
    param(n, "--grid").grid = parse_list(v, "--grid");
  }
  for (const auto& s : fl.bounds) {
    const auto [n, v] = split_assign(s, "--bounds", "LOW:HIGH");
    auto& p = param(n, "--bounds");
    std::tie(p.lower, p.upper) = parse_range(v, "--bounds");
  }
  for (const auto& s : fl.ranges) {
    const auto [n, v] = split_assign(s, "--range", "LOW:HIGH");
    auto& p = param(n, "--range");
    std::tie(p.start_low, p.start_high) = parse_range(v, "--range");
  }
}

struct Loaded {
  fit::Dataset data;
  size_t dropped = 0;
};

Loaded load_data(const CsvTable& t, const FitFlags& fl, fit::Law& law, Columns& cols) {
  Loaded out;
  fit::Dataset& d = out.data;
  d.source = t.name();
  auto fetch = [&](const std::string& name, const std::string& role) -> const std::vector<double>& {
    if (!cols.has(name)) {
      throw InputError(t.name(), "expected a column '" + name + "' for the " + role + " of the " + law.name +
                                     " law (columns: " + join(cols.known()) + "; map one with --column " + name +
                                     "=EXPRESSION)");
    }
    return cols.get(name);
  };
  std::vector<const std::vector<double>*> xs;
  for (const auto& v : law.variables) xs.push_back(&fetch(v, "variable"));
  const std::vector<double>& y = fetch(law.response, "response");
  std::vector<size_t> rows(t.rows());
  std::iota(rows.begin(), rows.end(), 0);
  if (fl.drop_highest < 0) throw FlagError("--drop-highest", "expected a count >= 0, found " + std::to_string(fl.drop_highest));
  if (fl.drop_highest > 0) {
    if (static_cast<size_t>(fl.drop_highest) >= rows.size())
      throw FlagError("--drop-highest", "expected fewer than the " + std::to_string(rows.size()) + " rows, found " +
                                            std::to_string(fl.drop_highest));
    std::vector<size_t> by_y = rows;
    std::stable_sort(by_y.begin(), by_y.end(), [&](size_t a, size_t b) { return y[a] > y[b]; });
    std::vector<bool> drop(rows.size(), false);
    for (int64_t i = 0; i < fl.drop_highest; ++i) drop[by_y[static_cast<size_t>(i)]] = true;
    std::vector<size_t> kept;
    for (size_t r : rows)
      if (!drop[r]) kept.push_back(r);
    rows = kept;
    out.dropped = static_cast<size_t>(fl.drop_highest);
  }
  d.x.resize(xs.size());
  for (size_t r : rows) {
    for (size_t v = 0; v < xs.size(); ++v) d.x[v].push_back((*xs[v])[r]);
    d.y.push_back(y[r]);
    d.lines.push_back(t.line(r));
  }
  std::vector<std::vector<double>> xv = d.x;
  law.scale_to_data(xv, d.y);
  return out;
}

fit::Options make_options(const fit::Law& law, const FitFlags& fl) {
  fit::Options o = fit::default_options(law);
  if (!fl.space.empty()) o.space = fit::parse_space(fl.space, "--space");
  if (!fl.loss.empty()) o.loss = fit::parse_loss(fl.loss, "--loss");
  if (!fl.method.empty()) o.method = fit::parse_method(fl.method, "--method");
  for (const auto& s : fl.fix) {
    const auto [n, v] = split_assign(s, "--fix", "VALUE");
    o.fixed[n] = parse_number(v, "--fix");
  }
  o.grid = !fl.no_grid;
  if (fl.random_starts < 0 || fl.random_starts > 10000000)
    throw FlagError("--random-starts", "expected 0 to 10000000, found " + std::to_string(fl.random_starts));
  o.random_starts = static_cast<int>(fl.random_starts);
  if (!o.grid && o.random_starts == 0) throw FlagError("--no-grid", "expected --random-starts N with --no-grid");
  if (fl.polish < 1 || fl.polish > 100000) throw FlagError("--polish", "expected 1 to 100000, found " + std::to_string(fl.polish));
  o.polish = static_cast<int>(fl.polish);
  if (!(fl.screen_tolerance >= 0 && fl.screen_tolerance < 1))
    throw FlagError("--screen-tolerance", "expected a value in [0, 1) (0: every start to the tight tolerance), found " + g(fl.screen_tolerance));
  o.screen_tolerance = fl.screen_tolerance;
  if (!(fl.tolerance > 0 && fl.tolerance < 1)) throw FlagError("--tolerance", "expected a value in (0, 1), found " + g(fl.tolerance));
  o.function_tolerance = o.gradient_tolerance = fl.tolerance;
  o.parameter_tolerance = std::max(fl.tolerance, 1e-14);
  if (fl.seed < 0) throw FlagError("--seed", "expected a seed >= 0");
  o.seed = static_cast<uint64_t>(fl.seed);
  if (fl.threads < 0 || fl.threads > 1024) throw FlagError("--threads", "expected 0 (all cores) to 1024, found " + std::to_string(fl.threads));
  o.threads = static_cast<int>(fl.threads);
  return o;
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
  const CsvTable table = CsvTable::load(fl.data);
  if (table.rows() == 0) throw InputError(fl.data, "expected data rows after the header, found none");
  Columns cols(table, fl.columns);
  std::unique_ptr<fit::Law> law =
      fl.law.empty() ? fit::make_formula_law(fl.formula, cols.known(), fl.response, "--formula") : fit::make_law(fl.law);
  apply_overrides(*law, fl);
  Loaded ld = load_data(table, fl, *law, cols);
  // Overrides again: a user's grid wins over the one scaled to the data.
  apply_overrides(*law, fl);
  const fit::Options o = make_options(*law, fl);

  fit::FitRecord rec;
  rec.data_file = fl.data;
  rec.points = ld.data.size();
  rec.dropped = ld.dropped;
  rec.columns = fl.columns;
  rec.options = o;
  const auto t0 = std::chrono::steady_clock::now();
  rec.result = fit::fit(*law, ld.data, o);
  const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double boot_s = 0;
  if (fl.bootstrap > 0) {
    const auto t1 = std::chrono::steady_clock::now();
    // SIGINT ends the process (common/interrupt.h), so the CLI needs no cancellation token.
    ProgressLine line("bootstrap", "resamples", progress);
    fit::BootstrapControl control;
    control.on_progress = line.callback();
    rec.boot = fit::bootstrap(*law, ld.data, o, rec.result, static_cast<int>(fl.bootstrap), fl.level, control);
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
    rec.extrapolation = fit::extrapolate(*law, ld.data, o, v, frac);
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
    os << "name,kind,value,std_error,low,high\n";
    for (size_t j = 0; j < law->params.size(); ++j) {
      os << law->params[j].name << "," << (r.free[j] ? "parameter" : "fixed") << "," << g(r.params[j], 17) << ","
         << (r.free[j] ? g(r.std_error[j], 17) : "") << ","
         << (rec.boot && r.free[j] ? g(rec.boot->params[j].low, 17) + "," + g(rec.boot->params[j].high, 17) : ",") << "\n";
    }
    for (size_t d = 0; d < law->derived.size(); ++d) {
      os << law->derived[d].name << ",derived," << g(r.derived[d], 17) << ",,"
         << (rec.boot ? g(rec.boot->derived[d].low, 17) + "," + g(rec.boot->derived[d].high, 17) : ",") << "\n";
    }
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
