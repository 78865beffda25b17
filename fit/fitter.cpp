#include "fit/fitter.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>

#include <ceres/ceres.h>
#include <glog/logging.h>

#include "common/error.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "fit/jet_math.h"
#include "fit/residuals.h"

namespace fathom::fit {

using detail::kChunk;
using detail::kNaN;
using detail::num;
using detail::Outcome;
using detail::Residuals;
using detail::solve;

namespace {

void quiet_ceres() {
  // Ceres logs line-search notes through glog; a fitter that prints nothing unless asked.
  static std::once_flag once;
  std::call_once(once, [] { FLAGS_minloglevel = 3; });  // FATAL only: failures are reported as results
}

// Residuals [first, first + count) as one Ceres block over the free parameters.
class Block : public ceres::CostFunction {
 public:
  Block(const Residuals& r, size_t first, size_t count) : r_(r), first_(first), count_(count) {
    set_num_residuals(static_cast<int>(count));
    mutable_parameter_block_sizes()->push_back(static_cast<int>(r.k()));
  }
  bool Evaluate(double const* const* params, double* residuals, double** jacobians) const override {
    const double* u = params[0];
    const size_t k = r_.k();
    if (!jacobians || !jacobians[0]) {
      const std::vector<double> p = r_.full(u);
      for (size_t i = 0; i < count_; ++i) {
        residuals[i] = r_.residual(first_ + i, p.data());
        if (!std::isfinite(residuals[i])) return false;
      }
      return true;
    }
    std::vector<Jet8> pj;
    for (size_t c0 = 0; c0 < k; c0 += kChunk) {
      r_.seed(u, c0, pj);
      const size_t c1 = std::min(k, c0 + kChunk);
      for (size_t i = 0; i < count_; ++i) {
        const Jet8 f = r_.residual_jet(first_ + i, pj.data());
        if (c0 == 0) {
          residuals[i] = f.a;
          if (!std::isfinite(f.a)) return false;
        }
        for (size_t j = c0; j < c1; ++j) {
          const double d = f.v[static_cast<int>(j - c0)];
          if (!std::isfinite(d)) return false;
          jacobians[0][i * k + j] = d;
        }
      }
    }
    return true;
  }

 private:
  const Residuals& r_;
  size_t first_, count_;
};

class Objective : public ceres::FirstOrderFunction {
 public:
  explicit Objective(const Residuals& r) : r_(r) {}
  bool Evaluate(const double* u, double* cost, double* grad) const override { return r_.objective(u, cost, grad); }
  int NumParameters() const override { return static_cast<int>(r_.k()); }

