// `fathom-plot serve RESULT.json [--requests REQUESTS.csv] [--timeseries TS.csv] --chart NAME
// --out FILE.png|.svg`: the Serve page's charts (pages/serve_charts.h) from the files `fathom
// serve --format json --requests-out REQUESTS.csv --timeseries-out TS.csv` writes. The CSV files
// are streamed (a 100,000,000-request file is read in the memory of three histograms), and
// rebuilt into the simulator's own per-request records, so the CDFs equal the page's.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"
#include "gui/pages/serve_charts.h"
#include "gui/plot.h"

namespace fathom::gui {

namespace {

using nlohmann::json;
constexpr double kGiB = 1073741824.0;

// The value at a dotted path of the result, or an InputError naming it.
const json& at(const json& doc, const std::string& file, const std::string& path) {
  const json* cur = &doc;
  size_t i = 0;
  while (i <= path.size()) {
    const size_t dot = path.find('.', i);
    const std::string key = path.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (!cur->is_object() || !cur->contains(key)) {
      throw InputError(file, fmt::format("expected '{}' in the JSON of `fathom serve --format json`, found none", path));
    }
    cur = &(*cur)[key];
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  return *cur;
}

double num(const json& doc, const std::string& file, const std::string& path) {
  const json& v = at(doc, file, path);
  if (v.is_null()) return std::nan("");
  if (!v.is_number()) throw InputError(file, fmt::format("'{}': expected a number, found {}", path, v.dump()));
  return v.get<double>();
}

serve::Percentiles percentiles(const json& doc, const std::string& file, const std::string& key) {
  serve::Percentiles p;
  p.mean = num(doc, file, key + ".mean");
  p.p50 = num(doc, file, key + ".p50");
  p.p90 = num(doc, file, key + ".p90");
  p.p95 = num(doc, file, key + ".p95");
  p.p99 = num(doc, file, key + ".p99");
  p.max = num(doc, file, key + ".max");
  p.count = static_cast<int64_t>(num(doc, file, key + ".count"));
  return p;
}

serve::Estimate estimate(const json& doc, const std::string& file, const std::string& key) {
  return {num(doc, file, key + ".value"), num(doc, file, key + ".ci95_lo"), num(doc, file, key + ".ci95_hi")};
}

// The figures the charts draw, from the JSON report.
ServeRun read_result(const std::string& file, MemoryBars& memory) {
  const std::string text = read_input_file(file, InputKind::kStructured, "serve result");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(file, fmt::format("expected the JSON of `fathom serve --format json`, found text that is not JSON ({})", e.what()));
  }
  if (!doc.is_object() || !doc.contains("ttft_s")) {
    throw InputError(file, "expected the JSON of `fathom serve --format json` (with ttft_s), found another document");
  }
  ServeRun run;
  serve::ServeResult& r = run.result;
  r.ttft = percentiles(doc, file, "ttft_s");
  r.tpot = percentiles(doc, file, "tpot_s");
  r.itl = percentiles(doc, file, "itl_s");
  r.e2e = percentiles(doc, file, "e2e_s");
  r.queueing = percentiles(doc, file, "queueing_s");
  r.window.output_throughput = estimate(doc, file, "window.output_tokens_per_s");
  r.gpus = static_cast<int>(num(doc, file, "config.gpus"));
  r.saturation_verdict = at(doc, file, "saturation_verdict").get<std::string>();
  run.gpus = r.gpus;
  // config.slo (written since the GUI's Serve page); older reports draw no SLO lines.
  if (doc["config"].contains("slo")) {
    run.slo.ttft_s = num(doc, file, "config.slo.ttft_s");
    run.slo.tpot_s = num(doc, file, "config.slo.tpot_s");
    run.slo.e2e_s = num(doc, file, "config.slo.e2e_s");
  }
  memory.weights = num(doc, file, "memory_per_gpu_GiB.weights") * kGiB;
  memory.activations = num(doc, file, "memory_per_gpu_GiB.activations") * kGiB;
  memory.runtime = num(doc, file, "memory_per_gpu_GiB.runtime") * kGiB;
  memory.kv = num(doc, file, "memory_per_gpu_GiB.kv_cache") * kGiB;
  memory.hbm = num(doc, file, "memory_per_gpu_GiB.capacity") * kGiB;
  memory.engine = at(doc, file, "config.engine").get<std::string>();
  return run;
}

// A CSV that Fathom wrote (no quoting), read a line at a time.
class CsvStream {
 public:
  CsvStream(const std::string& file, const std::string& flag) : file_(file), in_(file) {
    if (!in_) throw FlagError(flag, fmt::format("expected a readable CSV file, found none at '{}'", file));
    std::string header;
    if (!std::getline(in_, header)) throw InputError(file, "expected a header line, found an empty file");
    header_ = split(header);
  }
  size_t column(const std::string& name) const {
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i] == name) return i;
    }
    throw InputError(file_ + ":1", fmt::format("expected a column '{}', found none", name));
  }
  bool next() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      cells_ = split(line);
      if (cells_.size() != header_.size()) {
        throw InputError(fmt::format("{}:{}", file_, line_),
                         fmt::format("expected {} cells, found {}", header_.size(), cells_.size()));
      }
      return true;
    }
    return false;
  }
  double number(size_t col) const {
    const std::string& s = cells_[col];
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) {
      throw InputError(fmt::format("{}:{}", file_, line_),
                       fmt::format("column '{}': expected a number, found '{}'", header_[col], s));
    }
    return v;
  }

 private:
  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out(1);
    for (char c : line) {
      if (c == ',') out.emplace_back();
      else out.back() += c;
    }
    return out;
  }
  std::string file_;
  std::ifstream in_;
  std::vector<std::string> header_, cells_;
  int64_t line_ = 1;
};

