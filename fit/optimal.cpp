#include "fit/optimal.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "common/error.h"
#include "common/flag_values.h"
#include "fit/fitter.h"

namespace fathom::fit {

namespace {

std::string fmt_num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

struct Eval {
  const AllocationProblem& p;
  size_t in, id;
  std::vector<double> x;
  explicit Eval(const AllocationProblem& pr)
      : p(pr), in(pr.law->variable_index("N")), id(pr.law->variable_index("D")), x(pr.law->variables.size(), 0) {
    size_t o = 0;
    for (size_t v = 0; v < x.size(); ++v)
      if (v != in && v != id) x[v] = p.others[o++];
  }
  double loss(double n, double d) {
    x[in] = n;
    x[id] = d;
    return predict(*p.law, p.params, x);
  }
};

}  // namespace

void check_allocation(const AllocationProblem& p) {
  const Law& law = *p.law;
  if (law.variable_index("N") == law.variables.size() || law.variable_index("D") == law.variables.size()) {
    throw FlagError("optimal", "expected a law of N (parameters) and D (tokens), found the " + law.name +
                                   " law of " + [&] {
                                     std::string s;
                                     for (size_t i = 0; i < law.variables.size(); ++i) s += (i ? ", " : "") + law.variables[i];
                                     return s;
                                   }());
  }
  if (p.others.size() + 2 != law.variables.size())
    throw FlagError("--at", "expected a value for every variable of the law other than N and D");
  if (!(p.flops_per_param_token > 0 && std::isfinite(p.flops_per_param_token)))
    throw FlagError("--flops-per-param-token", "expected a positive number");
}

AllocationProblem make_allocation_problem(const Law& law, const std::vector<double>& params, double k,
                                          const std::vector<std::string>& at) {
  AllocationProblem p;
  p.law = &law;
  p.params = params;
  p.flops_per_param_token = k;
  if (law.variable_index("N") == law.variables.size() || law.variable_index("D") == law.variables.size())
    check_allocation(p);  // the error naming the law's variables
  for (const auto& name : law.variables) {
    if (name == "N" || name == "D") continue;
    bool found = false;
    for (const auto& s : at) {
      const auto [n, val] = split_assign(s, "--at", "VALUE");
      if (n == name) {
        p.others.push_back(parse_number(val, "--at"));
        found = true;
      }
    }
    if (!found) throw FlagError("--at", "expected --at " + name + "=VALUE for the " + law.name + " law's variable " + name);
  }
  check_allocation(p);
  return p;
}

void check_budgets(const std::vector<double>& compute) {
  if (compute.empty()) throw FlagError("--compute", "expected at least one compute budget in FLOPs");
  for (double c : compute) {
    if (!std::isfinite(c) || !(c > 0)) throw FlagError("--compute", fmt::format("expected positive, finite FLOPs, found {}", c));
  }
}

double scan_golden_minimum(const std::function<double(double)>& f, double lo, double hi, int points, double tolerance) {
  const int m = points;
  int best = 0;
  double fb = f(lo);
  for (int i = 1; i <= m; ++i) {
    const double v = f(lo + (hi - lo) * i / m);
    if (v < fb) {
      fb = v;
      best = i;
    }
  }
  double a = lo + (hi - lo) * std::max(0, best - 1) / m, b = lo + (hi - lo) * std::min(m, best + 1) / m;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = f(c), fd = f(d);
  while (b - a > tolerance) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

Allocation optimal_allocation(const AllocationProblem& p, double compute) {
  check_allocation(p);
  if (!(compute > 0 && std::isfinite(compute)))
    throw FlagError("--compute", "expected a positive compute in FLOPs, found " + fmt_num(compute));
  Eval ev(p);
  const double k = p.flops_per_param_token;
  const double lo = std::log(10.0), hi = std::log(compute / (10 * k));
  if (!(hi > lo))
    throw FlagError("--compute", "expected a compute of at least " + fmt_num(100 * k) + " FLOPs (10 parameters, 10 tokens), found " +
                                     fmt_num(compute));
  auto f = [&](double t) {
    const double n = std::exp(t);
    const double v = ev.loss(n, compute / (k * n));
    return std::isfinite(v) ? v : std::numeric_limits<double>::infinity();
  };
  const double t = scan_golden_minimum(f, lo, hi);
  Allocation r;
  r.compute = compute;
  r.n = std::exp(t);
  r.d = compute / (k * r.n);
  r.tokens_per_param = r.d / r.n;
  r.loss = ev.loss(r.n, r.d);
  return r;
}

std::vector<CurvePoint> isoflop_curve(const AllocationProblem& p, double compute, int points, double span) {
  const Allocation opt = optimal_allocation(p, compute);
  Eval ev(p);
  std::vector<CurvePoint> out;
  for (int i = 0; i < points; ++i) {
    const double t = points == 1 ? 0.0 : -1.0 + 2.0 * i / (points - 1);
    const double n = opt.n * std::pow(span, t);
    const double d = compute / (p.flops_per_param_token * n);
    out.push_back({compute, n, d, ev.loss(n, d)});
  }
  return out;
}

std::vector<CurvePoint> isoloss_curve(const AllocationProblem& p, double loss, double n_low, double n_high,
                                      int points) {
  check_allocation(p);
  if (!(n_low > 0 && n_high > n_low)) throw FlagError("--n-range", "expected 0 < N_low < N_high");
  Eval ev(p);
  std::vector<CurvePoint> out;
  for (int i = 0; i < points; ++i) {
    const double n = n_low * std::pow(n_high / n_low, points == 1 ? 0.0 : static_cast<double>(i) / (points - 1));
    double a = 0, b = std::log(1e30);
    if (!(ev.loss(n, std::exp(b)) < loss)) continue;  // not reachable at this N
    if (ev.loss(n, 1.0) < loss) continue;            // reached with no data: outside the law's range
    for (int it = 0; it < 200 && b - a > 1e-13; ++it) {
      const double mid = 0.5 * (a + b);
      (ev.loss(n, std::exp(mid)) < loss ? b : a) = mid;
    }
    const double d = std::exp(0.5 * (a + b));
    out.push_back({p.flops_per_param_token * n * d, n, d, ev.loss(n, d)});
  }
  return out;
}

std::string allocations_csv(const std::vector<Allocation>& rows, const std::string& response) {
  std::string s = "compute,N,D,tokens_per_param," + response + "\n";
  for (const auto& a : rows)
    s += fmt::format("{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", a.compute, a.n, a.d, a.tokens_per_param, a.loss);
  return s;
}

std::string isoflop_csv(const std::vector<std::vector<CurvePoint>>& curves, const std::string& response) {
  std::string s = "compute,N,D,tokens_per_param," + response + "\n";
  for (const auto& curve : curves)
    for (const auto& q : curve) s += fmt::format("{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", q.compute, q.n, q.d, q.d / q.n, q.loss);
  return s;
}

}  // namespace fathom::fit