 private:
  const Residuals& r_;
};

ceres::LossFunction* make_loss(const Loss& l) {
  switch (l.kind) {
    case LossKind::Huber:
      return new ceres::HuberLoss(l.scale);
    case LossKind::Cauchy:
      return new ceres::CauchyLoss(l.scale);
    case LossKind::None:
      break;
  }
  return nullptr;
}

std::string termination_name(ceres::TerminationType t) { return ceres::TerminationTypeToString(t); }

}  // namespace

Outcome detail::solve(const Residuals& r, std::vector<double> u, bool screen) {
  quiet_ceres();
  const Options& o = r.options();
  const double ftol = screen ? o.screen_tolerance : o.function_tolerance;
  const double ptol = screen ? o.screen_tolerance : o.parameter_tolerance;
  // The same stopping rules for both of Ceres' solvers.
  auto stopping = [&](auto& so) {
    so.function_tolerance = ftol;
    so.gradient_tolerance = o.gradient_tolerance;
    so.parameter_tolerance = ptol;
    so.max_num_iterations = o.max_iterations;
    so.logging_type = ceres::SILENT;
  };
  Outcome out;
  // Starts outside the bounds are moved onto them.
  for (size_t j = 0; j < r.k(); ++j) {
    const ParamSpec& s = r.law().params[r.free_index()[j]];
    u[j] = std::clamp(u[j], s.lower, s.upper);
  }
  if (r.k() == 0) {
    out.u = u;
    double c = 0;
    out.objective = r.objective(u.data(), &c, nullptr) ? c : kNaN;
    out.termination = "CONVERGENCE";
    out.message = "no free parameters";
    out.converged = std::isfinite(out.objective);
    return out;
  }
  if (o.method == Method::Lbfgs) {
    ceres::GradientProblem problem(new Objective(r));
    ceres::GradientProblemSolver::Options so;
    so.line_search_direction_type = ceres::LBFGS;
    stopping(so);
    ceres::GradientProblemSolver::Summary sum;
    ceres::Solve(so, problem, u.data(), &sum);
    out.termination = termination_name(sum.termination_type);
    out.message = sum.message;
    out.converged = sum.termination_type == ceres::CONVERGENCE;
    out.iterations = static_cast<int>(sum.iterations.size());
  } else {
    ceres::Problem::Options po;
    po.cost_function_ownership = ceres::TAKE_OWNERSHIP;
    po.loss_function_ownership = ceres::TAKE_OWNERSHIP;
    ceres::Problem problem(po);
    if (o.loss.kind == LossKind::None) {
      problem.AddResidualBlock(new Block(r, 0, r.n()), nullptr, u.data());
    } else {
      for (size_t i = 0; i < r.n(); ++i) problem.AddResidualBlock(new Block(r, i, 1), make_loss(o.loss), u.data());
    }
    for (size_t j = 0; j < r.k(); ++j) {
      const ParamSpec& s = r.law().params[r.free_index()[j]];
      if (std::isfinite(s.lower)) problem.SetParameterLowerBound(u.data(), static_cast<int>(j), s.lower);
      if (std::isfinite(s.upper)) problem.SetParameterUpperBound(u.data(), static_cast<int>(j), s.upper);
    }
    ceres::Solver::Options so;
    so.linear_solver_type = ceres::DENSE_QR;
    stopping(so);
    so.num_threads = 1;
    ceres::Solver::Summary sum;
    ceres::Solve(so, &problem, &sum);
    out.termination = termination_name(sum.termination_type);
    out.message = sum.message;
    out.converged = sum.termination_type == ceres::CONVERGENCE;
    out.iterations = static_cast<int>(sum.iterations.size());
  }
  out.u = u;
  double c = 0;
  out.objective = r.objective(u.data(), &c, nullptr) ? c : kNaN;
  return out;
}

// Covariance of the free parameters at u: s²·(JᵀJ)⁻¹ of the unweighted residuals of the fit's
// space, s² = Σ r²/(n − k) (the asymptotic least-squares covariance; for robust losses an
// approximation, so the bootstrap is the interval to quote).
namespace {

void covariance(const Residuals& r, const std::vector<double>& u_in, FitResult& res) {
  const size_t k = r.k(), n = r.n();
  if (k == 0) return;
  std::vector<double> u = u_in;
  ceres::Problem::Options po;
  po.cost_function_ownership = ceres::TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  problem.AddResidualBlock(new Block(r, 0, n), nullptr, u.data());
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.null_space_rank = -1;
  co.min_reciprocal_condition_number = 1e-14;
  co.num_threads = 1;
  ceres::Covariance cov(co);
  std::vector<std::pair<const double*, const double*>> blocks = {{u.data(), u.data()}};
  if (!cov.Compute(blocks, &problem)) {
    res.covariance_note = "the Jacobian is rank-deficient at the optimum: standard errors unavailable";
    return;
  }
  std::vector<double> c(k * k);
  cov.GetCovarianceBlock(u.data(), u.data(), c.data());
  const std::vector<double> p = r.full(u.data());
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = r.residual(i, p.data());
    ss += e * e;
  }
  const double s2 = ss / static_cast<double>(n - k);
  for (double& v : c) v *= s2;
  res.covariance = c;
  for (size_t j = 0; j < k; ++j) res.std_error[r.free_index()[j]] = std::sqrt(std::max(0.0, c[j * k + j]));
  for (size_t j = 0; j < k; ++j) {
    const ParamSpec& s = r.law().params[r.free_index()[j]];
    if (!(c[j * k + j] > 0)) {
      res.std_error[r.free_index()[j]] = kNaN;
      res.covariance_note += (res.covariance_note.empty() ? "" : "; ") + std::string("'") + s.name +
                             "' does not change the fit at the optimum (a flat direction): not identified by these data";
    }
    if (u[j] <= s.lower || u[j] >= s.upper) {
      res.covariance_note += (res.covariance_note.empty() ? "" : "; ") + std::string("'") + s.name +
                             "' is at its bound, so its standard error is not meaningful";
    }
  }
}

FitResult finish(const Residuals& r, const Outcome& best, const Dataset& data) {
  FitResult res;
  res.params = r.full(best.u.data());
  res.free.assign(res.params.size(), false);
  for (size_t j : r.free_index()) res.free[j] = true;
  res.objective = best.objective;
  res.termination = best.termination;
  res.message = best.message;
  res.converged = best.converged;
  res.iterations = best.iterations;
  res.std_error.assign(res.params.size(), kNaN);
  res.derived = r.law().derived_values(res.params.data());
  res.metrics = metrics(r.law(), data, r.options(), res.params);
  return res;
}

}  // namespace

