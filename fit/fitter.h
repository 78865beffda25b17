#pragma once
// The fitting engine: multi-start nonlinear least squares (Ceres trust region) or L-BFGS on a
// robust objective, exact derivatives from Jets, parameter covariance (ceres::Covariance),
// bootstrap intervals, goodness of fit and an extrapolation check. Starts and resamples run in
// parallel; each is deterministic and results are combined in index order, so the numbers are
// the same on any thread count.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fit/law.h"

namespace fathom::fit {

struct Dataset {
  std::string source;                  // file name, for errors
  std::vector<std::vector<double>> x;  // x[v][i]: law variable v at point i
  std::vector<double> y;
  std::vector<int> lines;  // file line of each point (0 when unknown)
  size_t size() const { return y.size(); }
  Dataset subset(const std::vector<size_t>& rows) const;
};

struct Options {
  Space space = Space::Data;
  Loss loss;
  Method method = Method::Lm;
  std::map<std::string, double> fixed;  // parameters held at a value
  bool grid = true;                     // the Cartesian product of the parameters' grids
  int random_starts = 0;                // uniform in each parameter's start range
  uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  // Two phases: every start runs with the looser `screen_tolerance` (function and parameter
  // tolerance), then the best `polish` starts that ended in different places (objectives apart
  // by a relative 1e-7) continue with the tight tolerances below; the best polished one wins.
  // screen_tolerance ≤ 0 runs every start with the tight tolerances.
  double screen_tolerance = 1e-6;
  int polish = 10;
  double function_tolerance = 1e-15;
  double gradient_tolerance = 1e-15;
  double parameter_tolerance = 1e-14;
  int max_iterations = 10000;
};
// The law's own procedure (space, loss, method) as options.
Options default_options(const Law& law);

struct Metrics {
  size_t n = 0, k = 0;  // points, free parameters
  double rmse = 0;      // of f − y
  double rmse_log = 0;  // of log f − log y (NaN when some value is not positive)
  double mape = 0;      // mean |f − y|/|y|
  double r2 = 0;        // 1 − SS_res/SS_tot, data space
  double aic = 0, bic = 0;  // Gaussian, on the residuals of the fit's space
};

struct FitResult {
  std::vector<double> params;  // every parameter, fixed ones included
  std::vector<bool> free;
  double objective = 0;  // Σ ρ(r_i)
  std::string termination;  // Ceres: CONVERGENCE, NO_CONVERGENCE, ...
  std::string message;
  bool converged = false;
  int iterations = 0;
  size_t starts = 0, best_start = 0;
  size_t starts_at_best = 0;  // starts that ended within a relative 1e-6 of the best (screened)
  size_t polished = 0;        // starts polished with the tight tolerances
  std::vector<double> start_objectives;  // by start index (NaN where the start failed)
  std::vector<double> std_error;         // per parameter; NaN for fixed or unavailable
  std::vector<double> covariance;        // free × free, row-major, empty when unavailable
  std::string covariance_note;
  std::vector<double> derived;
  Metrics metrics;
};

// Every start of `options`, in the order they are run: the grid first, then the random starts.
// Values are in the law's parameter order (fixed parameters at their fixed value).
std::vector<std::vector<double>> make_starts(const Law& law, const Options& options);

// Throws InputError (naming the file and line) when a point cannot be used: a value that is not
// finite, a non-positive value where the law or the space takes a logarithm, fewer points than
// free parameters + 1. Throws FlagError for an unknown fixed parameter.
void check_problem(const Law& law, const Dataset& data, const Options& options);

// Progress and cancellation of a multi-start fit, for a front end to draw and to stop it (the
// same contract as BootstrapControl below).
struct FitControl {
  // Called with (starts finished, starts) of the multi-start: once at the start with (0, starts),
  // after each further 1% or so, and once more with (starts, starts) when the polish of the best
  // few (typically a few percent of the time) has ended. One call at a time, `done` rising
  // monotonically, from the worker threads. Default: none.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Read (relaxed) before each start and each polish; once it is true no further one starts, and
  // the call throws fathom::Cancelled when those under way have finished (one solve each,
  // typically milliseconds). Must outlive the call. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};

FitResult fit(const Law& law, const Dataset& data, const Options& options, const FitControl& control = {});
// One start, no multi-start (used by the bootstrap and to show what a single start does).
FitResult fit_from(const Law& law, const Dataset& data, const Options& options, const std::vector<double>& start);

// The objective Σ ρ(r_i) at `params` (every parameter).
double objective(const Law& law, const Dataset& data, const Options& options, const std::vector<double>& params);
Metrics metrics(const Law& law, const Dataset& data, const Options& options, const std::vector<double>& params);
// f(p; x) at one point given as values of the law's variables.
double predict(const Law& law, const std::vector<double>& params, const std::vector<double>& x);

struct Interval {
  double low = 0, high = 0, median = 0, sd = 0;
};
struct BootstrapResult {
  int resamples = 0, failed = 0;
  int not_converged = 0;  // kept, but stopped at the iteration limit rather than a tolerance
  double level = 0.95;
  uint64_t seed = 1;
  std::vector<Interval> params;   // per parameter (fixed: the value, zero width)
  std::vector<Interval> derived;  // per derived quantity
};
// Progress and cancellation of a bootstrap, for a front end to draw and to stop it.
struct BootstrapControl {
  // Called with (resamples refitted, resamples): once at the start with (0, resamples), after
  // each further 1% or so, and once at the end with (resamples, resamples). Calls come from the
  // worker threads but one at a time, with `done` rising monotonically. Keep it cheap. Default: none.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Read (relaxed) before each resample; once it is true no further resample starts, and the
  // call throws fathom::Cancelled when those under way have finished (one refit each, typically
  // milliseconds). Must outlive the call. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};
// Resamples the points with replacement `resamples` times (resample r draws from the stream
// (seed, r)), refits each from the best parameters, and reports percentile intervals. The result
// is the same on any thread count and whether or not `control` has a callback.
BootstrapResult bootstrap(const Law& law, const Dataset& data, const Options& options, const FitResult& best,
                          int resamples, double level = 0.95, const BootstrapControl& control = {});

struct ExtrapolationPoint {
  std::vector<double> x;
  double y = 0, predicted = 0, error = 0;  // error = predicted/y − 1
};
struct ExtrapolationResult {
  std::string variable;
  double threshold = 0;  // points with variable ≥ threshold were held out
  size_t fitted = 0;
  FitResult fit;
  std::vector<ExtrapolationPoint> held_out;
  double mean_abs_error = 0, max_abs_error = 0;
};
// Fits the points whose `variable` is below its (1 − fraction) quantile, with the same starts,
// and reports the error on the held-out largest ones.
ExtrapolationResult extrapolate(const Law& law, const Dataset& data, const Options& options, size_t variable,
                                double fraction);

}  // namespace fathom::fit
