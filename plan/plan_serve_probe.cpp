// Simulator runs of `fathom plan serve`, cached by scenario hash in memory and in the database
// (plan/plan_serve_detail.h).
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "common/version.h"
#include "plan/plan_serve_detail.h"
#include "sim/scenario.h"
#include "sim/serve/metrics.h"
#include "sim/serve/simulator.h"

namespace fathom::plan::detail {

namespace {
// The layout of the stored figures (run_figures); raise it when they change meaning.
constexpr int kFigures = 2;
}  // namespace

std::map<std::string, double> run_figures(const serve::ServeResult& r) {
  std::map<std::string, double> m;
  for (const auto& [k, v] : serve::headline_metrics(r)) m[k] = v;
  const std::pair<const char*, const serve::Percentiles*> whole[] = {{"ttft", &r.ttft}, {"tpot", &r.tpot}, {"e2e", &r.e2e}};
  for (const auto& [name, pc] : whole) {  // Percentiles are in seconds
    m[fmt::format("{}_p50_s", name)] = pc->p50;
    m[fmt::format("{}_p90_s", name)] = pc->p90;
    m[fmt::format("{}_p95_s", name)] = pc->p95;
  }
  const double dur = r.window.duration_s > 0 ? r.window.duration_s : r.makespan_s;
  m["input_tokens_per_s"] = dur > 0 ? static_cast<double>(r.window.input_tokens) / dur : 0.0;
  return m;
}

Probe make_probe(double rate, const std::string& verdict, std::map<std::string, double> figures) {
  Probe p;
  p.rate = rate;
  p.ran = true;
  p.verdict = verdict;
  p.m = std::move(figures);
  for (const char* k : {"ttft_p99_s", "tpot_p99_s", "e2e_p99_s", "ttft_mean_s", "tpot_mean_s", "e2e_mean_s",
                        "queue_growth_req_per_s"}) {
    p.m[std::string(k) + "_lo"] = p.get(std::string(k) + "_ci95_lo");
    p.m[std::string(k) + "_hi"] = p.get(std::string(k) + "_ci95_hi");
  }
  return p;
}

namespace {

Probe from_row(const store::SweepPointRow& row, double rate) {
  if (row.status != "ok") {
    Probe p;
    p.rate = rate;
    p.message = row.message;
    return p;
  }
  std::map<std::string, double> m;
  const auto j = nlohmann::json::parse(row.metrics_json);
  for (auto it = j.begin(); it != j.end(); ++it) {
    m[it.key()] = it.value().is_number() ? it.value().get<double>() : std::numeric_limits<double>::quiet_NaN();
  }
  return make_probe(rate, row.verdict, std::move(m));
}

}  // namespace

ProbeCache::ProbeCache(const std::string& db, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                       const std::atomic<bool>* cancel)
    : hardware_(hardware), models_(models), cancel_(cancel) {
  if (db.empty()) return;
  store_ = std::make_unique<store::SweepStore>(store::SweepStore::open(db, true));
  store::SweepInfo info;
  // The identity of the cache: runs of another Fathom version, or of another layout of the
  // figures (kFigures), are never reused.
  info.spec_text = fmt::format("fathom plan serve: simulator runs of candidate serving units, by scenario hash; "
                               "Fathom {}, figures {}\n",
                               fathom::version(), kFigures);
  info.spec_hash = sha256_hex(info.spec_text);
  info.name = "plan-serve-probes";
  info.command = "serve";
  info.axes_json = "[\"scenario_hash\"]";
  // Points are keyed by the first 60 bits of the scenario hash; the spec has no fixed count.
  info.points = int64_t{1} << 60;
  sweep_id_ = store_->ensure_sweep(info);
  for (const auto& row : store_->points(sweep_id_)) stored_[row.scenario_hash] = row;
}

ProbeCache::~ProbeCache() = default;

Probe ProbeCache::run(const ServePlanSpec& spec, const Candidate& c, double rate) {
  if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Cancelled("the plan was cancelled");
  const std::string text = scenario_text(spec, c, 1, rate, spec.requests);
  const std::string hash = sha256_hex(text);
  {
    std::lock_guard lock(mu_);
    auto it = stored_.find(hash);
    if (it != stored_.end()) return from_row(it->second, rate);
  }
  store::SweepPointRow row;
  row.scenario_hash = hash;
  row.scenario_text = text;
  row.fathom_version = fathom::version();
  row.values_json = nlohmann::json{{"scenario_hash", hash}}.dump();
  row.point = static_cast<int64_t>(std::stoull(hash.substr(0, 15), nullptr, 16));
  try {
    const auto s = sim::resolve_scenario_text(text, "probe", hardware_, models_).scenario;
    row.profile = sim::efficiency_source(s);
    serve::ServeOptions o;
    o.cancel = cancel_;
    const serve::ServeResult r = serve::simulate(s, o);
    nlohmann::json m;
    for (const auto& [k, v] : run_figures(r)) m[k] = v;
    row.status = "ok";
    row.verdict = r.saturation_verdict;
    row.seed = static_cast<int64_t>(r.seed);
    row.metrics_json = m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const ConfigError& e) {
    row.status = "failed";
    row.message = e.what();
    row.metrics_json = "{}";
  }
  std::lock_guard lock(mu_);
  stored_.emplace(hash, row);
  pending_.push_back(row);
  return from_row(row, rate);
}

void ProbeCache::flush() {
  std::lock_guard lock(mu_);
  if (store_ && !pending_.empty()) store_->add_points(sweep_id_, pending_);
  pending_.clear();
}

}  // namespace fathom::plan::detail
