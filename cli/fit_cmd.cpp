// `fathom fit` (a law of the catalog or a user formula fitted to a CSV), `fathom predict` and
// `fathom optimal` (compute-optimal allocation from a fitted scaling law).
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

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// "NAME=REST" → (NAME, REST); throws naming the flag.
std::pair<std::string, std::string> split_assign(const std::string& text, const std::string& flag,
                                                 const std::string& what) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw FlagError(flag, "expected NAME=" + what + ", found '" + text + "'");
  std::string name = text.substr(0, eq);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  while (!name.empty() && name.front() == ' ') name.erase(name.begin());
  return {name, text.substr(eq + 1)};
}

double parse_number(const std::string& text, const std::string& flag) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw FlagError(flag, "expected a number, found '" + text + "'");
  return v;
}

std::vector<double> parse_list(const std::string& text, const std::string& flag) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(parse_number(item, flag));
  if (v.empty()) throw FlagError(flag, "expected a comma-separated list of numbers, found '" + text + "'");
  return v;
}

std::pair<double, double> parse_range(const std::string& text, const std::string& flag) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw FlagError(flag, "expected LOW:HIGH, found '" + text + "'");
  const double lo = parse_number(text.substr(0, colon), flag), hi = parse_number(text.substr(colon + 1), flag);
  if (!(lo < hi)) throw FlagError(flag, "expected LOW < HIGH, found '" + text + "'");
  return {lo, hi};
}

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
    rec.boot = fit::bootstrap(*law, ld.data, o, rec.result, static_cast<int>(fl.bootstrap), fl.level);
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
    os << j.dump(2) << "\n";
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
  if (!fl.result.empty()) write_file_atomically(fl.result, yaml, "--result");
  emit(os.str(), f);
  return 0;
}

int cmd_predict(const std::string& result, const std::vector<std::string>& values, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  const fit::LoadedFit lf = fit::load_fit(result);
  const fit::Law& law = *lf.law;
  std::vector<std::vector<double>> cols(law.variables.size());
  for (const auto& s : values) {
    const auto [name, v] = split_assign(s, "predict", "VALUE[,VALUE...]");
    const size_t i = law.variable_index(name);
    if (i == law.variables.size())
      throw FlagError("predict", "expected a variable of the law (" + join(law.variables) + "), found '" + name + "'" +
                                     did_you_mean(name, law.variables));
    cols[i] = parse_list(v, "predict " + name);
  }
  size_t n = 1;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].empty()) throw FlagError("predict", "expected a value for " + law.variables[i] + " (NAME=VALUE)");
    if (cols[i].size() > 1) {
      if (n > 1 && cols[i].size() != n) throw FlagError("predict", "expected lists of the same length (or single values)");
      n = cols[i].size();
    }
  }
  std::ostringstream os;
  json rows = json::array();
  Table t;
  t.header = law.variables;
  t.header.push_back(law.response);
  t.header.push_back("std error");
  t.right.assign(t.header.size(), true);
  if (fmt == Format::kCsv) os << join(t.header, ",") << "\n";
  for (size_t r = 0; r < n; ++r) {
    std::vector<double> x;
    for (const auto& c : cols) x.push_back(c.size() == 1 ? c[0] : c[r]);
    const fit::Prediction p = fit::predict_with_error(lf, x);
    std::vector<std::string> row;
    json jr = json::object();
    for (size_t i = 0; i < x.size(); ++i) {
      row.push_back(g(x[i]));
      jr[law.variables[i]] = x[i];
    }
    row.push_back(g(p.value, 8));
    row.push_back(std::isfinite(p.std_error) ? g(p.std_error, 3) : "-");
    jr[law.response] = p.value;
    jr["std_error"] = std::isfinite(p.std_error) ? json(p.std_error) : json(nullptr);
    rows.push_back(jr);
    if (fmt == Format::kCsv) {
      os << g(x[0], 17);
      for (size_t i = 1; i < x.size(); ++i) os << "," << g(x[i], 17);
      os << "," << g(p.value, 17) << "," << (std::isfinite(p.std_error) ? g(p.std_error, 17) : "") << "\n";
    }
    t.rows.push_back(row);
  }
  if (fmt == Format::kJson) {
    os << json{{"context", context("predict")}, {"result", result}, {"law", law.name}, {"predictions", rows}}.dump(2) << "\n";
  } else if (fmt == Format::kTable) {
    os << law.name << ": " << law.formula << "\n";
    t.print(os);
    os << "std error: delta method from the fitted covariance (asymptotic)\n";
  }
  emit(os.str(), f);
  return 0;
}

