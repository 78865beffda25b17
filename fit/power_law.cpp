#include "fit/power_law.h"

#include <cmath>

#include <ceres/ceres.h>

#include "common/error.h"

namespace fathom::fit {

namespace {
struct Residual {
  double x, y;
  template <class T>
  bool operator()(const T* p, T* r) const {
    // p = (c, a, alpha)
    r[0] = p[0] + p[1] * ceres::pow(T(x), -p[2]) - T(y);
    return true;
  }
};
}  // namespace

double PowerLawFit::predict(double x) const { return c + a * std::pow(x, -alpha); }

PowerLawFit fit_power_law(const std::vector<double>& x, const std::vector<double>& y, double c0, double a0,
                          double alpha0) {
  if (x.size() != y.size()) throw InputError("fit", "expected as many x as y values");
  if (x.size() < 4) throw InputError("fit", "expected at least 4 points for 3 parameters, found " + std::to_string(x.size()));
  for (double v : x) {
    if (!(v > 0) || !std::isfinite(v)) throw InputError("fit", "expected positive x values, found " + std::to_string(v));
  }
  double p[3] = {c0, a0, alpha0};
  ceres::Problem problem;
  for (size_t i = 0; i < x.size(); ++i) {
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<Residual, 1, 3>(new Residual{x[i], y[i]}), nullptr, p);
  }
  ceres::Solver::Options opt;
  opt.linear_solver_type = ceres::DENSE_QR;
  opt.function_tolerance = 1e-15;
  opt.gradient_tolerance = 1e-15;
  opt.parameter_tolerance = 1e-14;
  opt.max_num_iterations = 500;
  ceres::Solver::Summary sum;
  ceres::Solve(opt, &problem, &sum);
  PowerLawFit f;
  f.c = p[0];
  f.a = p[1];
  f.alpha = p[2];
  f.converged = sum.termination_type == ceres::CONVERGENCE;
  f.message = sum.message;
  double ss = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = f.predict(x[i]) - y[i];
    ss += e * e;
  }
  f.rmse = std::sqrt(ss / static_cast<double>(x.size()));
  return f;
}

}  // namespace fathom::fit
