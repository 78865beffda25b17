#include "sim/serve/histogram.h"

#include <algorithm>
#include <cmath>

namespace fathom::serve {

double LogHistogram::quantile_ns(double f) const {
  if (n_ == 0) return 0;
  const auto target = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(f * static_cast<double>(n_))));
  int64_t seen = below_one_;
  if (seen >= target) return std::clamp(0.0, min_, max_);
  for (int e = 0; e < kOctaves; ++e) {
    const auto& octave = octaves_[static_cast<size_t>(e)];
    if (octave.empty()) continue;
    for (int m = 0; m < kBucketsPerOctave; ++m) {
      seen += octave[static_cast<size_t>(m)];
      if (seen >= target) {
        const double mid = std::ldexp(1.0 + (m + 0.5) / kBucketsPerOctave, e);
        return std::clamp(mid, min_, max_);
      }
    }
  }
  return max_;
}

Percentiles LogHistogram::summary() const {
  Percentiles p;
  p.count = n_;
  if (n_ == 0) return p;
  // Seconds as des::to_s gives them (ns / 10^9), so that an exact maximum prints as before.
  p.mean = mean_ns() / 1e9;
  p.max = max_ / 1e9;
  p.p50 = quantile_ns(0.50) / 1e9;
  p.p90 = quantile_ns(0.90) / 1e9;
  p.p95 = quantile_ns(0.95) / 1e9;
  p.p99 = quantile_ns(0.99) / 1e9;
  return p;
}

}  // namespace fathom::serve
