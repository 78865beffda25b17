#include "sim/serve/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace fathom::serve {

void LogHistogram::sum(double x) {
  // Neumaier's compensated summation: the lost low-order part of each addition is carried.
  const double t = sum_ + x;
  if (std::fabs(sum_) >= std::fabs(x)) {
    compensation_ += (sum_ - t) + x;
  } else {
    compensation_ += (x - t) + sum_;
  }
  sum_ = t;
}

void LogHistogram::add(double ns, int64_t count) {
  FATHOM_CHECK(ns >= 0 && count >= 1);
  if (n_ == 0) {
    min_ = max_ = ns;
  } else {
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }
  n_ += count;
  sum(ns * static_cast<double>(count));
  if (ns < 1.0) {
    below_one_ += count;
    return;
  }
  uint64_t bits;
  std::memcpy(&bits, &ns, sizeof bits);
  const uint64_t exponent = std::min<uint64_t>((bits >> 52) - 1023, kOctaves - 1);  // ns ≥ 1: 0..63
  auto& octave = octaves_[exponent];
  if (octave.empty()) octave.resize(kBucketsPerOctave, 0);
  octave[(bits >> (52 - kMantissaBits)) & (kBucketsPerOctave - 1)] += count;
}

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
