#include "sim/serve/latency_cdf.h"

#include <algorithm>

namespace fathom::serve {

RequestLatencies request_latencies(const RequestRecord& r) {
  RequestLatencies l;
  l.ttft_ns = static_cast<double>(r.first_token_ns - r.arrival_ns);
  l.e2e_ns = static_cast<double>(r.finish_ns - r.arrival_ns);
  l.queueing_ns = static_cast<double>(r.scheduled_ns - r.arrival_ns);
  if (r.output > 1) l.tpot_ns = static_cast<double>(r.finish_ns - r.first_token_ns) / (r.output - 1);
  return l;
}

void LatencyDistributions::add(const RequestLatencies& l) {
  ttft_.add(std::max(0.0, l.ttft_ns));
  e2e_.add(std::max(0.0, l.e2e_ns));
  queueing_.add(std::max(0.0, l.queueing_ns));
  if (l.tpot_ns >= 0) tpot_.add(l.tpot_ns);
}

std::vector<CdfPoint> cdf(const LogHistogram& h, int points) {
  std::vector<CdfPoint> out;
  if (h.count() == 0 || points < 1) return out;
  std::vector<double> fractions;
  for (int i = 1; i <= points; ++i) fractions.push_back(static_cast<double>(i) / points);
  for (double f : {0.995, 0.999, 0.9999}) fractions.push_back(f);
  std::sort(fractions.begin(), fractions.end());
  fractions.erase(std::unique(fractions.begin(), fractions.end()), fractions.end());
  out.reserve(fractions.size());
  for (double f : fractions) out.push_back({h.quantile_ns(f) / 1e9, f});
  return out;
}

}  // namespace fathom::serve
