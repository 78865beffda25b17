#include "sim/serve/metrics.h"

namespace fathom::serve {

int saturation_code(const std::string& verdict) {
  if (verdict == kStable) return 0;
  if (verdict == kNearSaturation) return 1;
  if (verdict == kOverloaded) return 2;
  return -1;
}

std::vector<std::pair<std::string, double>> headline_metrics(const ServeResult& r) {
  std::vector<std::pair<std::string, double>> m;
  auto with_ci = [&](const char* name, const Estimate& e) {
    m.emplace_back(name, e.value);
    m.emplace_back(std::string(name) + "_ci95_lo", e.lo);
    m.emplace_back(std::string(name) + "_ci95_hi", e.hi);
  };
  const MeasurementWindow& w = r.window;
  with_ci("throughput_req_per_s", w.request_throughput);
  with_ci("output_tokens_per_s", w.output_throughput);
  with_ci("total_tokens_per_s", w.total_throughput);
  with_ci("goodput_req_per_s", w.goodput);
  with_ci("ttft_mean_s", w.ttft_mean);
  with_ci("ttft_p99_s", w.ttft_p99);
  with_ci("tpot_mean_s", w.tpot_mean);
  with_ci("tpot_p99_s", w.tpot_p99);
  with_ci("e2e_mean_s", w.e2e_mean);
  with_ci("e2e_p99_s", w.e2e_p99);
  m.emplace_back("usd_per_m_input_tokens", w.usd_per_m_input_tokens);
  m.emplace_back("usd_per_m_output_tokens", w.usd_per_m_output_tokens);
  m.emplace_back("prefill_cost_share", w.prefill_cost_share);
  m.emplace_back("utilisation", w.utilisation);
  const Saturation& s = r.saturation;
  m.emplace_back("offered_req_per_s", s.offered_req_per_s);
  m.emplace_back("served_req_per_s", s.served_req_per_s);
  m.emplace_back("rho_estimate", s.rho);
  with_ci("queue_growth_req_per_s", s.queue_growth_per_s);
  m.emplace_back("overloaded", r.saturation_verdict == kOverloaded ? 1.0 : 0.0);
  m.emplace_back("saturation_code", saturation_code(r.saturation_verdict));
  m.emplace_back("window_formed", w.formed ? 1.0 : 0.0);
  m.emplace_back("window_start_s", w.start_s);
  m.emplace_back("window_s", w.duration_s);
  m.emplace_back("warmup_requests", static_cast<double>(w.first_request));
  m.emplace_back("window_requests", static_cast<double>(w.arrivals));
  m.emplace_back("batches", w.batches);
  return m;
}

}  // namespace fathom::serve
