// Bounded-memory serving: the streaming latency histogram against exact order statistics, and
// records streamed at completion against records kept for the whole run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

#include "catalog_fixture.h"
#include "common/rng.h"
#include "common/yaml.h"
#include "sim/des/engine.h"
#include "sim/scenario.h"
#include "sim/serve/histogram.h"
#include "sim/serve/simulator.h"

namespace fathom::serve {

namespace {

// The documented bound (docs/metrics.md): a percentile is the midpoint of a bucket at most
// 2^-10 of its lower edge wide, so it is within 2^-11 of the exact nearest-rank value.
constexpr double kRelativeBound = 1.0 / 2048.0;

// The exact nearest-rank percentile: the ⌈f·n⌉-th smallest value.
double nearest_rank(std::vector<double> v, double f) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<size_t>(std::ceil(f * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

sim::Scenario scenario(const std::string& serve_yaml) {
  const std::string text = "model: llama-3.1-8b\nhardware: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\nserve:\n" + serve_yaml;
  return sim::parse_scenario(parse_yaml(text, "test.yaml"), test::hardware(), test::models());
}

const char* kSessions = R"(  parallel: {tp: 1, replicas: 2}
  engine: vllm
  workload:
    requests: 3000
    arrival: {process: poisson, rate_per_s: 6}
    input_tokens: {dist: lognormal, median: 400, sigma: 0.8, max: 4000}
    output_tokens: {dist: lognormal, median: 120, sigma: 0.8, max: 1000}
    sessions: {turns: {dist: uniform, low: 1, high: 6}, think_time_s: 3}
    seed: 11
)";

}  // namespace

TEST(ServeHistogram, PercentilesAreWithinTheDocumentedBoundOfExactNearestRank) {
  Rng rng(5, 1);
  LogHistogram h;
  std::vector<double> v;
  double sum = 0;
  for (int i = 0; i < 200000; ++i) {
    // Latencies from 1 µs to about 100 s in nanoseconds, a tenth of them zero (a request
    // admitted on arrival has no queueing delay), a few below one nanosecond.
    double x = std::round(1e6 * std::exp(2.5 * rng.normal()));
    if (i % 10 == 0) x = 0;
    if (i % 1000 == 1) x = 0.25;
    h.add(x);
    v.push_back(x);
    sum += x;
  }
  EXPECT_EQ(h.count(), 200000);
  EXPECT_EQ(h.max_ns(), *std::max_element(v.begin(), v.end()));
  EXPECT_EQ(h.min_ns(), 0.0);
  // The mean is a compensated sum: equal to the plain sum to far better than its own rounding.
  EXPECT_NEAR(h.mean_ns() / (sum / 200000.0), 1.0, 1e-12);
  for (double f : {0.05, 0.1, 0.1001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double exact = nearest_rank(v, f);
    const double got = h.quantile_ns(f);
    if (exact < 1.0) {
      EXPECT_LT(std::fabs(got - exact), 1.0) << f;
    } else {
      EXPECT_LE(std::fabs(got - exact), kRelativeBound * exact) << f << " exact " << exact << " got " << got;
    }
  }
}

TEST(ServeHistogram, WeightedAddsEqualRepeatedAddsAndExtremesStayExact) {
  LogHistogram a, b;
  for (double x : {3.0, 17.0, 1e6, 123456789.0, 4.0e18}) {
    a.add(x, 5);
    for (int i = 0; i < 5; ++i) b.add(x);
  }
  EXPECT_EQ(a.count(), b.count());
  for (double f : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.quantile_ns(f), b.quantile_ns(f)) << f;
  // One value: every percentile is that value exactly (clamped to [min, max]).
  LogHistogram one;
  one.add(987654321.0);
  const Percentiles p = one.summary();
  EXPECT_EQ(p.p50, 0.987654321);
  EXPECT_EQ(p.p99, 0.987654321);
  EXPECT_EQ(p.max, 0.987654321);
  // Near the end of the clock's range (4·10^18 ns, 127 years) the bound still holds.
  EXPECT_LE(std::fabs(a.quantile_ns(1.0) - 4.0e18), kRelativeBound * 4.0e18);
  EXPECT_EQ(LogHistogram().summary().count, 0);
}

// Records are streamed at completion with their arrival index; kept records (the old default)
// are the same records in arrival order, and the result does not hold them unless asked.
TEST(ServeStream, StreamedRecordsAreTheKeptRecordsInCompletionOrder) {
  const auto s = scenario(kSessions);
  ServeOptions keep;
  keep.keep_records = true;
  const ServeResult kept = simulate(s, keep);
  ASSERT_EQ(kept.records.size(), 3000u);

  std::vector<int64_t> order;
  std::map<int64_t, RequestRecord> streamed;
  std::ostringstream rows;
  ServeOptions stream;
  stream.on_request_done = [&](int64_t id, const RequestRecord& rec) {
    order.push_back(id);
    EXPECT_TRUE(streamed.emplace(id, rec).second) << "id " << id << " twice";
    write_requests_csv_row(rows, id, rec);
  };
  const ServeResult r = simulate(s, stream);
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(streamed.size(), 3000u);
  EXPECT_EQ(streamed.begin()->first, 0);
  EXPECT_EQ(streamed.rbegin()->first, 2999);
  // Completion order: finish times never decrease; it is not the arrival order.
  for (size_t i = 1; i < order.size(); ++i) {
    EXPECT_LE(streamed[order[i - 1]].finish_ns, streamed[order[i]].finish_ns);
  }
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));