Dataset Dataset::subset(const std::vector<size_t>& rows) const {
  Dataset d;
  d.source = source;
  d.x.resize(x.size());
  for (size_t i : rows) {
    for (size_t v = 0; v < x.size(); ++v) d.x[v].push_back(x[v][i]);
    d.y.push_back(y[i]);
    d.lines.push_back(i < lines.size() ? lines[i] : 0);
  }
  return d;
}

Options default_options(const Law& law) {
  Options o;
  o.space = law.space;
  o.loss = law.loss;
  o.method = law.method;
  return o;
}

std::vector<std::vector<double>> make_starts(const Law& law, const Options& o) {
  std::vector<double> base(law.params.size(), 0);
  std::vector<size_t> free;
  for (size_t j = 0; j < law.params.size(); ++j) {
    const auto it = o.fixed.find(law.params[j].name);
    if (it != o.fixed.end()) {
      base[j] = it->second;
    } else {
      free.push_back(j);
    }
  }
  std::vector<std::vector<double>> starts;
  if (o.grid) {
    size_t total = 1;
    for (size_t j : free) total *= std::max<size_t>(1, law.params[j].grid.size());
    for (size_t s = 0; s < total; ++s) {
      std::vector<double> p = base;
      size_t rest = s;
      // The last parameter varies fastest.
      for (size_t q = free.size(); q-- > 0;) {
        const auto& g = law.params[free[q]].grid;
        const size_t m = std::max<size_t>(1, g.size());
        p[free[q]] = g.empty() ? 0.5 * (law.params[free[q]].start_low + law.params[free[q]].start_high) : g[rest % m];
        rest /= m;
      }
      starts.push_back(std::move(p));
    }
  }
  for (int s = 0; s < o.random_starts; ++s) {
    Rng rng(o.seed, 0x5157A27ULL + static_cast<uint64_t>(s));
    std::vector<double> p = base;
    for (size_t j : free) {
      const ParamSpec& ps = law.params[j];
      p[j] = ps.start_low + (ps.start_high - ps.start_low) * rng.uniform();
    }
    starts.push_back(std::move(p));
  }
  return starts;
}

