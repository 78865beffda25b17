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

namespace fathom::fit {

namespace {

constexpr int kChunk = 8;  // derivatives carried per Jet pass
const double kNaN = std::numeric_limits<double>::quiet_NaN();

void quiet_ceres() {
  // Ceres logs line-search notes through glog; a fitter that prints nothing unless asked.
  static std::once_flag once;
  std::call_once(once, [] { FLAGS_minloglevel = 3; });  // FATAL only: failures are reported as results
}

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// ρ(r) and ρ'(r) of the loss (see law.h).
double rho(const Loss& l, double r, double* d) {
  switch (l.kind) {
    case LossKind::None:
      if (d) *d = r;
      return 0.5 * r * r;
    case LossKind::Huber: {
      const double a = std::abs(r), delta = l.scale;
      if (a <= delta) {
        if (d) *d = r;
        return 0.5 * r * r;
      }
      if (d) *d = r > 0 ? delta : -delta;
      return delta * (a - 0.5 * delta);
    }
    case LossKind::Cauchy: {
      const double c2 = l.scale * l.scale, q = 1 + r * r / c2;
      if (d) *d = r / q;
      return 0.5 * c2 * std::log(q);
    }
  }
  return 0;
}

// The residuals of one problem: data with logarithms precomputed, the free parameters and the
// values of the fixed ones.
class Residuals {
 public:
  Residuals(const Law& law, const Dataset& data, const Options& o) : law_(law), o_(o), n_(data.size()) {
    const size_t nv = law.variables.size();
    xs_.resize(n_ * nv);
    lxs_.resize(n_ * nv);
    for (size_t i = 0; i < n_; ++i) {
      for (size_t v = 0; v < nv; ++v) {
        const double x = data.x[v][i];
        xs_[i * nv + v] = x;
        lxs_[i * nv + v] = x > 0 ? std::log(x) : kNaN;
      }
    }
    ys_ = data.y;
    if (o.space == Space::Log)
      for (double& y : ys_) y = std::log(y);
    base_.assign(law.params.size(), 0);
    for (size_t j = 0; j < law.params.size(); ++j) {
      const auto it = o.fixed.find(law.params[j].name);
      if (it == o.fixed.end()) {
        free_.push_back(j);
      } else {
        base_[j] = it->second;
      }
    }
  }

  size_t n() const { return n_; }
  size_t k() const { return free_.size(); }
  const std::vector<size_t>& free_index() const { return free_; }
  const Law& law() const { return law_; }
  const Options& options() const { return o_; }

  std::vector<double> full(const double* u) const {
    std::vector<double> p = base_;
    for (size_t j = 0; j < free_.size(); ++j) p[free_[j]] = u[j];
    return p;
  }
  std::vector<double> reduce(const std::vector<double>& p) const {
    std::vector<double> u(free_.size());
    for (size_t j = 0; j < free_.size(); ++j) u[j] = p[free_[j]];
    return u;
  }
  bool in_bounds(const double* u) const {
    for (size_t j = 0; j < free_.size(); ++j) {
      const ParamSpec& s = law_.params[free_[j]];
      if (!(u[j] >= s.lower && u[j] <= s.upper)) return false;
    }
    return true;
  }

  double residual(size_t i, const double* p) const {
    const size_t nv = law_.variables.size();
    const double* x = &xs_[i * nv];
    const double* lx = &lxs_[i * nv];
    const double f = o_.space == Space::Log ? law_.log_value(p, x, lx) : law_.value(p, x, lx);
    return f - ys_[i];
  }
  // Parameters as Jets carrying d/d u_j for the free parameters j in [c0, c0 + 8).
  void seed(const double* u, size_t c0, std::vector<Jet8>& p) const {
    p.resize(base_.size());
    for (size_t j = 0; j < base_.size(); ++j) p[j] = Jet8(base_[j]);
    for (size_t j = 0; j < free_.size(); ++j) {
      p[free_[j]] = Jet8(u[j]);
      if (j >= c0 && j < c0 + kChunk) p[free_[j]].v[static_cast<int>(j - c0)] = 1.0;
    }
  }
  Jet8 residual_jet(size_t i, const Jet8* p) const {
    const size_t nv = law_.variables.size();
    const double* x = &xs_[i * nv];
    const double* lx = &lxs_[i * nv];
    Jet8 f = o_.space == Space::Log ? law_.log_value(p, x, lx) : law_.value(p, x, lx);
    f.a -= ys_[i];
    return f;
  }

