#pragma once
// Streaming latency summaries for the serving simulator: a run of 100,000,000 requests (and
// billions of inter-token gaps) is summarised in memory that does not grow with the run.
// Method and error bound: docs/metrics.md, "Latency distributions".
#include <algorithm>
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
// the bucket given by its binary exponent and the top `Bits` bits of its mantissa, i.e.
// [2^e·(1 + m/2^Bits), 2^e·(1 + (m+1)/2^Bits)): 2^Bits buckets per power of two, each at most
// 2^-Bits of its lower edge wide, found without a logarithm. Values below 1 ns share one
// bucket. A percentile is the midpoint of the bucket that holds the nearest-rank value, clamped
// to [min, max], so it is within 2^-(Bits+1) of the exact nearest-rank value (within 1 ns below
// 1 ns): 0.049% for LogHistogram (10 bits), 0.39% for SectionHistogram (7 bits). Count, minimum
// and maximum are exact; the mean is a compensated (Neumaier) sum, exact to the rounding of a
// double. Octaves are allocated when first used (2^Bits · 8 bytes each, at most 64).
// Deterministic: the result depends only on the values and their order of addition.
template <int Bits>
class BasicLogHistogram {
 public:
  static constexpr int kMantissaBits = Bits;
  static constexpr int kBucketsPerOctave = 1 << kMantissaBits;
  static constexpr int kOctaves = 64;

  BasicLogHistogram() : octaves_(kOctaves) {}

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
  // Adds every value of `o`, as if each had been added here (the sums add compensated).
  void merge(const BasicLogHistogram& o) {
    if (o.n_ == 0) return;
    if (n_ == 0) {
      min_ = o.min_;
      max_ = o.max_;
    } else {
      min_ = std::min(min_, o.min_);
      max_ = std::max(max_, o.max_);
    }
    n_ += o.n_;
    sum(o.sum_);
    sum(o.compensation_);
    below_one_ += o.below_one_;
    for (size_t e = 0; e < octaves_.size(); ++e) {
      const auto& src = o.octaves_[e];
      if (src.empty()) continue;
      auto& dst = octaves_[e];
      if (dst.empty()) dst.resize(kBucketsPerOctave, 0);
      for (size_t m = 0; m < src.size(); ++m) dst[m] += src[m];
    }
  }
  int64_t count() const { return n_; }
  double mean_ns() const { return n_ > 0 ? (sum_ + compensation_) / static_cast<double>(n_) : 0.0; }
  double max_ns() const { return max_; }
  double min_ns() const { return min_; }
  // Value (ns) of nearest rank ⌈f·n⌉, within the bound above; 0 when empty.
  double quantile_ns(double f) const {
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
  // The summary in seconds.
  Percentiles summary() const {
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

// The run's summaries: 1024 buckets per octave (8 KiB), percentiles within 0.049%.
using LogHistogram = BasicLogHistogram<10>;
// The measurement window's sections (window.h), up to 3 × 128 of them at once: 128 buckets per
// octave (1 KiB), percentiles within 0.39%.
using SectionHistogram = BasicLogHistogram<7>;

extern template class BasicLogHistogram<10>;
extern template class BasicLogHistogram<7>;

}  // namespace fathom::serve
