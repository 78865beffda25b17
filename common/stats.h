#pragma once
// Order statistics of a sample, with linear interpolation between order statistics (the q-th
// quantile of sorted x_0..x_{n-1} is at position q·(n−1)); the median of an even count is the
// mean of the middle two. NaN for an empty sample.
#include <vector>

namespace fathom {

double quantile(std::vector<double> v, double q);
inline double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

}  // namespace fathom