int64_t ns(double s) { return std::llround(s * 1e9); }

ServeCdfs read_requests(const std::string& file) {
  CsvStream csv(file, "--requests");
  const size_t arrival = csv.column("arrival_s"), scheduled = csv.column("scheduled_s"),
               first = csv.column("first_token_s"), finish = csv.column("finish_s"), output = csv.column("output_tokens");
  serve::LatencyDistributions d;
  while (csv.next()) {
    serve::RequestRecord r;
    r.arrival_ns = ns(csv.number(arrival));
    r.scheduled_ns = ns(csv.number(scheduled));
    r.first_token_ns = ns(csv.number(first));
    r.finish_ns = ns(csv.number(finish));
    r.output = static_cast<int32_t>(csv.number(output));
    d.add(r);
  }
  return make_cdfs(d);
}

TimeSeriesReducer read_timeseries(const std::string& file, double& interval_s) {
  CsvStream csv(file, "--timeseries");
  const size_t t = csv.column("time_s"), arrived = csv.column("arrived"), finished = csv.column("finished"),
               waiting = csv.column("waiting"), running = csv.column("running"), kv = csv.column("kv_used"),
               rate = csv.column("output_tokens_per_s");
  TimeSeriesReducer reducer(1500);
  interval_s = 0;
  while (csv.next()) {
    serve::TimePoint p;
    p.time_s = csv.number(t);
    p.arrived = static_cast<int64_t>(csv.number(arrived));
    p.finished = static_cast<int64_t>(csv.number(finished));
    p.waiting = static_cast<int64_t>(csv.number(waiting));
    p.running = static_cast<int64_t>(csv.number(running));
    p.kv_used = csv.number(kv);
    p.output_tokens_per_s = csv.number(rate);
    if (reducer.samples() == 0) interval_s = p.time_s;  // samples fall at k × interval
    reducer.add(p);
  }
  return reducer;
}

}  // namespace

int plot_serve(const PlotArgs& args) {
  check_plot_out(args);
  const std::string chart = args.get("chart", "percentiles");
  const auto& names = serve_chart_names();
  if (std::find(names.begin(), names.end(), chart) == names.end()) {
    throw FlagError("--chart", fmt::format("expected one of {} for `fathom-plot serve`, found '{}'", fmt::join(names, ", "), chart));
  }
  if (args.inputs.size() != 1) {
    throw FlagError("serve", fmt::format("expected one RESULT.json (fathom serve --format json), found {} inputs", args.inputs.size()));
  }
  if (chart == "cdf" && !args.has("requests")) {
    throw FlagError("--requests", "expected the per-request CSV of `fathom serve --requests-out` for --chart cdf, found nothing");
  }
  if ((chart == "queue" || chart == "kv") && !args.has("timeseries")) {
    throw FlagError("--timeseries", "expected the CSV of `fathom serve --timeseries-out` for --chart " + chart + ", found nothing");
  }
  MemoryBars memory;
  ServeRun run = read_result(args.inputs[0], memory);
  const std::string stat = "p99";
  Chart c;
  if (chart == "percentiles") {
    c = percentiles_chart(run.result, run.slo);
  } else if (chart == "cdf") {
    c = cdf_chart(read_requests(args.get("requests")), run.slo, stat);
  } else if (chart == "interactivity") {
    c = interactivity_chart({}, &run.result, run.gpus, run.slo, stat);
  } else if (chart == "queue" || chart == "kv") {
    double interval = 1;
    const TimeSeriesReducer ts = read_timeseries(args.get("timeseries"), interval);
    c = chart == "queue" ? queue_chart(ts.points(), ts.samples_per_point(), interval)
                         : kv_chart(ts.points(), ts.samples_per_point(), interval);
  } else {
    c = memory_chart(memory);
  }
  write_plot(c, args);
  return 0;
}

}  // namespace fathom::gui
