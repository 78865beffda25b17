#pragma once
// The first law of the fitting module: a power law with an offset, y = c + a · x^(−alpha),
// fitted by nonlinear least squares (Ceres, automatic derivatives) in the data's space. Used
// for efficiency-versus-size curves (e.g. GEMM efficiency against K) and, in the fitting issue,
// joined by the scaling-law catalog. Only this file's .cpp includes Ceres.
#include <string>
#include <vector>

namespace fathom::fit {

struct PowerLawFit {
  double c = 0, a = 0, alpha = 0;
  double rmse = 0;
  bool converged = false;
  std::string message;  // Ceres termination message
  double predict(double x) const;
};

// Requires x > 0 and at least 4 points; throws fathom::InputError otherwise.
PowerLawFit fit_power_law(const std::vector<double>& x, const std::vector<double>& y, double c0 = 0,
                          double a0 = 1, double alpha0 = 0.5);

}  // namespace fathom::fit
