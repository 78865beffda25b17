// `fathom predict` (a fitted law's value) and `fathom optimal` (compute-optimal allocation from a
// fitted scaling law).
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
#include "common/flag_values.h"
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
}  // namespace

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
    os << json{{"context", context("predict")}, {"result", result}, {"law", law.name}, {"predictions", rows}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
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
  p = fit::make_allocation_problem(*lf.law, lf.params, p.flops_per_param_token, fl.at);
  fit::check_budgets(fl.compute);
  for (double l : fl.losses) {
    if (!std::isfinite(l)) throw FlagError("--losses", fmt::format("expected finite loss levels, found {}", l));
  }
  std::vector<fit::Allocation> rows;
  for (double c : fl.compute) rows.push_back(fit::optimal_allocation(p, c));
  std::string isoflop, isoloss;
  if (!fl.isoflop_out.empty()) {
    std::vector<std::vector<fit::CurvePoint>> curves;
    for (double c : fl.compute) curves.push_back(fit::isoflop_curve(p, c));
    isoflop = fit::isoflop_csv(curves, lf.law->response);
  }
  if (!fl.isoloss_out.empty()) {
    if (fl.losses.empty()) throw FlagError("--isoloss-out", "expected --losses L1,L2,... with --isoloss-out");
    const double n_lo = rows.front().n / 100, n_hi = rows.back().n * 100;
    isoloss = lf.law->response + ",N,D,compute\n";
    for (double l : fl.losses) {
      const auto curve = fit::isoloss_curve(p, l, n_lo, n_hi);
      if (curve.empty()) {
        throw FlagError("--losses", fmt::format("expected a loss the law reaches for N between {:.4g} and {:.4g}, found "
                                                "{} (no point of the iso-loss curve reaches it)",
                                                n_lo, n_hi, l));
      }
      for (const auto& q : curve) isoloss += fmt::format("{:.17g},{:.17g},{:.17g},{:.17g}\n", l, q.n, q.d, q.compute);
    }
  }
  std::ostringstream os;
  if (fmt == Format::kJson) {
    json arr = json::array();
    for (const auto& a : rows)
      arr.push_back({{"compute", a.compute}, {"N", a.n}, {"D", a.d}, {"tokens_per_param", a.tokens_per_param}, {lf.law->response, a.loss}});
    os << json{{"context", context("optimal")}, {"result", fl.result}, {"law", lf.law->name},
               {"flops_per_param_token", p.flops_per_param_token}, {"allocations", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
       << "\n";
  } else if (fmt == Format::kCsv) {
    os << fit::allocations_csv(rows, lf.law->response);
  } else {
    os << lf.law->name << " law from " << fl.result << "; " << k_source << "\n";
    Table t;
    t.header = {"compute (FLOP)", "N_opt", "D_opt", "tokens/param", lf.law->response};
    t.right.assign(5, true);
    for (const auto& a : rows) t.rows.push_back({g(a.compute, 4), g(a.n, 4), g(a.d, 4), g(a.tokens_per_param, 4), g(a.loss, 6)});
    t.print(os);
  }
  if (!fl.isoflop_out.empty()) stage_file(fl.isoflop_out, isoflop, "--isoflop-out");
  if (!fl.isoloss_out.empty()) stage_file(fl.isoloss_out, isoloss, "--isoloss-out");
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
