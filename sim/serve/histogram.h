#pragma once
// Streaming latency summaries for the serving simulator: a run of 100,000,000 requests (and
// billions of inter-token gaps) is summarised in memory that does not grow with the run.
// Method and error bound: docs/metrics.md, "Latency distributions".
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace fathom::serve {

// Mean, nearest-rank percentiles and maximum of a latency, in seconds.
struct Percentiles {
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
  int64_t count = 0;
};

// A log-bucketed histogram of non-negative values in nanoseconds. A value x ≥ 1 ns falls in
// the bucket given by its binary exponent and the top 10 bits of its mantissa, i.e.
// [2^e·(1 + m/1024), 2^e·(1 + (m+1)/1024)): 1024 buckets per power of two, each at most
// 2^-10 ≈ 0.098% of its lower edge wide, found without a logarithm. Values below 1 ns share one
// bucket. A percentile is the midpoint of the bucket that holds the nearest-rank value, clamped
// to [min, max], so it is within 2^-11 ≈ 0.049% of the exact nearest-rank value (within 1 ns
// below 1 ns). Count, minimum and maximum are exact; the mean is a compensated (Neumaier) sum,
// exact to the rounding of a double. Octaves are allocated when first used (8 KiB each, at
// most 64). Deterministic: the result depends only on the values and their order of addition.
class LogHistogram {
 public:
  static constexpr int kMantissaBits = 10;
  static constexpr int kBucketsPerOctave = 1 << kMantissaBits;
  static constexpr int kOctaves = 64;

  LogHistogram() : octaves_(kOctaves) {}

  // Adds `count` values of `ns` (≥ 0). Inline: the engine adds one per emission gap.
  void add(double ns, int64_t count = 1) {
    FATHOM_CHECK(ns >= 0 && count >= 1);
    if (n_ == 0) {
      min_ = max_ = ns;
    } else {
      min_ = ns < min_ ? ns : min_;
      max_ = ns > max_ ? ns : max_;
    }
    n_ += count;
    sum(ns * static_cast<double>(count));
    if (ns < 1.0) {
      below_one_ += count;
      return;
    }
    uint64_t bits;
    std::memcpy(&bits, &ns, sizeof bits);
    const uint64_t exponent = (bits >> 52) - 1023;  // ns ≥ 1: 0..1023
    auto& octave = octaves_[exponent < kOctaves ? exponent : kOctaves - 1];
    if (octave.empty()) octave.resize(kBucketsPerOctave, 0);
    octave[(bits >> (52 - kMantissaBits)) & (kBucketsPerOctave - 1)] += count;
  }
  int64_t count() const { return n_; }
  double mean_ns() const { return n_ > 0 ? (sum_ + compensation_) / static_cast<double>(n_) : 0.0; }
  double max_ns() const { return max_; }
  double min_ns() const { return min_; }
  // Value (ns) of nearest rank ⌈f·n⌉, within the bound above; 0 when empty.
  double quantile_ns(double f) const;
  // The summary in seconds.
  Percentiles summary() const;

 private:
  // Neumaier's compensated summation: the low-order part lost by each addition is carried.
  void sum(double x) {
    const double t = sum_ + x;
    compensation_ += std::fabs(sum_) >= std::fabs(x) ? (sum_ - t) + x : (x - t) + sum_;
    sum_ = t;
  }
  std::vector<std::vector<int64_t>> octaves_;  // [exponent][top mantissa bits]; empty until used
  int64_t below_one_ = 0;                       // values in [0, 1) ns
  int64_t n_ = 0;
  double sum_ = 0, compensation_ = 0;
  double min_ = 0, max_ = 0;
};

}  // namespace fathom::serve
