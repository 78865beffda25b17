// Resampling around a fit: the nonparametric bootstrap of the parameters and derived quantities,
// and the held-out extrapolation check (docs/fitting.md, "Uncertainty").
#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "common/error.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "fit/fitter.h"
#include "fit/residuals.h"

namespace fathom::fit {

using detail::kNaN;
using detail::num;
using detail::Outcome;
using detail::Residuals;
using detail::solve;

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
