// The per-request and time-series CSV files of fathom serve (columns: docs/metrics.md).
#include <ostream>

#include <fmt/format.h>

#include "sim/des/engine.h"
#include "sim/serve/simulator.h"

namespace fathom::serve {

void write_requests_csv_header(std::ostream& os) {
  os << "id,arrival_s,scheduled_s,first_token_s,finish_s,input_tokens,output_tokens,samples,cached_tokens,"
        "preemptions,replica,ttft_s,tpot_s,e2e_s,queueing_s\n";
}

void write_requests_csv_row(std::ostream& os, int64_t id, const RequestRecord& q) {
  const double tpot = q.output > 1 ? des::to_s(q.finish_ns - q.first_token_ns) / (q.output - 1) : 0.0;
  os << fmt::format("{},{:.9f},{:.9f},{:.9f},{:.9f},{},{},{},{},{},{},{:.9f},{:.9f},{:.9f},{:.9f}\n", id,
                    des::to_s(q.arrival_ns), des::to_s(q.scheduled_ns), des::to_s(q.first_token_ns),
                    des::to_s(q.finish_ns), q.input, q.output, q.samples, q.cached, q.preemptions, q.replica,
                    des::to_s(q.first_token_ns - q.arrival_ns), tpot, des::to_s(q.finish_ns - q.arrival_ns),
                    des::to_s(q.scheduled_ns - q.arrival_ns));
}

void write_requests_csv(std::ostream& os, const ServeResult& r) {
  write_requests_csv_header(os);
  for (size_t i = 0; i < r.records.size(); ++i) write_requests_csv_row(os, static_cast<int64_t>(i), r.records[i]);
}

void write_timeseries_csv_header(std::ostream& os) {
  os << "time_s,arrived,finished,waiting,running,kv_used,output_tokens_per_s\n";
}

void write_timeseries_csv_row(std::ostream& os, const TimePoint& p) {
  os << fmt::format("{:.6f},{},{},{},{},{:.6f},{:.6g}\n", p.time_s, p.arrived, p.finished, p.waiting, p.running,
                    p.kv_used, p.output_tokens_per_s);
}

void write_timeseries_csv(std::ostream& os, const ServeResult& r) {
  write_timeseries_csv_header(os);
  for (const auto& p : r.timeseries) write_timeseries_csv_row(os, p);
}

}  // namespace fathom::serve