  // The same rows as write_requests_csv, once sorted by id.
  std::ostringstream whole;
  write_requests_csv(whole, kept);
  std::istringstream in(rows.str());
  std::vector<std::pair<int64_t, std::string>> lines;
  for (std::string line; std::getline(in, line);) lines.emplace_back(std::stoll(line.substr(0, line.find(','))), line);
  std::sort(lines.begin(), lines.end());
  std::ostringstream sorted;
  write_requests_csv_header(sorted);
  for (const auto& l : lines) sorted << l.second << "\n";
  EXPECT_EQ(sorted.str(), whole.str());

  // Streaming changes nothing else: same counters, same summaries, bit for bit.
  EXPECT_EQ(r.events, kept.events);
  EXPECT_EQ(r.makespan_s, kept.makespan_s);
  EXPECT_EQ(r.ttft.p99, kept.ttft.p99);
  EXPECT_EQ(r.e2e.mean, kept.e2e.mean);
  EXPECT_EQ(r.mean_in_system, kept.mean_in_system);
}

// The summaries against exact statistics of the kept records: count, mean and max exact (to
// the rounding of a double), percentiles within the documented bound.
TEST(ServeStream, LatencySummariesMatchExactStatisticsOfTheRecords) {
  ServeOptions o;
  o.keep_records = true;
  const ServeResult r = simulate(scenario(kSessions), o);
  std::vector<double> ttft, e2e, queue, tpot;
  for (const auto& q : r.records) {
    ttft.push_back(static_cast<double>(q.first_token_ns - q.arrival_ns));
    e2e.push_back(static_cast<double>(q.finish_ns - q.arrival_ns));
    queue.push_back(static_cast<double>(q.scheduled_ns - q.arrival_ns));
    if (q.output > 1) tpot.push_back(static_cast<double>(q.finish_ns - q.first_token_ns) / (q.output - 1));
  }
  auto check = [&](const char* name, const Percentiles& p, const std::vector<double>& v) {
    SCOPED_TRACE(name);
    ASSERT_EQ(p.count, static_cast<int64_t>(v.size()));
    double sum = 0;
    for (double x : v) sum += x;
    EXPECT_NEAR(p.mean / (sum / static_cast<double>(v.size()) / 1e9), 1.0, 1e-12);
    EXPECT_EQ(p.max, *std::max_element(v.begin(), v.end()) / 1e9);
    const std::pair<double, double> qs[] = {{0.5, p.p50}, {0.9, p.p90}, {0.95, p.p95}, {0.99, p.p99}};
    for (const auto& [f, got] : qs) {
      const double exact = nearest_rank(v, f) / 1e9;
      EXPECT_LE(std::fabs(got - exact), kRelativeBound * exact + 1e-9) << f;
    }
  };
  check("ttft", r.ttft, ttft);
  check("e2e", r.e2e, e2e);
  check("queueing", r.queueing, queue);
  check("tpot", r.tpot, tpot);
}

TEST(ServeStream, TimePointsStreamWithoutBeingKept) {
  const auto s = scenario(kSessions);
  std::vector<TimePoint> got;
  ServeOptions o;
  o.on_timepoint = [&](const TimePoint& p) { got.push_back(p); };
  const ServeResult streamed = simulate(s, o);
  EXPECT_TRUE(streamed.timeseries.empty());
  ServeOptions k;
  k.timeseries = true;
  const ServeResult kept = simulate(s, k);
  ASSERT_EQ(got.size(), kept.timeseries.size());
  std::ostringstream a, b;
  write_timeseries_csv_header(a);
  for (const auto& p : got) write_timeseries_csv_row(a, p);
  write_timeseries_csv(b, kept);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_EQ(got.back().finished, 3000);
}

}  // namespace fathom::serve
