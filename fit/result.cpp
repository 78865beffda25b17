#include "fit/result.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "common/error.h"
#include "common/yaml.h"
#include "fit/jet_math.h"

namespace fathom::fit {

namespace {

std::string g17(double v) { return yaml_number(v); }
std::string quote(const std::string& s) { return yaml_quote(s); }

std::string interval(const Interval& iv) {
  return "low: " + g17(iv.low) + ", high: " + g17(iv.high) + ", median: " + g17(iv.median) + ", sd: " + g17(iv.sd);
}

}  // namespace

std::string result_yaml(const Law& law, const FitRecord& rec) {
  const FitResult& r = rec.result;
  std::string y;
  y += "# Written by `fathom fit`; read by `fathom predict` and `fathom optimal` (docs/fitting.md).\n";
  y += "fathom_fit_result: 1\n";
  y += "law: " + quote(law.name) + "\n";
  y += "formula: " + quote(law.formula) + "\n";
  y += "source: " + quote(law.source) + "\n";
  y += "response: " + quote(law.response) + "\n";
  y += "variables: [";
  for (size_t v = 0; v < law.variables.size(); ++v) y += (v ? ", " : "") + quote(law.variables[v]);
  y += "]\n";
  y += "data:\n  file: " + quote(rec.data_file) + "\n  points: " + std::to_string(rec.points) +
       "\n  dropped: " + std::to_string(rec.dropped) + "\n";
  if (!rec.columns.empty()) {
    y += "  columns: [";
    for (size_t i = 0; i < rec.columns.size(); ++i) y += (i ? ", " : "") + quote(rec.columns[i]);
    y += "]\n";
  }
  const Options& o = rec.options;
  y += "procedure:\n  space: " + to_string(o.space) + "\n  loss: " + quote(to_string(o.loss)) +
       "\n  method: " + to_string(o.method) + "\n  grid: " + (o.grid ? "true" : "false") +
       "\n  random_starts: " + std::to_string(o.random_starts) + "\n  seed: " + std::to_string(o.seed) +
       "\n  screen_tolerance: " + g17(o.screen_tolerance) + "\n  polish: " + std::to_string(o.polish) +
       "\n  function_tolerance: " + g17(o.function_tolerance) + "\n  gradient_tolerance: " + g17(o.gradient_tolerance) +
       "\n  parameter_tolerance: " + g17(o.parameter_tolerance) + "\n";
  y += "objective: " + g17(r.objective) + "\n";
  y += "termination: " + r.termination + "\n";
  y += "starts: {run: " + std::to_string(r.starts) + ", best: " + std::to_string(r.best_start) +
       ", at_best: " + std::to_string(r.starts_at_best) + "}\n";
  y += "parameters:\n";
  for (size_t j = 0; j < law.params.size(); ++j) {
    y += "  " + law.params[j].name + ": {value: " + g17(r.params[j]) + ", fixed: " + (r.free[j] ? "false" : "true");
    if (r.free[j]) y += ", std_error: " + g17(r.std_error[j]);
    if (rec.boot && r.free[j]) y += ", " + interval(rec.boot->params[j]);
    y += "}\n";
  }
  if (!law.derived.empty()) {
    y += "derived:\n";
    for (size_t d = 0; d < law.derived.size(); ++d) {
      y += "  " + law.derived[d].name + ": {value: " + g17(r.derived[d]);
      if (rec.boot) y += ", " + interval(rec.boot->derived[d]);
      y += "}\n";
    }
  }
  if (!r.covariance.empty()) {
    y += "covariance:  # free parameters, in the order above\n";
    const size_t k = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(r.covariance.size()))));
    for (size_t i = 0; i < k; ++i) {
      y += "  - [";
      for (size_t j = 0; j < k; ++j) y += (j ? ", " : "") + g17(r.covariance[i * k + j]);
      y += "]\n";
    }
  }
  if (!r.covariance_note.empty()) y += "covariance_note: " + quote(r.covariance_note) + "\n";
  const Metrics& m = r.metrics;
  y += "metrics: {n: " + std::to_string(m.n) + ", k: " + std::to_string(m.k) + ", rmse: " + g17(m.rmse) +
       ", rmse_log: " + g17(m.rmse_log) + ", mape: " + g17(m.mape) + ", r2: " + g17(m.r2) + ", aic: " + g17(m.aic) +
       ", bic: " + g17(m.bic) + "}\n";
  if (rec.boot) {
    y += "bootstrap: {resamples: " + std::to_string(rec.boot->resamples) + ", failed: " +
         std::to_string(rec.boot->failed) + ", not_converged: " + std::to_string(rec.boot->not_converged) + ", level: " + g17(rec.boot->level) + ", seed: " +
         std::to_string(rec.boot->seed) + "}\n";
  }
  if (rec.extrapolation) {
    const auto& e = *rec.extrapolation;
    y += "extrapolation:\n  variable: " + quote(e.variable) + "\n  threshold: " + g17(e.threshold) +
         "\n  fitted_points: " + std::to_string(e.fitted) + "\n  held_out: " + std::to_string(e.held_out.size()) +
         "\n  mean_abs_error: " + g17(e.mean_abs_error) + "\n  max_abs_error: " + g17(e.max_abs_error) + "\n";
  }
  return y;
}

