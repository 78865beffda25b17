#include "fit/curve.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "common/error.h"
#include "fit/result.h"

namespace fathom::fit {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

std::vector<double> point_residuals(const Law& law, const std::vector<double>& params, Space space,
                                    const Dataset& data) {
  std::vector<double> r(data.size(), kNaN);
  std::vector<double> x(law.variables.size());
  for (size_t i = 0; i < data.size(); ++i) {
    for (size_t v = 0; v < x.size(); ++v) x[v] = data.x[v][i];
    const double f = predict(law, params, x), y = data.y[i];
    if (!std::isfinite(f)) continue;
    if (space == Space::Log) {
      if (f > 0 && y > 0) r[i] = std::log(f) - std::log(y);
    } else {
      r[i] = f - y;
    }
  }
  return r;
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) throw FlagError("--level", "expected a probability in (0, 1)");
  // Acklam's rational approximation (relative error 1.15e-9), as the start for Newton.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425;
  double z;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - lo) {
    const double q = p - 0.5, r = q * q;
    z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    z = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // Newton on Φ(z) − p, Φ(z) = erfc(−z/√2)/2, Φ'(z) = e^(−z²/2)/√(2π).
  for (int i = 0; i < 4; ++i) {
    const double e = 0.5 * std::erfc(-z / std::sqrt(2.0)) - p;
    const double step = e * std::sqrt(2 * M_PI) * std::exp(0.5 * z * z);
    z -= step;
    if (std::abs(step) <= 1e-15 * std::max(1.0, std::abs(z))) break;
  }
  return z;
}

std::vector<BandPoint> fitted_curve(const FittedLaw& fit, const std::vector<double>& axis,
                                    const std::vector<std::vector<double>>& vars, int samples, double level) {
  FATHOM_CHECK(fit.law != nullptr);
  const size_t nv = fit.law->variables.size();
  FATHOM_CHECK(vars.size() == nv);
  for (const auto& v : vars) FATHOM_CHECK(v.size() == axis.size());
  if (axis.empty() || samples < 1) return {};
  bool log_axis = true;
  for (double a : axis) log_axis = log_axis && a > 0 && std::isfinite(a);
  std::vector<bool> log_var(nv, true);
  for (size_t v = 0; v < nv; ++v)
    for (double x : vars[v]) log_var[v] = log_var[v] && x > 0;
  auto fwd = [](bool lg, double x) { return lg ? std::log(x) : x; };
  auto back = [](bool lg, double x) { return lg ? std::exp(x) : x; };

  // Points merged by axis value, in axis order; variables in their (log) space.
  std::map<double, std::pair<std::vector<double>, int>> merged;
  double axis_min = kNaN, axis_max = kNaN;
  for (size_t i = 0; i < axis.size(); ++i) {
    if (!std::isfinite(axis[i])) continue;
    if (!(axis[i] >= axis_min)) axis_min = axis[i];
    if (!(axis[i] <= axis_max)) axis_max = axis[i];
    auto& m = merged[fwd(log_axis, axis[i])];
    if (m.first.empty()) m.first.assign(nv, 0);
    for (size_t v = 0; v < nv; ++v) m.first[v] += fwd(log_var[v], vars[v][i]);
    ++m.second;
  }
  if (merged.empty()) return {};
  std::vector<double> at;
  std::vector<std::vector<double>> value;
  for (auto& [a, m] : merged) {
    at.push_back(a);
    for (auto& x : m.first) x /= m.second;
    value.push_back(m.first);
  }
  const double z = fit.covariance.empty() ? kNaN : normal_quantile(0.5 * (1 + level));
  const int n = at.size() == 1 ? 1 : samples;
  std::vector<BandPoint> out;
  for (int s = 0; s < n; ++s) {
    const double t = n == 1 ? at.front() : at.front() + (at.back() - at.front()) * s / (n - 1);
    const size_t hi = std::min<size_t>(at.size() - 1, static_cast<size_t>(
                                                          std::upper_bound(at.begin(), at.end(), t) - at.begin()));
    const size_t lo = hi == 0 ? 0 : hi - 1;
    const double w = at[hi] == at[lo] ? 0 : (t - at[lo]) / (at[hi] - at[lo]);
    BandPoint b;
    // The ends exactly as given (exp(log x) is not always x).
    b.axis = s == 0 ? axis_min : s == n - 1 ? axis_max : back(log_axis, t);
    for (size_t v = 0; v < nv; ++v) b.variables.push_back(back(log_var[v], value[lo][v] + w * (value[hi][v] - value[lo][v])));
    const Prediction p = predict_with_error(*fit.law, fit.params, fit.free, fit.covariance, b.variables);
    b.value = p.value;
    b.low = b.high = kNaN;
    if (std::isfinite(z) && std::isfinite(p.std_error)) {
      if (fit.space == Space::Log && p.value > 0) {
        b.low = p.value * std::exp(-z * p.std_error / p.value);
        b.high = p.value * std::exp(z * p.std_error / p.value);
      } else {
        b.low = p.value - z * p.std_error;
        b.high = p.value + z * p.std_error;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace fathom::fit
