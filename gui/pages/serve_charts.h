#pragma once
// The Serve page's charts and tables as data (gui/chart/chart.h, gui/table/table.h), built from
// the library's results: the page shows them, and `fathom-plot serve` renders the same functions'
// charts from `fathom serve --format json` and its --requests-out / --timeseries-out CSV files.
// Qt-free, so that the results of a long run are built on the worker thread (docs/gui-serve.md).
#include <cstdint>
#include <string>
#include <vector>

#include "gui/chart/chart.h"
#include "gui/table/table.h"
#include "sim/serve/analytic.h"
#include "sim/serve/latency_cdf.h"
#include "sim/serve/simulator.h"

namespace fathom::gui {

// The statistic the SLOs are judged at (the page's "SLO percentile"): mean, p50, p90, p95, p99 —
// the stats `fathom plan serve` names its objectives with (ttft_p99_s, ...).
const std::vector<std::string>& slo_stats();
double stat_of(const serve::Percentiles& p, const std::string& stat);
// The fraction of requests a percentile stat bounds (0.99 for p99); 0 for the mean.
double stat_fraction(const std::string& stat);

// A time series reduced as it streams to at most `max_points` points: each point is the maximum
// of waiting, running and KV use (and the mean output rate) over `samples_per_point()`
// consecutive samples, so that peaks survive and a run of 10⁹ samples costs a few kilobytes.
class TimeSeriesReducer {
 public:
  explicit TimeSeriesReducer(size_t max_points = 1500) : max_points_(max_points < 2 ? 2 : max_points) {}
  void add(const serve::TimePoint& p);
  // The points so far, the last (partial) bucket included.
  std::vector<serve::TimePoint> points() const;
  int64_t samples_per_point() const { return span_; }
  int64_t samples() const { return samples_; }

 private:
  struct Bucket {
    serve::TimePoint max;  // time_s: of the bucket's last sample; output rate summed
    int64_t n = 0;
  };
  static void merge(Bucket& into, const Bucket& b);
  size_t max_points_;
  int64_t span_ = 1, samples_ = 0;
  std::vector<Bucket> buckets_;
};

// The three latency CDFs the page draws (TTFT, TPOT, E2E), from serve::LatencyDistributions.
struct ServeCdfs {
  std::vector<serve::CdfPoint> ttft, tpot, e2e;
};
ServeCdfs make_cdfs(const serve::LatencyDistributions& d);

// Memory of one GPU of a replica, bytes: the stacked bar against HBM.
struct MemoryBars {
  double weights = 0, activations = 0, runtime = 0, kv = 0, hbm = 0;
  std::string engine;  // names the engine that sized it
};
MemoryBars memory_bars(const serve::ServeAnalysis& a);

// --- the live analytic panel --------------------------------------------------------------------
// Rows: figure, value, unit; each number's tooltip names the library call, the formula and the
// kernel pricing (`provenance`, sim::efficiency_source); `estimate_command` reproduces the
// iteration row with the CLI.
Table analytic_table(const serve::ServeAnalysis& a, const std::string& provenance, const std::string& estimate_command);
Chart memory_chart(const MemoryBars& m);
Chart roofline_chart(const serve::ServeAnalysis& a, const std::string& provenance);

// --- the results of Simulate -------------------------------------------------------------------
// Latency percentiles of the whole run (mean, p50, p90, p95, p99, max, count) and the
// measurement window's mean and p99 with their 95% intervals (TTFT, TPOT, E2E); the column of
// `stat` is highlighted. Seconds, as `fathom serve --format json` gives them.
Table percentile_table(const serve::ServeResult& r, const std::string& stat);
// Throughput and goodput: the window's value and 95% interval, and the whole run's.
Table throughput_table(const serve::ServeResult& r);
Chart percentiles_chart(const serve::ServeResult& r, const serve::Slo& slo);
Chart cdf_chart(const ServeCdfs& c, const serve::Slo& slo, const std::string& stat);
// The cost chain's decode frontier (may be empty) and the run's point at the mean TPOT and at
// `stat`'s TPOT (when `r` is given), with the TPOT SLO as tokens/s per user.
Chart interactivity_chart(const std::vector<serve::FrontierPoint>& frontier, const serve::ServeResult* r, int gpus,
                          const serve::Slo& slo, const std::string& stat);
Chart queue_chart(const std::vector<serve::TimePoint>& ts, int64_t samples_per_point, double interval_s);
Chart kv_chart(const std::vector<serve::TimePoint>& ts, int64_t samples_per_point, double interval_s);
// The saturation verdict and the SLOs at `stat`, in plain words.
std::string verdict_text(const serve::ServeResult& r, const serve::Slo& slo, const std::string& stat);

// What a finished Simulate holds (built on the worker thread), and its views for a stat.
struct ServeRun {
  serve::ServeResult result;
  serve::Slo slo;
  ServeCdfs cdfs;
  std::vector<serve::TimePoint> timeseries;
  int64_t samples_per_point = 1;
  double interval_s = 1;
  std::vector<serve::FrontierPoint> frontier;
  int gpus = 0;
};
struct ServeViews {
  Table percentiles, throughput;
  Chart cdf, percentiles_chart, interactivity, queue, kv;
  std::string verdict;
};
ServeViews serve_views(const ServeRun& run, const std::string& stat);

// The charts `fathom-plot serve --chart NAME` draws, in the page's order.
const std::vector<std::string>& serve_chart_names();

}  // namespace fathom::gui
