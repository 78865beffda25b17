// The inputs of `fathom fit` prepared into a law, its points and the engine's options
// (fit/problem.h). Moved here from cli/fit_cmd.cpp so that the GUI runs the same preparation.
#include "fit/problem.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "common/error.h"
#include "common/flag_values.h"
#include "common/suggest.h"
#include "fit/expr.h"

namespace fathom::fit {

namespace {

std::string g(double v, int digits = 6) { return fmt::format("{:.{}g}", v, digits); }

// The table of a CSV plus --column definitions: every column is a named vector of numbers, read
// only when used (so text columns elsewhere in the file do no harm).
class Columns {
 public:
  Columns(const CsvTable& t, const std::vector<std::string>& defs) : t_(t) {
    for (const auto& def : defs) {
      const auto [name, expr] = split_assign(def, "--column", "EXPRESSION");
      std::vector<std::string> names = known();
      const Expr e = Expr::parse(expr, names, "--column " + name);
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
  std::map<std::string, std::vector<double>> take_defined() { return std::move(defined_); }

 private:
  const CsvTable& t_;
  std::map<std::string, std::vector<double>> defined_, read_;
  std::vector<std::string> order_;
};

void apply_overrides(Law& law, const FitSpec& fl) {
  auto param = [&](const std::string& name, const std::string& flag) -> ParamSpec& {
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

void load_data(const CsvTable& t, const FitSpec& fl, Law& law, Columns& cols, FitProblem& out) {
  Dataset& d = out.data;
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
  out.rows = rows;
  std::vector<std::vector<double>> xv = d.x;
  law.scale_to_data(xv, d.y);
}

Options make_options(const Law& law, const FitSpec& fl) {
  Options o = default_options(law);
  if (!fl.space.empty()) o.space = parse_space(fl.space, "--space");
  if (!fl.loss.empty()) o.loss = parse_loss(fl.loss, "--loss");
  if (!fl.method.empty()) o.method = parse_method(fl.method, "--method");
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

size_t column_index(const FitProblem& p, const std::string& name, const std::string& flag) {
  if (!p.table.has_column(name)) {
    throw FlagError(flag, "expected a column of " + p.table.name() + " (" + join(p.columns) + "), found '" + name + "'" +
                              did_you_mean(name, p.columns));
  }
  return p.table.column(name);
}

}  // namespace

FitProblem prepare_fit(const FitSpec& spec) {
  if (spec.law.empty() == spec.formula.empty())
    throw FlagError("--law", "expected exactly one of --law NAME or --formula 'Y = EXPRESSION'");
  FitProblem p;
  p.table = CsvTable::load(spec.data);
  const CsvTable& table = p.table;
  if (table.rows() == 0) throw InputError(spec.data, "expected data rows after the header, found none");
  Columns cols(table, spec.columns);
  p.law = spec.law.empty() ? make_formula_law(spec.formula, cols.known(), spec.response, "--formula") : make_law(spec.law);
  apply_overrides(*p.law, spec);
  load_data(table, spec, *p.law, cols, p);
  // Overrides again: a user's grid wins over the one scaled to the data.
  apply_overrides(*p.law, spec);
  p.options = make_options(*p.law, spec);
  p.columns = cols.known();
  p.defined = cols.take_defined();
  return p;
}

std::vector<double> column_at_points(const FitProblem& p, const std::string& name, const std::string& flag) {
  std::vector<double> v;
  v.reserve(p.rows.size());
  if (auto it = p.defined.find(name); it != p.defined.end()) {
    for (size_t r : p.rows) v.push_back(it->second[r]);
    return v;
  }
  const size_t c = column_index(p, name, flag);
  for (size_t r : p.rows) v.push_back(p.table.number(r, c));
  return v;
}

std::vector<std::string> column_text_at_points(const FitProblem& p, const std::string& name, const std::string& flag) {
  std::vector<std::string> v;
  v.reserve(p.rows.size());
  if (auto it = p.defined.find(name); it != p.defined.end()) {
    for (size_t r : p.rows) v.push_back(g(it->second[r]));
    return v;
  }
  const size_t c = column_index(p, name, flag);
  for (size_t r : p.rows) v.push_back(p.table.cell(r, c));
  return v;
}

}  // namespace fathom::fit
