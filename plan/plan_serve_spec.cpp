// Reading a serve plan (plan/plan_serve.h; format: docs/planning.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/rng.h"
#include "plan/plan_serve.h"
#include "sim/serve/workload.h"

namespace fathom::plan {

namespace {

constexpr int64_t kMaxCandidateValues = 64;  // per candidate list
constexpr int64_t kMaxProbeRequests = 1'000'000;
constexpr int kQuantileDraws = 20000;

std::vector<std::string> string_list(const YamlNode& sec, const char* key, std::vector<std::string> def) {
  auto n = sec.find(key);
  if (!n) return def;
  std::vector<std::string> out;
  if (n->is_scalar()) {
    out.push_back(n->as_string());
  } else {
    auto items = n->items();
    if (items.empty() || static_cast<int64_t>(items.size()) > kMaxCandidateValues) n->fail("a list of 1 to 64 names");
    for (const auto& i : items) out.push_back(i.as_string());
  }
  std::set<std::string> seen;
  for (const auto& s : out) {
    if (!seen.insert(s).second) n->fail_message(fmt::format("'{}' is listed twice", s));
  }
  return out;
}

template <class T>
std::vector<T> int_list(const YamlNode& sec, const char* key, std::vector<T> def, int64_t max, bool zero_ok) {
  auto n = sec.find(key);
  if (!n) return def;
  std::vector<YamlNode> items;
  if (n->is_scalar()) {
    items.push_back(*n);
  } else {
    items = n->items();
    if (items.empty() || static_cast<int64_t>(items.size()) > kMaxCandidateValues) n->fail("a list of 1 to 64 integers");
  }
  std::vector<T> out;
  for (const auto& i : items) {
    if (i.is_scalar() && i.raw().Scalar() == "default" && zero_ok) {
      out.push_back(0);
      continue;
    }
    const int64_t v = i.as_positive_int();
    if (v > max) i.fail(fmt::format("an integer from 1 to {}", max));
    out.push_back(static_cast<T>(v));
  }
  std::vector<T> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) n->fail("a list without repeated values");
  return out;
}

// "metric_stat_s" → bound.
SloBound parse_slo_key(const YamlNode& slo, const std::string& key) {
  static const std::vector<std::string> kMetrics = {"ttft", "tpot", "e2e"};
  static const std::vector<std::string> kStats = {"mean", "p50", "p90", "p95", "p99"};
  const auto v = slo.at(key);
  SloBound b;
  const size_t u1 = key.find('_');
  const size_t u2 = u1 == std::string::npos ? std::string::npos : key.find('_', u1 + 1);
  const bool shaped = u2 != std::string::npos && key.substr(u2) == "_s";
  if (shaped) {
    b.metric = key.substr(0, u1);
    b.stat = key.substr(u1 + 1, u2 - u1 - 1);
  }
  if (!shaped || std::find(kMetrics.begin(), kMetrics.end(), b.metric) == kMetrics.end() ||
      std::find(kStats.begin(), kStats.end(), b.stat) == kStats.end()) {
    v.fail_message(fmt::format("expected an objective METRIC_STAT_s (METRIC ttft, tpot or e2e; STAT mean, p50, p90, p95 "
                               "or p99, e.g. ttft_p99_s) or min_tokens_per_s_per_user, found '{}'",
                               key));
  }
  b.limit_s = v.as_positive_number();
  if (b.limit_s > 1e6) v.fail("at most 1,000,000 s");
  return b;
}

std::pair<int, int> parse_ratio(const YamlNode& n) {
  const std::string t = n.as_string();
  const size_t c = t.find(':');
  auto num = [&](const std::string& s) -> int {
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos) {
      n.fail("a ratio P:D of prefill to decode replicas, each 1 to 64 (e.g. \"1:2\")");
    }
    const int v = std::stoi(s);
    if (v < 1 || v > 64) n.fail("a ratio P:D of prefill to decode replicas, each 1 to 64 (e.g. \"1:2\")");
    return v;
  };
  if (c == std::string::npos) n.fail("a ratio P:D of prefill to decode replicas, each 1 to 64 (e.g. \"1:2\")");
  return {num(t.substr(0, c)), num(t.substr(c + 1))};
}

}  // namespace