void check_problem(const Law& law, const Dataset& data, const Options& o) {
  for (const auto& [name, v] : o.fixed) {
    if (law.param_index(name) == law.params.size()) {
      std::vector<std::string> names;
      for (const auto& p : law.params) names.push_back(p.name);
      std::string list;
      for (size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
      throw FlagError("--fix", "expected a parameter of " + law.name + " (" + list + "), found '" + name + "'");
    }
    if (!std::isfinite(v)) throw FlagError("--fix", "expected a finite value for '" + name + "'");
  }
  auto where = [&](size_t i) {
    return data.source + (i < data.lines.size() && data.lines[i] > 0 ? ":" + std::to_string(data.lines[i]) : "");
  };
  for (size_t i = 0; i < data.size(); ++i) {
    for (size_t v = 0; v < law.variables.size(); ++v) {
      const double x = data.x[v][i];
      if (!std::isfinite(x)) throw InputError(where(i), "'" + law.variables[v] + "': expected a finite number, found " + num(x));
      if (law.positive_variables[v] && !(x > 0)) {
        throw InputError(where(i), "'" + law.variables[v] + "': expected a positive value (the " + law.name +
                                       " law takes its logarithm), found " + num(x));
      }
    }
    const double y = data.y[i];
    if (!std::isfinite(y)) throw InputError(where(i), "'" + law.response + "': expected a finite number, found " + num(y));
    if (o.space == Space::Log && !(y > 0)) {
      throw InputError(where(i), "'" + law.response + "': expected a positive value (log-space residuals take its "
                                 "logarithm), found " + num(y));
    }
  }
  const size_t k = law.params.size() - o.fixed.size();
  if (data.size() < k + 1) {
    throw InputError(data.source, "expected at least " + std::to_string(k + 1) + " points to fit " +
                                      std::to_string(k) + " free parameters, found " + std::to_string(data.size()));
  }
  if (o.loss.kind != LossKind::None && !(o.loss.scale > 0 && std::isfinite(o.loss.scale)))
    throw FlagError("--loss", "expected a positive loss scale, found " + num(o.loss.scale));
}

FitResult fit_from(const Law& law, const Dataset& data, const Options& o, const std::vector<double>& start) {
  check_problem(law, data, o);
  Residuals r(law, data, o);
  const Outcome out = solve(r, r.reduce(start));
  FitResult res = finish(r, out, data);
  res.starts = 1;
  res.starts_at_best = 1;
  res.start_objectives = {out.objective};
  return res;
}

FitResult fit(const Law& law, const Dataset& data, const Options& o, const FitControl& control) {
  check_problem(law, data, o);
  const std::vector<std::vector<double>> starts = make_starts(law, o);
  if (starts.empty()) throw FlagError("--starts", "expected at least one start (the grid or random starts)");
  Residuals r(law, data, o);
  const bool screen = o.screen_tolerance > 0;
  std::vector<Outcome> outs(starts.size());
  // Progress under a lock, so that calls never overlap and `done` only rises; every 1% or so.
  const int64_t total = static_cast<int64_t>(starts.size());
  const int64_t step = std::max<int64_t>(1, total / 100);
  std::mutex progress_mu;
  int64_t done = 0, reported = 0;
  std::atomic<bool> stopped{false};
  auto cancelled = [&] {
    if (stopped.load(std::memory_order_relaxed)) return true;
    if (control.cancel != nullptr && control.cancel->load(std::memory_order_relaxed)) stopped = true;
    return stopped.load(std::memory_order_relaxed);
  };
  auto stop_if_cancelled = [&](const char* phase) {
    if (stopped) {
      throw Cancelled("fit: cancelled " + std::string(phase) + " after " + std::to_string(done) + " of " +
                      std::to_string(total) + " starts");
    }
  };
  if (control.on_progress) control.on_progress(0, total);
  parallel_for(starts.size(), o.threads, [&](size_t s) {
    if (cancelled()) return;
    outs[s] = solve(r, r.reduce(starts[s]), screen);
    std::lock_guard<std::mutex> lock(progress_mu);
    ++done;
    // The last report waits for the polish.
    if (control.on_progress && done - reported >= step && done < total) {
      reported = done;
      control.on_progress(done, total);
    }
  });
  stop_if_cancelled("in the multi-start");
  // Starts ordered by their objective (failures last, ties by index).
  std::vector<size_t> order;
  for (size_t s = 0; s < outs.size(); ++s)
    if (std::isfinite(outs[s].objective)) order.push_back(s);
  if (order.empty()) {
    throw InputError(data.source, "expected the " + law.name + " law to be finite at some start, found no start "
                                  "where it is (check the columns, the space and the parameter grids)");
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return outs[a].objective < outs[b].objective; });
  std::vector<size_t> chosen;
  size_t polished_count = 0;
  if (!screen) {
    chosen = {order[0]};
  } else {
    for (size_t s : order) {
      if (static_cast<int>(chosen.size()) >= std::max(1, o.polish)) break;
      bool distinct = true;
      for (size_t c : chosen)
        if (std::abs(outs[s].objective - outs[c].objective) <= 1e-7 * std::abs(outs[c].objective)) distinct = false;
      if (distinct) chosen.push_back(s);
    }
    polished_count = chosen.size();
    std::vector<Outcome> polished(chosen.size());
    parallel_for(chosen.size(), o.threads, [&](size_t c) {
      if (cancelled()) return;
      polished[c] = solve(r, outs[chosen[c]].u, false);
    });
    stop_if_cancelled("in the polish");
    for (size_t c = 0; c < chosen.size(); ++c) {
      polished[c].iterations += outs[chosen[c]].iterations;
      // A polish never loses what the screen found.
      if (!(polished[c].objective <= outs[chosen[c]].objective)) polished[c] = outs[chosen[c]];
    }
    size_t win = 0;
    for (size_t c = 1; c < chosen.size(); ++c)
      if (polished[c].objective < polished[win].objective ||
          (polished[c].objective == polished[win].objective && chosen[c] < chosen[win]))
        win = c;
    std::swap(outs[chosen[win]], polished[win]);
    chosen = {chosen[win]};
  }
  const size_t best = chosen[0];
  FitResult res = finish(r, outs[best], data);
  res.starts = starts.size();
  res.best_start = best;
  res.polished = polished_count;
  for (const auto& out : outs) {
    res.start_objectives.push_back(out.objective);
    if (std::isfinite(out.objective) && out.objective <= outs[best].objective * (1 + 1e-6) + 1e-300) ++res.starts_at_best;
  }
  covariance(r, outs[best].u, res);
  if (control.on_progress) control.on_progress(total, total);
  return res;
}

