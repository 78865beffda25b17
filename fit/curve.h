#pragma once
// A fitted law drawn against its data: the residual of each point in the fit's space, and the
// fitted curve with a pointwise confidence band along any axis through a group of points (loss
// against N for one D, or along an iso-FLOP run). Used by the GUI's Scaling laws page and
// `fathom-plot fit`; the numbers are the law's (predict) and the delta method's
// (predict_with_error), nothing else.
#include <vector>

#include "fit/fitter.h"
#include "fit/law.h"

namespace fathom::fit {

// r_i = f(p; x_i) − y_i (data space) or log f(p; x_i) − log y_i (log space): the residuals the
// fitter minimised (before the robust loss). NaN where the law is not finite or, in log space,
// not positive.
std::vector<double> point_residuals(const Law& law, const std::vector<double>& params, Space space,
                                    const Dataset& data);

// The quantile z of the standard normal distribution, Φ(z) = p, for p in (0, 1): Newton's method
// on erfc from Acklam's rational start, to a relative 1e-15 (Φ⁻¹(0.975) = 1.959963984540054).
double normal_quantile(double p);

struct BandPoint {
  double axis = 0;                // the plot's x
  std::vector<double> variables;  // the law's variables there
  double value = 0;               // f(p; variables)
  double low = 0, high = 0;       // the band at the level (NaN when there is no covariance)
};

// The fitted law and its covariance (FitResult's, or LoadedFit's).
struct FittedLaw {
  const Law* law = nullptr;
  std::vector<double> params;
  std::vector<bool> free;
  std::vector<double> covariance;  // free × free; empty: no band
  Space space = Space::Data;       // of the fit: the band's shape
};

// The law along `axis` through a group of points: axis[i] is point i's value on the plot's x axis
// and vars[v][i] its law variable v. `samples` axis values are spread over [min, max] of the
// group's axis (evenly in log when every axis value is positive, else evenly), and each variable
// is interpolated between the two group points that bracket the sample, linearly in log axis and
// log variable where both are positive (a variable constant in the group stays constant; on an
// iso-FLOP run, D = C/(kN) is followed exactly), else linearly. Points at the same axis value are
// merged by the geometric (or arithmetic) mean of their variables. The band is
// f ± z·se with se from the delta method (predict_with_error) and z = normal_quantile((1 + level)/2);
// in log space it is f·exp(±z·se/f), the same interval on log f, which the covariance describes.
std::vector<BandPoint> fitted_curve(const FittedLaw& fit, const std::vector<double>& axis,
                                    const std::vector<std::vector<double>>& vars, int samples, double level);

}  // namespace fathom::fit