ServePlanSpec parse_serve_plan(const PlanInput& in, const std::string& file) {
  const YamlNode& root = in.root;
  root.expect_map();
  root.expect_keys({"name", "model", "models", "traffic", "slo", "candidates", "prices", "headroom", "max_gpus", "search"});
  ServePlanSpec s;
  s.file = file;
  s.name = root.str_or("name", std::filesystem::path(file).stem().string());
  if (root.has("model") == root.has("models")) {
    root.fail_message("expected either 'model' (a catalog name or model file) or 'models' (a list), found " +
                      std::string(root.has("model") ? "both" : "neither"));
  }
  const std::string model_key = root.has("model") ? "model" : "models";
  s.models = string_list(root, model_key.c_str(), {});
  const auto plan_dir = std::filesystem::path(file).parent_path();
  for (auto& m : s.models) {
    // A model file path (it has a slash or a .yaml ending) is resolved from the plan's folder.
    if (m.find('/') != std::string::npos || m.ends_with(".yaml") || m.ends_with(".yml")) {
      std::filesystem::path p = m;
      if (p.is_relative()) p = plan_dir / p;
      m = std::filesystem::absolute(p).lexically_normal().string();
    }
  }

  // Traffic: the serve.workload keys of a scenario (less requests and seed), and an hourly profile.
  const auto tr = root.at("traffic");
  tr.expect_map();
  tr.expect_keys({"arrival", "input_tokens", "output_tokens", "samples", "shared_prefix", "sessions", "hourly"});
  if (auto h = tr.find("hourly")) {
    auto items = h->items();
    if (items.size() != 24) h->fail(fmt::format("24 rates, one per hour of the day (found {})", items.size()));
    for (const auto& i : items) {
      const double r = i.as_nonnegative_number();
      if (r > serve::kMaxRatePerS) i.fail("a rate of at most 1,000,000,000 requests/s");
      s.hourly.push_back(r);
    }
    if (*std::max_element(s.hourly.begin(), s.hourly.end()) <= 0) h->fail("at least one hour with requests");
  }
  // The workload reader checks the traffic where it stands in the file (errors keep its lines):
  // the tree is changed for the call (no hourly, a request count, the peak rate where only the
  // profile gives one) and restored after. The plan's text was taken before.
  YAML::Node wl = tr.raw();
  const YAML::Node hourly_node = wl["hourly"] ? YAML::Node(wl["hourly"]) : YAML::Node();
  if (hourly_node) wl.remove("hourly");
  const double peak = s.hourly.empty() ? 0 : *std::max_element(s.hourly.begin(), s.hourly.end());
  bool rate_added = false;
  if (peak > 0 && wl["arrival"] && wl["arrival"].IsMap() && !wl["arrival"]["rate_per_s"] && wl["arrival"]["process"] &&
      wl["arrival"]["process"].as<std::string>("") != "trace") {
    wl["arrival"]["rate_per_s"] = peak;  // the profile's peak sizes the fleet
    rate_added = true;
  }
  wl["requests"] = 1000;
  serve::WorkloadSpec w;
  try {
    w = serve::parse_workload(tr, serve::kMaxModelLen);
  } catch (...) {
    wl.remove("requests");
    throw;
  }
  wl.remove("requests");
  if (rate_added) wl["arrival"].remove("rate_per_s");
  if (hourly_node) wl["hourly"] = hourly_node;
  if (w.arrival.kind == serve::ArrivalSpec::Kind::kAllAtOnce || w.arrival.kind == serve::ArrivalSpec::Kind::kBurst) {
    tr.at("arrival").at("process").fail("poisson, gamma, constant or trace: a plan serves a steady traffic");
  }
  if (w.arrival.kind == serve::ArrivalSpec::Kind::kGamma) {
    s.arrival = "gamma";
    s.cv = w.arrival.cv;
  } else if (w.arrival.kind == serve::ArrivalSpec::Kind::kConstant) {
    s.arrival = "constant";
  }
  std::vector<double> inputs;
  inputs.reserve(kQuantileDraws);
  if (w.trace) {
    if (!s.hourly.empty()) tr.at("hourly").fail_message("'hourly' does not apply to a trace, which gives its own arrival times");
    const auto& rows = *w.trace;
    if (rows.size() < 2 || !(rows.back().time_s > rows.front().time_s)) {
      tr.at("arrival").fail_message("expected a trace with at least two distinct arrival times");
    }
    s.arrival = "trace";
    s.trace_file = w.trace_file;
    s.trace_rate_per_s = static_cast<double>(rows.size() - 1) / (rows.back().time_s - rows.front().time_s);
    s.rate_per_s = s.trace_rate_per_s * w.trace_speedup;
    double sum_in = 0, sum_out = 0;
    for (const auto& r : rows) {
      sum_in += r.input;
      sum_out += r.output;
      if (inputs.size() < static_cast<size_t>(kQuantileDraws)) inputs.push_back(r.input);
    }
    for (const auto& r : rows) s.longest_request = std::max<int64_t>(s.longest_request, int64_t{r.input} + r.output);
    s.mean_input = sum_in / static_cast<double>(rows.size());
    s.mean_output = sum_out / static_cast<double>(rows.size());
  } else {
    s.rate_per_s = peak > 0 ? peak : w.arrival.rate_per_s;
    if (auto a = tr.at("arrival").find("rate_per_s"); a && peak > 0 && std::abs(a->as_number() - peak) > 1e-9 * peak) {
      a->fail_message(fmt::format("expected no rate_per_s beside 'hourly' (the fleet is sized for the peak hour, {} "
                                  "requests/s), or that peak; found {}",
                                  peak, a->as_number()));
    }
    // Means and input quantiles of the clamped distributions, from a fixed stream of draws.
    Rng rng(20260, 7);
    double sum_in = 0, sum_out = 0;
    for (int i = 0; i < kQuantileDraws; ++i) {
      const double x = static_cast<double>(w.input.sample(rng));
      inputs.push_back(x);
      sum_in += x;
      sum_out += static_cast<double>(w.output.sample(rng));
    }
    const int64_t unbounded = int64_t{1} << 40;
    if (w.input.max < unbounded && w.output.max < unbounded) s.longest_request = w.input.max + w.output.max;
    s.mean_input = sum_in / kQuantileDraws;
    s.mean_output = sum_out / kQuantileDraws;
    YAML::Emitter e1, e2;
    e1 << YAML::Flow << tr.at("input_tokens").raw();
    e2 << YAML::Flow << tr.at("output_tokens").raw();
    s.input_yaml = e1.c_str();
    s.output_yaml = e2.c_str();
  }
  std::sort(inputs.begin(), inputs.end());
  auto q = [&](double p) { return inputs[std::min(inputs.size() - 1, static_cast<size_t>(p * static_cast<double>(inputs.size())))]; };
  s.input_quantile[0] = s.mean_input;
  s.input_quantile[1] = q(0.50);
  s.input_quantile[2] = q(0.90);
  s.input_quantile[3] = q(0.95);
  s.input_quantile[4] = q(0.99);

  const auto slo = root.at("slo");
  slo.expect_map();
  for (const auto& [key, v] : slo.entries()) {
    if (key == "min_tokens_per_s_per_user") {
      s.min_user_tokens_per_s = v.as_positive_number();
      if (s.min_user_tokens_per_s > 1e6) v.fail("at most 1,000,000 tokens/s");
      continue;
    }
    s.slo.push_back(parse_slo_key(slo, key));
  }
  if (s.slo.empty() && s.min_user_tokens_per_s == 0) slo.fail_message("expected at least one objective (e.g. ttft_p99_s: 0.5)");

  const auto c = root.at("candidates");
  c.expect_map();
  c.expect_keys({"gpus", "precisions", "engines", "tp", "pp", "ep", "token_budget", "max_seqs", "aggregated", "disaggregated"});
  s.gpus = string_list(c, "gpus", {});
  if (s.gpus.empty()) c.at("gpus");  // required: names the missing key
  s.precisions = string_list(c, "precisions", {"bf16"});
  for (size_t i = 0; i < s.precisions.size(); ++i) {
    const auto& p = s.precisions[i];
    if (p != "bf16" && p != "fp16" && p != "fp8") {
      c.at("precisions").fail(fmt::format("precisions among bf16, fp16 and fp8 (found '{}')", p));
    }
  }
  s.engines = string_list(c, "engines", {"vllm"});
  s.tp = int_list<int>(c, "tp", {1}, 64, false);
  s.pp = int_list<int>(c, "pp", {1}, 64, false);
  s.ep = int_list<int>(c, "ep", {1}, 64, false);
  s.token_budgets = int_list<int64_t>(c, "token_budget", {0}, 1'000'000, true);
  s.max_seqs = int_list<int64_t>(c, "max_seqs", {0}, 100'000, true);
  s.aggregated = c.flag_or("aggregated", true);
  if (auto d = c.find("disaggregated")) {
    d->expect_map();
    d->expect_keys({"ratios"});
    auto items = d->at("ratios").items();
    if (items.empty() || items.size() > 16) d->at("ratios").fail("a list of 1 to 16 ratios P:D");
    for (const auto& i : items) s.pd_ratios.push_back(parse_ratio(i));
  }
  if (!s.aggregated && s.pd_ratios.empty()) {
    c.at("aggregated").fail_message("expected disaggregated candidates (candidates.disaggregated.ratios) when aggregated is false");
  }

  if (auto p = root.find("prices")) {
    p->expect_map();
    for (const auto& [gpu, v] : p->entries()) {
      const double x = v.as_positive_number();
      if (x > 1e4) v.fail("at most $10,000 per GPU-hour");
      s.prices[gpu] = x;
    }
  }
  if (auto h = root.find("headroom")) {
    s.headroom = h->as_nonnegative_number();
    if (s.headroom >= 1) h->fail("a share of each unit's capacity kept free, in [0, 1) (e.g. 0.2: plan for 80%)");
  }
  if (root.has("max_gpus")) s.max_gpus = root.small_count("max_gpus", 1'000'000);
  if (auto se = root.find("search")) {
    se->expect_map();
    se->expect_keys({"requests", "seed", "tolerance", "top", "verify", "replications"});
    if (se->has("replications")) s.replications = se->small_count("replications", 20);
    if (se->has("requests")) {
      s.requests = se->count("requests");
      if (s.requests < 600 || s.requests > kMaxProbeRequests) {
        se->at("requests").fail("600 to 1,000,000 requests per probe (a steady-state window needs 400 after the warm-up)");
      }
    }
    if (se->has("seed")) s.seed = static_cast<uint64_t>(se->at("seed").as_nonnegative_int());
    if (auto t = se->find("tolerance")) {
      s.tolerance = t->as_positive_number();
      if (s.tolerance < 1e-4 || s.tolerance > 0.5) t->fail("a relative tolerance from 0.0001 to 0.5");
    }
    if (se->has("top")) s.top = se->small_count("top", 10000);
    if (se->has("verify")) s.verify = se->at("verify").as_nonnegative_int();
    if (s.verify > 100) se->at("verify").fail("0 to 100 rows");
  }
  return s;
}

std::map<std::string, double> serve_plan_prices(const ServePlanSpec& spec, const std::map<std::string, double>& overrides,
                                                const hw::HardwareCatalog& hardware, const std::string& where) {
  auto lookup = [&](const std::map<std::string, double>& m, const hw::GpuSpec& g) -> double {
    for (const auto& [k, v] : m) {
      const hw::GpuSpec* p = hardware.find_gpu(k);
      if (p != nullptr && p->name == g.name) return v;
    }
    return 0;
  };
  std::map<std::string, double> prices;
  for (const auto& name : spec.gpus) {
    const hw::GpuSpec& g = hardware.gpu(name, where + ": candidates.gpus");
    double usd = lookup(overrides, g);
    if (usd <= 0) usd = lookup(spec.prices, g);
    if (usd <= 0) usd = g.usd_per_gpu_hour;
    if (usd > 0) prices[g.name] = usd;
  }
  return prices;
}

}  // namespace fathom::plan
