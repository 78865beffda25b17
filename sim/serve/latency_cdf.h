#pragma once
// Latency distributions of a serving run streamed from ServeOptions::on_request_done (or read
// back from the requests CSV), in the memory of three histograms whatever the number of
// requests: the same log-bucketed histograms and per-request definitions the simulator's
// summaries use (result.cpp; docs/metrics.md), so that a distribution's percentiles are the
// run's own (exactly, for the same requests), and its CDF is drawn within 0.049% of each value.
#include <cstdint>
#include <vector>

#include "sim/serve/histogram.h"
#include "sim/serve/simulator.h"

namespace fathom::serve {

// One request's latencies in nanoseconds, as ServeResult's summaries count them: TTFT = first
// token − arrival, TPOT = (finish − first token) / (output − 1), only for output > 1 (else
// tpot_ns < 0), E2E = finish − arrival, queueing = first scheduled − arrival.
struct RequestLatencies {
  double ttft_ns = 0, tpot_ns = -1, e2e_ns = 0, queueing_ns = 0;
};
RequestLatencies request_latencies(const RequestRecord& r);

class LatencyDistributions {
 public:
  void add(const RequestRecord& r) { add(request_latencies(r)); }
  void add(const RequestLatencies& l);
  const LogHistogram& ttft() const { return ttft_; }
  const LogHistogram& tpot() const { return tpot_; }
  const LogHistogram& e2e() const { return e2e_; }
  const LogHistogram& queueing() const { return queueing_; }

 private:
  LogHistogram ttft_, tpot_, e2e_, queueing_;
};

// The empirical CDF of `h`: (value in seconds, fraction of values at or below it) at the
// nearest-rank quantiles of fractions 1/points, 2/points, ..., 1 and of the tail fractions
// 0.995, 0.999 and 0.9999, in increasing order. Empty when `h` is.
struct CdfPoint {
  double value_s = 0;
  double fraction = 0;
};
std::vector<CdfPoint> cdf(const LogHistogram& h, int points = 200);

}  // namespace fathom::serve
