#include "fit/power_law.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"

namespace fathom::fit {

// Synthetic recovery: points drawn from known parameters with 0.1% noise are refitted to
// within 1% (noise level × condition of the problem).
TEST(PowerLaw, RecoversKnownParameters) {
  const double c = 1.69, a = 406.4, alpha = 0.34;  // the shape of Chinchilla's N term
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1e-3);
  std::vector<double> x, y;
  for (double n = 1e7; n < 1e11; n *= 1.6) {
    x.push_back(n);
    y.push_back((c + a * std::pow(n, -alpha)) * (1 + noise(rng)));
  }
  PowerLawFit f = fit_power_law(x, y, 1.0, 100.0, 0.3);
  EXPECT_TRUE(f.converged) << f.message;
  EXPECT_NEAR(f.c / c, 1.0, 0.01);
  EXPECT_NEAR(f.alpha / alpha, 1.0, 0.02);
  EXPECT_LT(f.rmse, 5e-3);
}

TEST(PowerLaw, TooFewPointsIsAnInputError) {
  EXPECT_THROW(fit_power_law({1, 2, 3}, {1, 2, 3}), InputError);
  EXPECT_THROW(fit_power_law({1, 2, -3, 4}, {1, 2, 3, 4}), InputError);
}

}  // namespace fathom::fit
