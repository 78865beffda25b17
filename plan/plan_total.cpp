#include "plan/plan_total.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "fit/fitter.h"
#include "fit/optimal.h"
#include "sim/model/params.h"
#include "sim/model/sized_model.h"

namespace fathom::plan {

namespace {

constexpr double kInfCost = std::numeric_limits<double>::infinity();
constexpr double kMaxTokens = 1e30;  // D beyond this counts as "the loss cannot be reached"

std::vector<double> point_x(const TotalSpec& s, double n, double d) {
  const fit::Law& l = *s.law;
  std::vector<double> x(l.variables.size(), 0);
  size_t o = 0;
  for (size_t v = 0; v < x.size(); ++v) {
    if (l.variables[v] == "N") {
      x[v] = n;
    } else if (l.variables[v] == "D") {
      x[v] = d;
    } else {
      x[v] = s.others.at(o++);
    }
  }
  return x;
}

// The D with L(N, D) = ℓ (the law falls with D), by bisection in log D; +inf when even 1e30
// tokens do not reach ℓ.
double tokens_for_loss(const TotalSpec& s, double n) {
  if (!(total_loss(s, n, kMaxTokens) < s.target_loss)) return kInfCost;
  double lo = 0, hi = std::log(kMaxTokens);
  if (total_loss(s, n, 1) <= s.target_loss) return 1;
  for (int i = 0; i < 200 && hi - lo > 1e-14; ++i) {
    const double mid = (lo + hi) / 2;
    (total_loss(s, n, std::exp(mid)) > s.target_loss ? lo : hi) = mid;
  }
  return std::exp((lo + hi) / 2);
}

// (training cost, inference cost) of N parameters trained on D tokens.
using CostFn = std::function<std::pair<double, double>(double n, double d)>;

TotalPoint evaluate(const TotalSpec& s, const CostFn& cost, const std::string& label, double n) {
  TotalPoint p;
  p.label = label;
  p.n = n;
  p.d = tokens_for_loss(s, n);
  p.loss = std::isfinite(p.d) ? total_loss(s, n, p.d) : std::nan("");
  if (std::isfinite(p.d)) {
    std::tie(p.train, p.inference) = cost(n, p.d);
  } else {
    p.train = p.inference = kInfCost;
  }
  return p;
}

// The N in [n_lo, n_hi] of least total cost: a 400-point scan in log N, then golden section on
// the best bracket to a relative 1e-12 in N.
TotalPoint minimise(const TotalSpec& s, const CostFn& cost, const std::string& label, double n_lo, double n_hi) {
  const double lo = std::log(n_lo), hi = std::log(n_hi);
  auto f = [&](double t) {
    const TotalPoint p = evaluate(s, cost, label, std::exp(t));
    return std::isfinite(p.total()) ? p.total() : kInfCost;
  };
  double t = fit::scan_golden_minimum(f, lo, hi);
  if (f(lo) <= f(t)) t = lo;
  if (f(hi) < f(t)) t = hi;
  return evaluate(s, cost, label, std::exp(t));
}

// Piecewise-linear interpolation in (log N, log y) over the grid (linear in y where a y ≤ 0).
double interpolate(const std::vector<double>& log_n, const std::vector<double>& y, double n) {
  const double t = std::log(n);
  size_t i = 1;
  while (i + 1 < log_n.size() && t > log_n[i]) ++i;
  const double w = (t - log_n[i - 1]) / (log_n[i] - log_n[i - 1]);
  if (y[i - 1] > 0 && y[i] > 0) return std::exp(std::log(y[i - 1]) + w * (std::log(y[i]) - std::log(y[i - 1])));
  return y[i - 1] + w * (y[i] - y[i - 1]);
}

void check_cancel(const PlanOptions& o) {
  if (o.cancel != nullptr && o.cancel->load()) throw Cancelled("plan total: cancelled while pricing the model grid");
}

}  // namespace

std::string to_string(TotalCostKind k) { return k == TotalCostKind::kFlops ? "flops" : "usd"; }

TotalCostKind parse_total_cost(const std::string& text, const std::string& flag) {
  if (text == "flops") return TotalCostKind::kFlops;
  if (text == "usd") return TotalCostKind::kUsd;
  throw FlagError(flag, "expected flops or usd, found '" + text + "'");
}

double total_loss(const TotalSpec& s, double n, double d) { return fit::predict(*s.law, s.params, point_x(s, n, d)); }

double chinchilla_tokens(const TotalSpec& s, double n) {
  // At a training-compute-optimal (N, D), moving along 6·N·D = C changes nothing to first order:
  // ∂L/∂ln N = ∂L/∂ln D. g(ln D) = ∂L/∂ln N − ∂L/∂ln D falls through zero as D grows.
  const double h = 1e-5;  // central differences: truncation ~h², rounding ~1e-16/h
  auto g = [&](double t) {
    const double d = std::exp(t);
    const double dn = total_loss(s, n * std::exp(h), d) - total_loss(s, n * std::exp(-h), d);
    const double dd = total_loss(s, n, d * std::exp(h)) - total_loss(s, n, d * std::exp(-h));
    return dn - dd;
  };
  double lo = std::log(n) - std::log(1e6), hi = std::log(n) + std::log(1e8);
  if (!(g(lo) > 0 && g(hi) < 0))
    throw ConfigError(s.law_source, fmt::format("the {} law has no Chinchilla-style token count for {:.4g} parameters "
                                                "between 1e-6 and 1e8 tokens per parameter",
                                                s.law->name, n));
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    const double mid = (lo + hi) / 2;
    (g(mid) > 0 ? lo : hi) = mid;
  }
  return std::exp((lo + hi) / 2);
}