std::string result_csv(const Law& law, const FitRecord& rec) {
  const FitResult& r = rec.result;
  auto g = [](double v) { return fmt::format("{:.17g}", v); };
  std::string os = "name,kind,value,std_error,low,high\n";
  for (size_t j = 0; j < law.params.size(); ++j) {
    os += law.params[j].name + "," + (r.free[j] ? "parameter" : "fixed") + "," + g(r.params[j]) + ",";
    if (r.free[j]) os += g(r.std_error[j]);
    os += ",";
    if (rec.boot && r.free[j]) {
      os += g(rec.boot->params[j].low) + "," + g(rec.boot->params[j].high);
    } else {
      os += ",";
    }
    os += "\n";
  }
  for (size_t d = 0; d < law.derived.size(); ++d) {
    os += law.derived[d].name + ",derived," + g(r.derived[d]) + ",,";
    if (rec.boot) {
      os += g(rec.boot->derived[d].low) + "," + g(rec.boot->derived[d].high);
    } else {
      os += ",";
    }
    os += "\n";
  }
  return os;
}

LoadedFit load_fit(const std::string& path) {
  const YamlNode root = load_yaml_file(path);
  root.expect_map();
  if (!root.has("fathom_fit_result"))
    root.fail_message("expected a `fathom fit` result (key 'fathom_fit_result'), found none");
  const int64_t version = root.at("fathom_fit_result").as_int();
  if (version != 1) root.at("fathom_fit_result").fail("version 1");
  LoadedFit f;
  f.file = path;
  const std::string name = root.str("law");
  if (name == "formula") {
    std::vector<std::string> vars;
    for (const auto& v : root.at("variables").items()) vars.push_back(v.as_string());
    const YamlNode fn = root.at("formula");
    f.law = make_formula_law(fn.as_string(), vars, root.str("response"), fn.where());
  } else {
    try {
      f.law = make_law(name);
    } catch (const FlagError&) {
      root.at("law").fail("a law of the catalog");
    }
  }
  const YamlNode ps = root.at("parameters");
  ps.expect_map();
  for (const auto& spec : f.law->params) {
    if (!ps.has(spec.name)) ps.fail_message("expected parameter '" + spec.name + "' of the " + f.law->name + " law, found none");
    const YamlNode p = ps.at(spec.name);
    f.params.push_back(p.number("value"));
    f.free.push_back(!p.flag_or("fixed", false));
  }
  if (const auto data = root.find("data")) {
    if (const auto cols = data->find("columns"))
      for (const auto& c : cols->items()) f.columns.push_back(c.as_string());
    if (const auto dropped = data->find("dropped")) f.dropped = static_cast<size_t>(dropped->as_nonnegative_int());
  }
  if (const auto proc = root.find("procedure")) {
    if (const auto space = proc->find("space")) {
      try {
        f.space = parse_space(space->as_string(), "space");
      } catch (const FlagError&) {
        space->fail("log or data");
      }
    }
  }
  if (const auto boot = root.find("bootstrap")) {
    if (const auto level = boot->find("level")) {
      f.level = level->as_number();
      if (!(f.level > 0 && f.level < 1)) level->fail("a level in (0, 1)");
    }
  }
  if (const auto cov = root.find("covariance")) {
    size_t k = 0;
    for (bool b : f.free) k += b ? 1 : 0;
    const auto rows = cov->items();
    if (rows.size() != k) cov->fail(std::to_string(k) + " rows (one per free parameter)");
    for (const auto& row : rows) {
      const auto cells = row.items();
      if (cells.size() != k) row.fail(std::to_string(k) + " numbers");
      for (const auto& c : cells) f.covariance.push_back(c.as_number());
    }
  }
  return f;
}

Prediction predict_with_error(const LoadedFit& f, const std::vector<double>& x) {
  return predict_with_error(*f.law, f.params, f.free, f.covariance, x);
}

Prediction predict_with_error(const Law& law, const std::vector<double>& params, const std::vector<bool>& is_free,
                              const std::vector<double>& covariance, const std::vector<double>& x) {
  Prediction out;
  out.value = predict(law, params, x);
  if (covariance.empty()) {
    out.std_error = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  std::vector<size_t> free;
  for (size_t j = 0; j < is_free.size(); ++j)
    if (is_free[j]) free.push_back(j);
  std::vector<double> lx(x.size());
  for (size_t v = 0; v < x.size(); ++v) lx[v] = x[v] > 0 ? std::log(x[v]) : std::numeric_limits<double>::quiet_NaN();
  std::vector<double> g(free.size(), 0);
  for (size_t c0 = 0; c0 < free.size(); c0 += 8) {
    std::vector<Jet8> p(params.size());
    for (size_t j = 0; j < p.size(); ++j) p[j] = Jet8(params[j]);
    for (size_t j = c0; j < std::min(free.size(), c0 + 8); ++j) p[free[j]].v[static_cast<int>(j - c0)] = 1;
    const Jet8 v = law.value(p.data(), x.data(), lx.data());
    for (size_t j = c0; j < std::min(free.size(), c0 + 8); ++j) g[j] = v.v[static_cast<int>(j - c0)];
  }
  double var = 0;
  const size_t k = free.size();
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) var += g[i] * covariance[i * k + j] * g[j];
  out.std_error = std::sqrt(std::max(0.0, var));
  return out;
}

}  // namespace fathom::fit