int cmd_optimal(const OptimalFlags& fl, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  const fit::LoadedFit lf = fit::load_fit(fl.result);
  fit::AllocationProblem p;
  p.law = lf.law.get();
  p.params = lf.params;
  std::string k_source = "C = 6 N D";
  if (!fl.architecture.empty()) {
    if (fl.flops_per_param_token > 0)
      throw FlagError("--architecture", "expected --architecture or --flops-per-param-token, not both");
    if (!(fl.context >= 1)) throw FlagError("--context", "expected a context length >= 1");
    const model::ModelCatalog cat = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
    const model::ModelSpec m = cat.resolve(fl.architecture, "--architecture");
    const double n = model::count_params(m).total;
    p.flops_per_param_token = 3 * model::forward_flops_per_token(m, fl.context) / n;
    k_source = fmt::format("C = {:.4g} N D ({}: 3 x forward FLOPs per token at context {:g} / {:.4g} parameters)",
                           p.flops_per_param_token, m.name, fl.context, n);
  } else if (fl.flops_per_param_token != 0) {
    if (!(fl.flops_per_param_token > 0)) throw FlagError("--flops-per-param-token", "expected a positive number");
    p.flops_per_param_token = fl.flops_per_param_token;
    k_source = fmt::format("C = {:g} N D", p.flops_per_param_token);
  }
  if (lf.law->variable_index("N") == lf.law->variables.size() || lf.law->variable_index("D") == lf.law->variables.size())
    throw FlagError("optimal", "expected a law of N (parameters) and D (tokens), found the " + lf.law->name + " law of " +
                                   join(lf.law->variables));
  for (size_t v = 0; v < lf.law->variables.size(); ++v) {
    const std::string& name = lf.law->variables[v];
    if (name == "N" || name == "D") continue;
    bool found = false;
    for (const auto& s : fl.at) {
      const auto [n, val] = split_assign(s, "--at", "VALUE");
      if (n == name) {
        p.others.push_back(parse_number(val, "--at"));
        found = true;
      }
    }
    if (!found) throw FlagError("--at", "expected --at " + name + "=VALUE for the " + lf.law->name + " law's variable " + name);
  }
  fit::check_allocation(p);
  if (fl.compute.empty()) throw FlagError("--compute", "expected at least one compute budget in FLOPs");
  std::vector<fit::Allocation> rows;
  for (double c : fl.compute) rows.push_back(fit::optimal_allocation(p, c));
  std::string isoflop, isoloss;
  if (!fl.isoflop_out.empty()) {
    isoflop = "compute,N,D,tokens_per_param," + lf.law->response + "\n";
    for (double c : fl.compute)
      for (const auto& q : fit::isoflop_curve(p, c))
        isoflop += fmt::format("{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", q.compute, q.n, q.d, q.d / q.n, q.loss);
  }
  if (!fl.isoloss_out.empty()) {
    if (fl.losses.empty()) throw FlagError("--isoloss-out", "expected --losses L1,L2,... with --isoloss-out");
    const double n_lo = rows.front().n / 100, n_hi = rows.back().n * 100;
    isoloss = lf.law->response + ",N,D,compute\n";
    for (double l : fl.losses)
      for (const auto& q : fit::isoloss_curve(p, l, n_lo, n_hi))
        isoloss += fmt::format("{:.17g},{:.17g},{:.17g},{:.17g}\n", l, q.n, q.d, q.compute);
  }
  std::ostringstream os;
  if (fmt == Format::kJson) {
    json arr = json::array();
    for (const auto& a : rows)
      arr.push_back({{"compute", a.compute}, {"N", a.n}, {"D", a.d}, {"tokens_per_param", a.tokens_per_param}, {lf.law->response, a.loss}});
    os << json{{"context", context("optimal")}, {"result", fl.result}, {"law", lf.law->name},
               {"flops_per_param_token", p.flops_per_param_token}, {"allocations", arr}}.dump(2)
       << "\n";
  } else if (fmt == Format::kCsv) {
    os << "compute,N,D,tokens_per_param," << lf.law->response << "\n";
    for (const auto& a : rows) os << fmt::format("{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", a.compute, a.n, a.d, a.tokens_per_param, a.loss);
  } else {
    os << lf.law->name << " law from " << fl.result << "; " << k_source << "\n";
    Table t;
    t.header = {"compute (FLOP)", "N_opt", "D_opt", "tokens/param", lf.law->response};
    t.right.assign(5, true);
    for (const auto& a : rows) t.rows.push_back({g(a.compute, 4), g(a.n, 4), g(a.d, 4), g(a.tokens_per_param, 4), g(a.loss, 6)});
    t.print(os);
  }
  if (!fl.isoflop_out.empty()) write_file_atomically(fl.isoflop_out, isoflop, "--isoflop-out");
  if (!fl.isoloss_out.empty()) write_file_atomically(fl.isoloss_out, isoloss, "--isoloss-out");
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli

namespace fathom::cli {

namespace {

std::string shared_dataset(const std::string& sub) {
  // ../shared/datasets beside the project (data_dir() is <project>/data).
  return (fs::path(data_dir()).parent_path().parent_path() / "shared" / "datasets" / sub).string();
}

json fit_json(const fit::Law& law, const fit::FitResult& r, const fit::BootstrapResult* b) {
  json p = json::object();
  for (size_t j = 0; j < law.params.size(); ++j) {
    json q = {{"value", r.params[j]}, {"fixed", !r.free[j]}};
    if (b && r.free[j]) q["interval"] = {b->params[j].low, b->params[j].high};
    if (b && r.free[j]) q["bootstrap_sd"] = b->params[j].sd;
    p[law.params[j].name] = q;
  }
  return {{"objective", r.objective}, {"termination", r.termination}, {"starts", r.starts},
          {"starts_at_best", r.starts_at_best}, {"parameters", p}};
}

}  // namespace

int cmd_validate_fitting(const std::string& chinchilla, const std::string& datablations, int64_t random_starts,
                         int64_t resamples, int64_t threads, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  if (fmt == Format::kCsv) throw FlagError("--format", "expected table or json for validate fitting, found 'csv'");
  if (random_starts < 1 || random_starts > 10000000) throw FlagError("--random-starts", "expected 1 to 10000000");
  if (resamples < 0 || resamples > 1000000) throw FlagError("--bootstrap", "expected 0 to 1000000");
  if (threads < 0 || threads > 1024) throw FlagError("--threads", "expected 0 (all cores) to 1024");
  const std::string cpath = chinchilla.empty() ? shared_dataset("chinchilla/svg_extracted_data.csv") : chinchilla;
  const std::string mpath =
      datablations.empty() ? shared_dataset("muennighoff2023_datablations/datablations_c4_fitset182_derived.csv") : datablations;
  const auto chin = fit::make_law("chinchilla");
  const auto dc = fit::make_law("data_constrained");
  std::ostringstream os;
  json out = {{"context", context("validate fitting")}};
  const int th = static_cast<int>(threads);

  if (!fs::exists(cpath)) {
    if (!chinchilla.empty()) throw FlagError("--chinchilla", "expected a readable file, found none at '" + cpath + "'");
    os << "Chinchilla: skipped, " << cpath << " is absent\n\n";
    out["chinchilla"] = {{"skipped", cpath}};
  } else {
    const fit::Dataset d = fit::load_chinchilla(cpath);
    const fit::ChinchillaValidation v = fit::validate_chinchilla(d, static_cast<int>(random_starts), static_cast<int>(resamples), th);
    const auto pubs = fit::published_chinchilla_fits();
    const bool pass = v.gap >= -1e-9;
    if (fmt == Format::kJson) {
      json pj = json::array();
      for (size_t i = 0; i < pubs.size(); ++i) pj.push_back({{"who", pubs[i].who}, {"params", pubs[i].params}, {"objective", v.published_objective[i]}});
      out["chinchilla"] = {{"file", cpath},
                           {"points", v.points},
                           {"grid", fit_json(*chin, v.grid, resamples > 0 ? &v.boot : nullptr)},
                           {"random", fit_json(*chin, v.random, nullptr)},
                           {"relative_gap", v.gap},
                           {"global_optimum_check", pass},
                           {"loose_single_start", {{"start", v.loose_start}, {"tolerance", v.loose_tolerance}, {"fit", fit_json(*chin, v.loose, nullptr)}}},
                           {"published", pj},
                           {"seconds", {{"grid", v.grid_s}, {"random", v.random_s}, {"bootstrap", v.boot_s}}}};
    } else {
      os << "Chinchilla Approach 3 on " << v.points << " points of " << cpath << " (5 highest losses dropped)\n"
         << "objective: sum over points of Huber(delta 1e-3) of LSE(a - alpha log N, b - beta log D, e) - log L\n\n";
      Table t;
      t.header = {"fit", "a", "b", "e", "alpha", "beta", "A", "B", "E", "objective", "vs grid optimum"};
      t.right.assign(t.header.size(), true);
      t.right[0] = false;
      auto row = [&](const std::string& name, const std::vector<double>& p, double obj) {
        t.rows.push_back({name, g(p[0], 6), g(p[1], 6), g(p[2], 6), g(p[3], 6), g(p[4], 6), g(std::exp(p[0]), 5),
                          g(std::exp(p[1]), 5), g(std::exp(p[2]), 5), g(obj, 13),
                          fmt::format("{:+.3e}", (obj - v.grid.objective) / v.grid.objective)});
      };
      row(fmt::format("grid, {} starts", v.grid.starts), v.grid.params, v.grid.objective);
      row(fmt::format("random, {} starts", v.random.starts), v.random.params, v.random.objective);
      row(fmt::format("one start, tol {:g}", v.loose_tolerance), v.loose.params, v.loose.objective);
      for (size_t i = 0; i < pubs.size(); ++i) row(pubs[i].who, pubs[i].params, v.published_objective[i]);
      t.print(os);
      os << "\ncheck: the best of " << v.random.starts << " random starts (each to 1e-15) is "
         << fmt::format("{:+.3e}", v.gap) << " relative to the grid's best (limit >= -1e-9): " << (pass ? "PASS" : "FAIL")
         << "\n";
      os << "grid: " << v.grid.starts_at_best << " of " << v.grid.starts << " starts ended the 1e-6 screen within 1e-6 of the optimum; "
         << "the single start from (a, b, e, alpha, beta) = (5, 5, 0.5, 0.5, 0.5) stopped at " << v.loose.termination
         << " after " << v.loose.iterations << " iterations, "
         << fmt::format("{:.1f}", v.loose.objective / v.grid.objective) << "x the optimum\n";
      if (resamples > 0) {
        os << "\nbootstrap: " << v.boot.resamples << " resamples of the 240 points, each refitted (" << v.boot.failed
           << " failed, " << v.boot.not_converged << " stopped at the iteration limit and kept); 95% percentile intervals\n";
        Table b;
        b.header = {"parameter", "fathom", "95% low", "95% high", "bootstrap sd", "Besiroglu", "their se"};
        b.right.assign(b.header.size(), true);
        b.right[0] = false;
        const auto& bes = pubs[1];
        const char* names[] = {"A", "B", "E"};
        for (size_t q = 0; q < 3; ++q) {
          const double pub = std::exp(bes.params[q]);
          b.rows.push_back({names[q], g(v.grid.derived[q], 6), g(v.boot.derived[q].low, 6), g(v.boot.derived[q].high, 6),
                            g(v.boot.derived[q].sd, 3), g(pub, 6), g(bes.std_error[q] * pub, 3)});
        }
        for (size_t j = 3; j < 5; ++j) {
          b.rows.push_back({chin->params[j].name, g(v.grid.params[j], 6), g(v.boot.params[j].low, 6),
                            g(v.boot.params[j].high, 6), g(v.boot.params[j].sd, 3), g(bes.params[j], 6),
                            g(bes.std_error[j], 3)});
        }
        b.rows.push_back({"a_opt = beta/(alpha+beta)", g(v.grid.derived[3], 6), g(v.boot.derived[3].low, 6),
                          g(v.boot.derived[3].high, 6), g(v.boot.derived[3].sd, 3), "0.5126", "0.02"});
        b.print(os);
      }
      os << fmt::format("\ntime: grid {:.2f} s, random starts {:.2f} s, bootstrap {:.2f} s\n\n", v.grid_s, v.random_s, v.boot_s);
    }
  }

  if (!fs::exists(mpath)) {
    if (!datablations.empty()) throw FlagError("--muennighoff", "expected a readable file, found none at '" + mpath + "'");
    os << "Data-constrained: skipped, " << mpath << " is absent\n";
    out["data_constrained"] = {{"skipped", mpath}};
  } else {
    const fit::Dataset d = fit::load_datablations(mpath);
    const int res = static_cast<int>(std::min<int64_t>(resamples, 1000));
    const fit::DatablationsValidation v = fit::validate_datablations(d, res, th);
    if (fmt == Format::kJson) {
      out["data_constrained"] = {{"file", mpath},
                                 {"points", v.points},
                                 {"paper", {{"rd_star", v.paper_decay[0]}, {"rn_star", v.paper_decay[1]}, {"objective", v.paper_objective}}},
                                 {"stage2", fit_json(*dc, v.stage2, res > 0 ? &v.stage2_boot : nullptr)},
                                 {"joint", fit_json(*dc, v.joint, res > 0 ? &v.joint_boot : nullptr)}};
    } else {
      os << "Data-constrained law (Muennighoff et al. 2023) on the " << v.points << " runs of " << mpath << "\n"
         << "objective: sum of Huber(delta 1e-3) of log-space residuals; " << res << " bootstrap resamples\n\n";
      Table t;
      t.header = {"fit", "parameter", "value", "95% low", "95% high", "objective"};
      t.right = {false, false, true, true, true, true};
      t.rows.push_back({"paper (stage 1 held)", "rd_star", g(v.paper_decay[0], 6), "", "", g(v.paper_objective, 9)});
      t.rows.push_back({"", "rn_star", g(v.paper_decay[1], 6), "", "", ""});
      auto add = [&](const std::string& name, const fit::FitResult& r, const fit::BootstrapResult& b) {
        bool first = true;
        for (size_t j = 0; j < dc->params.size(); ++j) {
          if (!r.free[j]) continue;
          t.rows.push_back({first ? name : "", dc->params[j].name, g(r.params[j], 6), res > 0 ? g(b.params[j].low, 5) : "",
                            res > 0 ? g(b.params[j].high, 5) : "", first ? g(r.objective, 9) : ""});
          first = false;
        }
      };
      add("fathom, stage 2 (stage 1 held)", v.stage2, v.stage2_boot);
      add("fathom, all seven jointly", v.joint, v.joint_boot);
      t.print(os);
      if (!v.joint.covariance_note.empty()) os << "\njoint fit: " << v.joint.covariance_note << "\n";
      os << "\nthe paper's reported stage-2 objective is 0.0158259; fathom's at the paper's values: "
         << g(v.paper_objective, 9) << "; fathom's optimum of the same objective: " << g(v.stage2.objective, 9) << " ("
         << fmt::format("{:+.2f}%", 100 * (v.stage2.objective / v.paper_objective - 1)) << ")\n";
    }
  }
  if (fmt == Format::kJson) os << out.dump(2) << "\n";
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