TotalResult solve_total(const TotalSpec& s, const TotalCostModel& cost, const PlanOptions& o) {
  TotalResult r;
  // Smallest N that reaches ℓ with 1e30 tokens: bisection in log N over [1, 1e16].
  if (!(total_loss(s, 1e16, kMaxTokens) < s.target_loss))
    throw ConfigError(s.target_where.empty() ? s.law_source : s.target_where,
                      fmt::format("target loss {:.6g} is below what the {} law reaches with 1e16 parameters "
                                  "and 1e30 tokens",
                                  s.target_loss, s.law->name));
  double lo = 0, hi = std::log(1e16);
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    const double mid = (lo + hi) / 2;
    (total_loss(s, std::exp(mid), kMaxTokens) < s.target_loss ? hi : lo) = mid;
  }
  r.n_min = std::exp(hi);

  const double dinf = s.demand.total_tokens();
  const CostFn train_only = [](double n, double d) { return std::pair{6 * n * d, 0.0}; };
  const CostFn flops = [dinf](double n, double d) { return std::pair{6 * n * d, 2 * n * dinf}; };
  // The Chinchilla-optimal point: least training FLOPs for ℓ. Searched up to 1e16 parameters.
  r.chinchilla = minimise(s, train_only, "chinchilla_optimal", r.n_min * (1 + 1e-9), 1e16);
  const double n_hi = r.chinchilla.n * 10;
  TotalPoint flops_opt = minimise(s, flops, "lifetime_optimal", r.n_min * (1 + 1e-9), n_hi);

  CostFn objective = flops;
  double search_lo = r.n_min * (1 + 1e-9), search_hi = n_hi;
  if (cost.kind == TotalCostKind::kUsd) {
    if (!cost.training_usd || !cost.serving_usd)
      throw ConfigError(s.name, "plan total --cost usd: expected both price callbacks");  // a caller bug, named by plan
    // The grid: from a quarter of the smaller of the FLOP-optimal and Chinchilla N (never below
    // 1.05 × the least N that reaches ℓ, nor below the 1e9 where sized_model starts) to twice the Chinchilla N.
    const double g_lo = std::max({r.n_min * 1.05, std::min(flops_opt.n, r.chinchilla.n) / 4, 1e9});
    const double g_hi = std::min(r.chinchilla.n * 2, 1e13);
    if (!(g_hi > g_lo * 1.01))
      throw ConfigError(
          s.target_where.empty() ? s.name : s.target_where,
          fmt::format("plan total: the target's model sizes ({:.4g} to {:.4g} parameters) are outside what "
                      "sized_model builds (1e9 to 1e13)",
                      g_lo, g_hi));
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < s.grid_points; ++i) {
      check_cancel(o);
      const double want = std::exp(std::log(g_lo) + (std::log(g_hi) - std::log(g_lo)) * i / (s.grid_points - 1));
      GridPoint gp;
      gp.model = model::sized_model(s.family, want);
      gp.n = model::count_params(gp.model).total;
      if (!r.grid.empty() && gp.n <= r.grid.back().n * 1.001) continue;
      gp.train_usd_per_token = cost.training_usd(gp.model, 1e12) / 1e12;
      gp.serving = cost.serving_usd(gp.model);
      r.grid.push_back(std::move(gp));
      if (o.on_progress) {
        const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        o.on_progress({"price", i + 1, s.grid_points, el});
      }
    }
    if (r.grid.size() < 3) throw ConfigError(s.name, "plan total: fewer than 3 distinct model sizes in the price grid");
    std::vector<double> log_n, tr, in, out;
    for (const auto& gp : r.grid) {
      log_n.push_back(std::log(gp.n));
      tr.push_back(gp.train_usd_per_token);
      in.push_back(gp.serving.usd_per_input_token);
      out.push_back(gp.serving.usd_per_output_token);
    }
    const double t_in = s.demand.input_tokens(), t_out = s.demand.output_tokens();
    objective = [=](double n, double d) {
      return std::pair{interpolate(log_n, tr, n) * d,
                       interpolate(log_n, in, n) * t_in + interpolate(log_n, out, n) * t_out};
    };
    search_lo = std::max(r.grid.front().n, r.n_min * (1 + 1e-9));
    search_hi = r.grid.back().n;
  }
  r.optimum = minimise(s, objective, "lifetime_optimal", search_lo, search_hi);
  if (cost.kind == TotalCostKind::kUsd) {
    r.at_grid_edge = r.optimum.n <= search_lo * (1 + 1e-6) || r.optimum.n >= search_hi * (1 - 1e-6);
    const double n_ch = std::clamp(r.chinchilla.n, search_lo, search_hi);
    r.chinchilla = evaluate(s, objective, "chinchilla_optimal", n_ch);
    r.others.push_back(evaluate(s, objective, "flops_optimal", std::clamp(flops_opt.n, search_lo, search_hi)));
  } else {
    r.chinchilla = evaluate(s, objective, "chinchilla_optimal", r.chinchilla.n);
  }
  for (double k : {0.5, std::sqrt(0.5), std::sqrt(2.0), 2.0}) {
    const double n = r.optimum.n * k;
    if (n < search_lo || n > search_hi) continue;
    r.others.push_back(evaluate(s, objective, fmt::format("optimum_n_x{:.2g}", k), n));
  }
  return r;
}