  // Σ ρ(r_i) and its gradient in u; false when not finite or outside the bounds.
  bool objective(const double* u, double* cost, double* grad) const {
    if (!in_bounds(u)) return false;
    const std::vector<double> p = full(u);
    double c = 0;
    if (!grad) {
      for (size_t i = 0; i < n_; ++i) c += rho(o_.loss, residual(i, p.data()), nullptr);
    } else {
      std::fill(grad, grad + k(), 0.0);
      std::vector<Jet8> pj;
      for (size_t c0 = 0; c0 < k(); c0 += kChunk) {
        seed(u, c0, pj);
        const size_t c1 = std::min(k(), c0 + kChunk);
        for (size_t i = 0; i < n_; ++i) {
          const Jet8 r = residual_jet(i, pj.data());
          double d = 0;
          const double v = rho(o_.loss, r.a, &d);
          if (c0 == 0) c += v;
          for (size_t j = c0; j < c1; ++j) grad[j] += d * r.v[static_cast<int>(j - c0)];
        }
      }
    }
    *cost = c;
    if (!std::isfinite(c)) return false;
    if (grad)
      for (size_t j = 0; j < k(); ++j)
        if (!std::isfinite(grad[j])) return false;
    return true;
  }

 private:
  const Law& law_;
  const Options& o_;
  size_t n_;
  std::vector<double> xs_, lxs_, ys_;
  std::vector<double> base_;
  std::vector<size_t> free_;
};

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

struct Outcome {
  std::vector<double> u;
  double objective = kNaN;
  std::string termination, message;
  bool converged = false;
  int iterations = 0;
};

Outcome solve(const Residuals& r, std::vector<double> u, bool screen = false) {
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

FitResult fit(const Law& law, const Dataset& data, const Options& o) {
  check_problem(law, data, o);
  const std::vector<std::vector<double>> starts = make_starts(law, o);
  if (starts.empty()) throw FlagError("--starts", "expected at least one start (the grid or random starts)");
  Residuals r(law, data, o);
  const bool screen = o.screen_tolerance > 0;
  std::vector<Outcome> outs(starts.size());
  parallel_for(starts.size(), o.threads, [&](size_t s) { outs[s] = solve(r, r.reduce(starts[s]), screen); });
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
    parallel_for(chosen.size(), o.threads, [&](size_t c) { polished[c] = solve(r, outs[chosen[c]].u, false); });
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

namespace {
Interval interval(std::vector<double> v, double level) {
  Interval iv;
  if (v.empty()) return {kNaN, kNaN, kNaN, kNaN};
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    const double pos = p * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  iv.low = q(0.5 * (1 - level));
  iv.high = q(1 - 0.5 * (1 - level));
  iv.median = q(0.5);
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  iv.sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0;
  return iv;
}
}  // namespace

BootstrapResult bootstrap(const Law& law, const Dataset& data, const Options& o, const FitResult& best,
                          int resamples, double level, const BootstrapControl& control) {
  if (resamples < 1) throw FlagError("--bootstrap", "expected at least 1 resample, found " + std::to_string(resamples));
  if (!(level > 0 && level < 1)) throw FlagError("--level", "expected a level in (0, 1), found " + num(level));
  check_problem(law, data, o);
  const size_t n = data.size();
  std::vector<std::vector<double>> params(static_cast<size_t>(resamples));
  std::vector<std::vector<double>> derived(static_cast<size_t>(resamples));
  std::vector<char> ok(static_cast<size_t>(resamples), 0), converged(static_cast<size_t>(resamples), 0);
  auto refit = [&](size_t s) {
    Rng rng(o.seed, 0xB0075ULL + s);
    std::vector<size_t> rows(n);
    for (auto& i : rows) i = static_cast<size_t>(rng.below(n));
    const Dataset sub = data.subset(rows);
    Residuals r(law, sub, o);
    const Outcome out = solve(r, r.reduce(best.params));
    if (!std::isfinite(out.objective) || out.termination == "FAILURE") return;
    params[s] = r.full(out.u.data());
    derived[s] = law.derived_values(params[s].data());
    ok[s] = 1;
    converged[s] = out.converged ? 1 : 0;
  };
  // Progress under a lock, so that calls never overlap and `done` only rises; every 1% or so.
  const int64_t total = resamples;
  const int64_t step = std::max<int64_t>(1, total / 100);
  std::mutex progress_mu;
  int64_t done = 0, reported = 0;
  std::atomic<bool> stopped{false};
  if (control.on_progress) control.on_progress(0, total);
  parallel_for(static_cast<size_t>(resamples), o.threads, [&](size_t s) {
    if (stopped.load(std::memory_order_relaxed)) return;
    if (control.cancel != nullptr && control.cancel->load(std::memory_order_relaxed)) {
      stopped = true;
      return;
    }
    refit(s);
    std::lock_guard<std::mutex> lock(progress_mu);
    ++done;
    if (control.on_progress && (done - reported >= step || done == total)) {
      reported = done;
      control.on_progress(done, total);
    }
  });
  if (stopped) {
    throw Cancelled("bootstrap: cancelled after " + std::to_string(done) + " of " + std::to_string(total) + " resamples");
  }
  BootstrapResult b;
  b.resamples = resamples;
  b.level = level;
  b.seed = o.seed;
  for (size_t j = 0; j < law.params.size(); ++j) {
    std::vector<double> v;
    for (size_t s = 0; s < params.size(); ++s)
      if (ok[s]) v.push_back(params[s][j]);
    b.params.push_back(interval(v, level));
  }
  for (size_t d = 0; d < law.derived.size(); ++d) {
    std::vector<double> v;
    for (size_t s = 0; s < derived.size(); ++s)
      if (ok[s] && d < derived[s].size()) v.push_back(derived[s][d]);
    b.derived.push_back(interval(v, level));
  }
  for (size_t s = 0; s < ok.size(); ++s) {
    b.failed += ok[s] ? 0 : 1;
    b.not_converged += ok[s] && !converged[s] ? 1 : 0;
  }
  return b;
}

ExtrapolationResult extrapolate(const Law& law, const Dataset& data, const Options& o, size_t variable,
                                double fraction) {
  if (variable >= law.variables.size()) throw FlagError("--extrapolate", "expected a variable of the law");
  if (!(fraction > 0 && fraction < 1))
    throw FlagError("--extrapolate", "expected a fraction in (0, 1), found " + num(fraction));
  std::vector<double> xs = data.x[variable];
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  size_t cut = static_cast<size_t>(std::floor(static_cast<double>(n) * (1 - fraction)));
  cut = std::min(cut, n - 1);
  ExtrapolationResult e;
  e.variable = law.variables[variable];
  e.threshold = xs[cut];
  std::vector<size_t> train, test;
  for (size_t i = 0; i < n; ++i) (data.x[variable][i] >= e.threshold ? test : train).push_back(i);
  if (train.empty() || test.empty())
    throw FlagError("--extrapolate", "expected points on both sides of " + e.variable + " = " + num(e.threshold));
  e.fitted = train.size();
  e.fit = fit(law, data.subset(train), o);
  double sum = 0;
  for (size_t i : test) {
    ExtrapolationPoint p;
    for (size_t v = 0; v < law.variables.size(); ++v) p.x.push_back(data.x[v][i]);
    p.y = data.y[i];
    p.predicted = predict(law, e.fit.params, p.x);
    p.error = p.predicted / p.y - 1;
    sum += std::abs(p.error);
    e.max_abs_error = std::max(e.max_abs_error, std::abs(p.error));
    e.held_out.push_back(p);
  }
  e.mean_abs_error = sum / static_cast<double>(test.size());
  return e;
}

}  // namespace fathom::fit