double objective(const Law& law, const Dataset& data, const Options& o, const std::vector<double>& params) {
  Residuals r(law, data, o);
  double c = kNaN;
  const std::vector<double> u = r.reduce(params);
  if (!r.objective(u.data(), &c, nullptr)) return kNaN;
  return c;
}

double predict(const Law& law, const std::vector<double>& params, const std::vector<double>& x) {
  std::vector<double> lx(x.size());
  for (size_t v = 0; v < x.size(); ++v) lx[v] = x[v] > 0 ? std::log(x[v]) : kNaN;
  return law.value(params.data(), x.data(), lx.data());
}

Metrics metrics(const Law& law, const Dataset& data, const Options& o, const std::vector<double>& params) {
  Metrics m;
  m.n = data.size();
  m.k = law.params.size() - o.fixed.size();
  double ss = 0, ss_log = 0, ape = 0, ss_fit = 0;
  bool logs_ok = true;
  double mean = 0;
  for (double y : data.y) mean += y;
  mean /= static_cast<double>(std::max<size_t>(1, m.n));
  double ss_tot = 0;
  for (size_t i = 0; i < m.n; ++i) {
    std::vector<double> x(law.variables.size());
    for (size_t v = 0; v < x.size(); ++v) x[v] = data.x[v][i];
    const double f = predict(law, params, x), y = data.y[i];
    ss += (f - y) * (f - y);
    ss_tot += (y - mean) * (y - mean);
    ape += std::abs(f - y) / std::abs(y);
    if (f > 0 && y > 0) {
      ss_log += (std::log(f) - std::log(y)) * (std::log(f) - std::log(y));
    } else {
      logs_ok = false;
    }
  }
  ss_fit = o.space == Space::Log ? ss_log : ss;
  const double n = static_cast<double>(m.n), k = static_cast<double>(m.k);
  m.rmse = std::sqrt(ss / n);
  m.rmse_log = logs_ok ? std::sqrt(ss_log / n) : kNaN;
  m.mape = ape / n;
  m.r2 = ss_tot > 0 ? 1 - ss / ss_tot : kNaN;
  m.aic = n * std::log(ss_fit / n) + 2 * k;
  m.bic = n * std::log(ss_fit / n) + k * std::log(n);
  return m;
}

}  // namespace fathom::fit