PlanReport plan_total(const TotalSpec& s, const TotalCostModel& cost, const PlanOptions& o) {
  const TotalResult r = solve_total(s, cost, o);
  const bool usd = cost.kind == TotalCostKind::kUsd;
  const std::string unit = usd ? "usd" : "flops";
  auto row = [&](const TotalPoint& p) {
    PlanRow w;
    w.cells.emplace_back("point", p.label);
    if (usd) {
      const model::ModelSpec m = model::sized_model(s.family, p.n);
      w.cells.emplace_back("shape", fmt::format("L{} d{} ffn{}", m.layers, m.hidden_size, m.ffn.hidden));
    }
    w.cells.emplace_back("n_params", p.n);
    w.cells.emplace_back("train_tokens", p.d);
    w.cells.emplace_back("tokens_per_param", p.d / p.n);
    w.cells.emplace_back(usd ? "train_usd" : "train_flops", p.train);
    w.cells.emplace_back(usd ? "serving_usd" : "inference_flops", p.inference);
    w.cells.emplace_back("total_" + unit, p.total());
    if (usd) w.cells.emplace_back("train_flops", 6 * p.n * p.d);
    w.cells.emplace_back("loss", p.loss);
    w.cells.emplace_back("saving_vs_chinchilla_pct", 100 * (1 - p.total() / r.chinchilla.total()));
    return w;
  };
  PlanReport rep;
  rep.kind = "total";
  rep.name = s.name;
  PlanSection ranked{
      "ranked", "Lifetime cost at loss " + fmt::format("{:.6g}", s.target_loss) + ", cheapest first", {}};
  std::vector<TotalPoint> pts{r.optimum, r.chinchilla};
  pts.insert(pts.end(), r.others.begin(), r.others.end());
  std::stable_sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.total() < b.total(); });
  for (const auto& p : pts) ranked.rows.push_back(row(p));
  rep.sections.push_back(std::move(ranked));
  rep.sections.push_back(
      {"chinchilla", "Chinchilla-optimal point (least training FLOPs for the same loss)", {row(r.chinchilla)}});
  if (usd) {
    PlanSection grid{"grid", "Model sizes priced (interpolated in log N between them)", {}};
    for (const auto& g : r.grid) {
      PlanRow w;
      w.cells.emplace_back("model", g.model.name);
      w.cells.emplace_back("shape",
                           fmt::format("L{} d{} ffn{}", g.model.layers, g.model.hidden_size, g.model.ffn.hidden));
      w.cells.emplace_back("n_params", g.n);
      w.cells.emplace_back("train_usd_per_m_tokens", g.train_usd_per_token * 1e6);
      w.cells.emplace_back("usd_per_m_input_tokens", g.serving.usd_per_input_token * 1e6);
      w.cells.emplace_back("usd_per_m_output_tokens", g.serving.usd_per_output_token * 1e6);
      w.cells.emplace_back("serving_gpus", static_cast<double>(g.serving.gpus));
      w.cells.emplace_back("decode_batch", g.serving.batch);
      w.cells.emplace_back("basis", g.serving.basis);
      grid.rows.push_back(std::move(w));
    }
    rep.sections.push_back(std::move(grid));
  }
  const fit::Law& l = *s.law;
  std::string consts;
  for (size_t i = 0; i < l.params.size(); ++i)
    consts += fmt::format("{}{}={:.6g}", i ? ", " : "", l.params[i].name, s.params[i]);
  const std::vector<double> derived = l.derived_values(s.params.data());
  for (size_t i = 0; i < derived.size() && i < l.derived.size(); ++i)
    consts += fmt::format(", {}={:.6g}", l.derived[i].name, derived[i]);
  rep.notes.push_back(fmt::format("law: {} ({}), {}; source: {}", l.name, l.formula, consts, s.law_source));
  rep.notes.push_back("target: " + s.target_source);
  if (s.demand.requests > 0) {
    rep.notes.push_back(fmt::format(
        "inference demand: {:.4g} requests x ({:g} input + {:g} output) tokens = {:.4g} tokens", s.demand.requests,
        s.demand.input_per_request, s.demand.output_per_request, s.demand.total_tokens()));
  } else {
    rep.notes.push_back(fmt::format("inference demand: {:.4g} tokens{}", s.demand.tokens,
                                    usd ? " (priced as generated tokens; give requests to price prompts apart)" : ""));
  }
  if (usd) {
    rep.notes.push_back("cost: training usd + serving usd (" + cost.basis + "), interpolated in log N over " +
                        std::to_string(r.grid.size()) + " " + s.family + "-shaped sizes");
    const TotalPoint& fo = r.others.front();
    rep.notes.push_back(
        fmt::format("with these prices the optimum has {:.3g}x the parameters of the FLOP-optimal point "
                    "({:.4g} vs {:.4g}) and costs {:.2f}% less than it",
                    r.optimum.n / fo.n, r.optimum.n, fo.n, 100 * (1 - r.optimum.total() / fo.total())));
    if (r.at_grid_edge)
      rep.notes.push_back("the optimum is at the end of the priced grid: the true optimum may lie beyond it");
  } else {
    rep.notes.push_back(
        "cost: 6 N D training FLOPs + 2 N D_inf inference FLOPs (Sardana et al. 2024, arXiv:2401.00448, eq. 3)");
  }
  return rep;
}

}  // namespace fathom::plan
