// `fathom plan serve`: candidates, the analytic screen, probes (cached) and the bisection on the
// simulator (plan/plan_serve.h; method: docs/planning.md).
#include "plan/plan_serve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "common/parallel.h"
#include "common/version.h"
#include "hw/profile.h"
#include "plan/plan_serve_detail.h"
#include "sim/estimate.h"
#include "sim/model/model_spec.h"
#include "sim/scenario.h"
#include "sim/serve/metrics.h"
#include "sim/serve/simulator.h"
#include "store/sweep_store.h"

namespace fathom::plan {

namespace detail {

double Probe::get(const std::string& k) const {
  auto it = m.find(k);
  return it == m.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

Check check_probe(const ServePlanSpec& spec, const Probe& p) {
  Check c;
  if (!p.ran) {
    c.binding = "runs";
    return c;
  }
  double worst = 0;
  auto consider = [&](const std::string& name, double value, double limit) {
    const double ratio = value / limit;
    if (!(ratio <= 1) && (c.binding.empty() || ratio > worst || !(ratio == ratio))) {
      worst = ratio;
      c.binding = name;
      c.value = value;
      c.limit = limit;
    }
  };
  for (const auto& b : spec.slo) consider(b.key(), p.get(b.key()), b.limit_s);
  if (spec.min_user_tokens_per_s > 0) {
    consider("min_tokens_per_s_per_user", p.get("tpot_mean_s"), 1.0 / spec.min_user_tokens_per_s);
  }
  // Overloaded (the queue grows, significantly) or undetermined (no window) fails; "near
  // saturation" (growth not ruled out) passes when the objectives hold: short runs often
  // cannot rule growth out, and the objectives measure what users see.
  if (c.binding.empty() && (p.verdict == serve::kOverloaded || p.verdict == serve::kUndetermined)) {
    c.binding = "stability";
    c.value = p.get("queue_growth_req_per_s");
  }
  c.ok = c.binding.empty();
  return c;
}

std::string scenario_text(const ServePlanSpec& spec, const Candidate& c, int64_t units, double rate, int64_t requests) {
  YAML::Node n;
  n["name"] = fmt::format("{}: {}, {} unit{}", spec.name, c.label, units, units == 1 ? "" : "s");
  n["model"] = c.model;
  const int64_t gpus = static_cast<int64_t>(c.gpus_per_unit) * units;
  YAML::Node hwn;
  hwn["gpu"] = c.gpu;
  hwn["nodes"] = (gpus + c.gpus_per_node - 1) / c.gpus_per_node;
  hwn["gpus_per_node"] = c.gpus_per_node;
  n["hardware"] = hwn;
  YAML::Node pr;
  pr["weights"] = c.precision;
  pr["activations"] = c.precision;
  pr["kv_cache"] = c.precision;
  n["precision"] = pr;
  // Numbers in their shortest form that reads back to the same double (4.99, not 4.9900000000000002).
  auto num = [](double v) { return fmt::format("{}", v); };
  if (!c.profile_choice.empty()) n["efficiency"]["profile"] = c.profile_choice;
  if (c.usd_per_gpu_hour > 0) n["cost"]["usd_per_gpu_hour"] = num(c.usd_per_gpu_hour);
  YAML::Node sv;
  YAML::Node par;
  par["tp"] = c.tp;
  par["pp"] = c.pp;
  if (c.ep > 1) par["ep"] = c.ep;
  if (c.prefill == 0) par["replicas"] = units;
  sv["parallel"] = par;
  sv["engine"] = c.engine;
  if (c.max_model_len > 0) sv["max_model_len"] = c.max_model_len;
  if (c.token_budget > 0) sv["scheduler"]["token_budget"] = c.token_budget;
  if (c.max_seqs > 0) sv["scheduler"]["max_seqs"] = c.max_seqs;
  if (c.prefill > 0) {
    sv["disaggregated"]["prefill"]["replicas"] = c.prefill * units;
    sv["disaggregated"]["decode"]["replicas"] = c.decode * units;
  }
  // Per-request thresholds for goodput: the plan's objectives on single requests' figures.
  for (const auto& b : spec.slo) {
    const std::string key = b.metric + "_s";
    if (!sv["slo"][key] || sv["slo"][key].as<double>() > b.limit_s) sv["slo"][key] = num(b.limit_s);
  }
  YAML::Node wl;
  wl["requests"] = requests;
  YAML::Node arr;
  if (spec.arrival == "trace") {
    arr["process"] = "trace";
    arr["file"] = spec.trace_file;
    arr["speedup"] = num(rate / spec.trace_rate_per_s);
  } else {
    arr["process"] = spec.arrival;
    arr["rate_per_s"] = num(rate);
    if (spec.arrival == "gamma") arr["cv"] = num(spec.cv);
  }
  wl["arrival"] = arr;
  if (spec.arrival != "trace") {
    wl["input_tokens"] = YAML::Load(spec.input_yaml);
    wl["output_tokens"] = YAML::Load(spec.output_yaml);
  }
  wl["seed"] = spec.seed;
  sv["workload"] = wl;
  n["serve"] = sv;
  return emit_yaml(n);
}

}  // namespace detail

namespace {

using detail::Candidate;
using detail::Probe;

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// $/GPU-hour of a GPU from the plan's prices (by its name or any alias); 0 when none is given.
double plan_price(const ServePlanSpec& spec, const hw::GpuSpec& g) {
  for (const auto& [name, usd] : spec.prices) {
    if (lower(name) == lower(g.name)) return usd;
    for (const auto& a : g.aliases) {
      if (lower(name) == lower(a)) return usd;
    }
  }
  return 0;
}

std::vector<Candidate> enumerate(const ServePlanSpec& spec, const hw::HardwareCatalog& hardware,
                                 const model::ModelCatalog& models, std::vector<std::string>& notes) {
  std::vector<Candidate> out;
  for (const auto& model : spec.models) {
    // The engine's context: the traffic's longest request, when the model's is longer.
    int64_t context = 0;
    if (const model::ModelSpec* m = models.find(model)) context = m->max_position;
    else context = model::parse_model(load_yaml_file(model)).max_position;
    const int64_t max_model_len = spec.longest_request > 0 && spec.longest_request < context ? spec.longest_request : 0;
    for (const auto& gname : spec.gpus) {
      const hw::GpuSpec& gpu = hardware.gpu(gname, spec.file + ": candidates.gpus");
      const double price = plan_price(spec, gpu);
      for (const auto& prec : spec.precisions) {
        for (const auto& eng : spec.engines) {
          for (int64_t tb : spec.token_budgets) {
            for (int64_t ms : spec.max_seqs) {
              for (int tp : spec.tp) {
                for (int pp : spec.pp) {
                  for (int ep : spec.ep) {
                    Candidate c;
                    c.model = model;
                    c.gpu = gpu.name;
                    c.precision = prec;
                    c.engine = eng;
                    c.token_budget = tb;
                    c.max_seqs = ms;
                    c.tp = tp;
                    c.pp = pp;
                    c.ep = ep;
                    c.gpus_per_node = std::max(1, gpu.intra_node.gpus_per_node);
                    c.usd_per_gpu_hour = price > 0 ? price : 0;
                    // The catalog's kernel profile choice for this GPU, written into every scenario so
                    // that each runs alone to the same numbers (--profile changes the catalog).
                    if (gpu.calibrated_profile && !gpu.calibrated_profile->file.empty()) {
                      c.profile_choice = gpu.calibrated_profile->file;
                    } else if (spec.profile_defaults) {
                      c.profile_choice = "defaults";
                    }
                    c.max_model_len = max_model_len;
                    std::string layout = fmt::format("tp{}", tp);
                    if (pp > 1) layout += fmt::format(" pp{}", pp);
                    if (ep > 1) layout += fmt::format(" ep{}", ep);
                    std::string knobs;
                    if (tb > 0) knobs += fmt::format(" budget {}", tb);
                    if (ms > 0) knobs += fmt::format(" seqs {}", ms);
                    const std::string mname = spec.models.size() > 1 ? model + " " : "";
                    if (spec.aggregated) {
                      c.label = fmt::format("{}{} {} {} {}{}", mname, gpu.name, prec, eng, layout, knobs);
                      c.gpus_per_unit = tp * pp;
                      out.push_back(c);
                    }
                    for (const auto& [p, d] : spec.pd_ratios) {
                      Candidate dc = c;
                      dc.prefill = p;
                      dc.decode = d;
                      dc.label = fmt::format("{}{} {} {} P{}:D{} {}{}", mname, gpu.name, prec, eng, p, d, layout, knobs);
                      dc.gpus_per_unit = tp * pp * (p + d);
                      out.push_back(dc);
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  if (out.size() > 100000) throw ConfigError(spec.file, fmt::format("expected at most 100,000 candidates, found {}", out.size()));
  (void)notes;
  return out;
}

const char* kStatNames[5] = {"mean", "p50", "p90", "p95", "p99"};

double input_at(const ServePlanSpec& spec, const std::string& stat) {
  for (int i = 0; i < 5; ++i) {
    if (stat == kStatNames[i]) return spec.input_quantile[i];
  }
  return spec.mean_input;
}

// One iteration's time from the cost chain (sim::estimate) for the unit's scenario.
double iteration_s(const std::string& text, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                   const char* phase, int64_t sequences, int64_t length) {
  sim::ResolveOptions o;
  o.overrides.push_back({"serve.iteration",
                         fmt::format("{{phase: {}, sequences: {}, {}: {}}}", phase, sequences,
                                     std::string(phase) == "decode" ? "context" : "prompt", length),
                         "the plan's screen"});
  const auto s = sim::resolve_scenario_text(text, "screen", hardware, models, o).scenario;
  return sim::estimate(s, sim::EstimateKind::kServeIteration).total_s;
}

// The analytic screen: can the unit run at all, can it meet the latency objectives unloaded,
// and how fast could it go at best. Sets c.rejected or c.bound_rate.
void screen(const ServePlanSpec& spec, Candidate& c, const hw::HardwareCatalog& hardware,
            const model::ModelCatalog& models) {
  c.unit_text = detail::scenario_text(spec, c, 1, spec.rate_per_s, spec.requests);
  sim::Scenario s;
  try {
    s = sim::resolve_scenario_text(c.unit_text, "candidate", hardware, models).scenario;
  } catch (const ConfigError& e) {
    c.rejected = e.what();
  } catch (const InputError& e) {
    c.rejected = e.what();
  }
  if (!c.rejected.empty()) {
    // "candidate:12: serve.parallel: ..." → the reason alone.
    const size_t cut = c.rejected.find(": ");
    if (c.rejected.rfind("candidate", 0) == 0 && cut != std::string::npos) c.rejected = c.rejected.substr(cut + 2);
    c.rejected_by = "memory or configuration";
    return;
  }
  c.profile = sim::efficiency_source(s);
  const serve::ServeConfig& cfg = *s.serve->sim;
  const int64_t mean_in = std::max<int64_t>(1, std::llround(spec.mean_input));
  const int64_t mean_out = std::max<int64_t>(1, std::llround(spec.mean_output));
  // Unloaded bounds: a single request's prefill (the objective's prompt quantile) and decode step.
  const double decode1 = iteration_s(c.unit_text, hardware, models, "decode", 1, mean_in);
  for (const auto& b : spec.slo) {
    double lower = 0;
    if (b.metric == "ttft") {
      const auto prompt = static_cast<int64_t>(input_at(spec, b.stat));
      lower = iteration_s(c.unit_text, hardware, models, "prefill", 1, std::max<int64_t>(1, prompt));
    } else if (b.metric == "tpot") {
      lower = decode1;
    }
    if (lower > b.limit_s) {
      c.rejected = fmt::format("{} cannot be met: {:.4g} s even for a lone request (the cost chain's fastest "
                               "iteration), over the objective of {:.4g} s",
                               b.key(), lower, b.limit_s);
      c.rejected_by = "latency bound";
      return;
    }
  }
  if (spec.min_user_tokens_per_s > 0 && 1.0 / decode1 < spec.min_user_tokens_per_s) {
    c.rejected = fmt::format("min_tokens_per_s_per_user cannot be met: {:.4g} tokens/s for a lone request, under {:.4g}",
                             1.0 / decode1, spec.min_user_tokens_per_s);
    c.rejected_by = "latency bound";
    return;
  }
  // Throughput bound: decode at the largest batch the KV cache and the scheduler allow, prefill at
  // the token budget, no overheads.
  const auto layout = cfg.disagg ? cfg.disagg->decode.layout : s.serve->layout;
  const serve::ReplicaMemory rm = serve::replica_memory(s.model, s.gpu, s.precision, cfg, layout);
  const double kv_tokens = static_cast<double>(rm.blocks) * static_cast<double>(cfg.kv.block_size);
  const int64_t batch = std::clamp<int64_t>(
      static_cast<int64_t>(kv_tokens / static_cast<double>(mean_in + mean_out)), 1, std::max<int64_t>(1, cfg.scheduler.max_seqs));
  const double decode_tps =
      static_cast<double>(batch) / iteration_s(c.unit_text, hardware, models, "decode", batch, mean_in + mean_out / 2);
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(cfg.scheduler.token_budget, mean_in));
  const int64_t seqs = std::max<int64_t>(1, cfg.scheduler.token_budget / chunk);
  const double prefill_tps =
      static_cast<double>(seqs * chunk) / iteration_s(c.unit_text, hardware, models, "prefill", seqs, chunk);
  const double t_in = spec.mean_input / prefill_tps, t_out = spec.mean_output / decode_tps;
  if (c.prefill > 0) {
    c.bound_rate = std::min(c.prefill / t_in, c.decode / t_out);
  } else {
    c.bound_rate = 1.0 / (t_in + t_out);
  }
  c.prefill_share_bound = t_in / (t_in + t_out);
  if (spec.max_gpus > 0) {
    const double units = std::ceil(spec.rate_per_s / ((1 - spec.headroom) * c.bound_rate));
    if (units * c.gpus_per_unit > static_cast<double>(spec.max_gpus)) {
      c.rejected = fmt::format("needs at least {:.0f} GPUs even at the cost chain's best throughput ({:.4g} requests/s "
                               "per unit), over the limit of {}",
                               units * c.gpus_per_unit, c.bound_rate, spec.max_gpus);
      c.rejected_by = "GPU limit";
    }
  }
}

// Simulator runs, identified by their resolved scenario's hash, cached in memory and, with a
// database, in a sweep of that database (so an interrupted plan resumes without rerunning them).
class ProbeCache {
 public:
  ProbeCache(const std::string& db, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
             const std::atomic<bool>* cancel)
      : hardware_(hardware), models_(models), cancel_(cancel) {
    if (db.empty()) return;
    store_ = std::make_unique<store::SweepStore>(store::SweepStore::open(db, true));
    store::SweepInfo info;
    info.spec_text = "fathom plan serve: simulator runs of candidate serving units, by scenario hash\n";
    info.spec_hash = sha256_hex(info.spec_text);
    info.name = "plan-serve-probes";
    info.command = "serve";
    info.axes_json = "[\"scenario_hash\"]";
    // Points are keyed by the first 60 bits of the scenario hash; the spec has no fixed count.
    info.points = int64_t{1} << 60;
    sweep_id_ = store_->ensure_sweep(info);
    for (const auto& row : store_->points(sweep_id_)) stored_[row.scenario_hash] = row;
  }

  Probe run(const std::string& unit_text, double rate, const ServePlanSpec& spec, const Candidate& c) {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Cancelled("the plan was cancelled");
    const std::string text = detail::scenario_text(spec, c, 1, rate, spec.requests);
    (void)unit_text;
    const std::string hash = sha256_hex(text);
    Probe p;
    p.rate = rate;
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
      for (const auto& [k, v] : serve::headline_metrics(r)) m[k] = v;
      // Whole-run percentiles (p50–p95 objectives), and the window's intervals under _lo/_hi.
      const std::pair<const char*, const serve::Percentiles*> whole[] = {{"ttft", &r.ttft}, {"tpot", &r.tpot}, {"e2e", &r.e2e}};
      for (const auto& [name, pc] : whole) {
        m[fmt::format("{}_p50_s", name)] = pc->p50 / 1e9;
        m[fmt::format("{}_p90_s", name)] = pc->p90 / 1e9;
        m[fmt::format("{}_p95_s", name)] = pc->p95 / 1e9;
      }
      const double dur = r.window.duration_s > 0 ? r.window.duration_s : r.makespan_s;
      m["input_tokens_per_s"] = dur > 0 ? static_cast<double>(r.window.input_tokens) / dur : 0.0;
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

  // Writes the runs made since the last flush (one transaction).
  void flush() {
    std::lock_guard lock(mu_);
    if (store_ && !pending_.empty()) store_->add_points(sweep_id_, pending_);
    pending_.clear();
  }

 private:
  static Probe from_row(const store::SweepPointRow& row, double rate) {
    Probe p;
    p.rate = rate;
    p.ran = row.status == "ok";
    p.message = row.message;
    p.verdict = row.verdict;
    if (p.ran) {
      const auto j = nlohmann::json::parse(row.metrics_json);
      for (auto it = j.begin(); it != j.end(); ++it) {
        p.m[it.key()] = it.value().is_number() ? it.value().get<double>() : std::numeric_limits<double>::quiet_NaN();
      }
      // Interval bounds under the names the checks use.
      for (const char* k : {"ttft_p99_s", "tpot_p99_s", "e2e_p99_s", "ttft_mean_s", "tpot_mean_s", "e2e_mean_s",
                            "queue_growth_req_per_s"}) {
        p.m[std::string(k) + "_lo"] = p.get(std::string(k) + "_ci95_lo");
        p.m[std::string(k) + "_hi"] = p.get(std::string(k) + "_ci95_hi");
      }
    }
    return p;
  }

  const hw::HardwareCatalog& hardware_;
  const model::ModelCatalog& models_;
  const std::atomic<bool>* cancel_;
  std::unique_ptr<store::SweepStore> store_;
  int64_t sweep_id_ = 0;
  std::mutex mu_;
  std::map<std::string, store::SweepPointRow> stored_;
  std::vector<store::SweepPointRow> pending_;
};

// The highest rate one unit carries with every objective met and a stable verdict: bracketed
// from the cost chain's bound, then bisected to the plan's tolerance.
void search(const ServePlanSpec& spec, Candidate& c, ProbeCache& cache) {
  auto probe = [&](double rate) {
    ++c.probes;
    return cache.run(c.unit_text, rate, spec, c);
  };
  double lo = 0.05 * c.bound_rate;
  Probe plo = probe(lo);
  detail::Check k = detail::check_probe(spec, plo);
  if (!k.ok) {
    if (!plo.ran) {
      c.rejected = plo.message;
    } else if (k.binding == "stability") {
      c.rejected = fmt::format("no rate meets the objectives: at {:.4g} requests/s (5% of the bound) the run is {}{}", lo,
                               plo.verdict,
                               plo.verdict == serve::kUndetermined
                                   ? " (no steady-state window: fewer than 400 requests after the warm-up; raise "
                                     "search.requests or give a longer trace)"
                                   : "");
    } else {
      c.rejected = fmt::format("no rate meets the objectives: at {:.4g} requests/s (5% of the bound) {} is {:.4g}, over {:.4g}",
                               lo, k.binding, k.value, k.limit);
    }
    c.rejected_by = "search";
    c.binding = k.binding;
    return;
  }
  double hi = c.bound_rate;
  Probe phi = probe(hi);
  detail::Check khi = detail::check_probe(spec, phi);
  for (int i = 0; i < 6 && khi.ok; ++i) {  // the bound was not one: widen the bracket
    lo = hi;
    plo = phi;
    hi *= 2;
    phi = probe(hi);
    khi = detail::check_probe(spec, phi);
  }
  if (khi.ok) {
    c.rejected = fmt::format("no rate up to {:.4g} requests/s (64 times the cost chain's bound) overloads the unit; check "
                             "the objectives",
                             hi);
    c.rejected_by = "search";
    return;
  }
  while ((hi - lo) > spec.tolerance * lo) {
    const double mid = 0.5 * (lo + hi);
    Probe pm = probe(mid);
    detail::Check km = detail::check_probe(spec, pm);
    if (km.ok) {
      lo = mid;
      plo = pm;
    } else {
      hi = mid;
      phi = pm;
      khi = km;
    }
  }
  c.capacity = lo;
  c.at_capacity = plo;
  c.binding = khi.binding;
  // Interval: the binding metric's 95% interval at the capacity carried to the rate axis by the
  // bracket's slope (delta method); the bracket itself when the metric has no interval.
  c.capacity_lo = lo;
  c.capacity_hi = hi;
  // For stability the metric is the queue's growth, whose interval the window gives too.
  const std::string metric = khi.binding == "stability" ? "queue_growth_req_per_s" : khi.binding;
  const double v_lo = plo.get(metric), v_hi = phi.get(metric);
  const double ci_lo = plo.get(metric + "_lo"), ci_hi = plo.get(metric + "_hi");
  if (v_hi > v_lo && ci_hi == ci_hi && ci_lo == ci_lo) {
    const double slope = (v_hi - v_lo) / (hi - lo);
    const double half = 0.5 * (ci_hi - ci_lo) / slope;
    c.capacity_lo = std::max(0.0, std::min(lo, lo - half));
    c.capacity_hi = std::max(hi, lo + half);
  }
  // The fleet at the plan's headroom.
  c.units = static_cast<int64_t>(std::ceil(spec.rate_per_s / ((1 - spec.headroom) * c.capacity) - 1e-12));
  c.units = std::max<int64_t>(1, c.units);
  if (spec.max_gpus > 0 && c.units * c.gpus_per_unit > spec.max_gpus) {
    c.rejected = fmt::format("needs {} GPUs ({} units of {} at {:.4g} requests/s each), over the limit of {}",
                             c.units * c.gpus_per_unit, c.units, c.gpus_per_unit, c.capacity, spec.max_gpus);
    c.rejected_by = "GPU limit";
    return;
  }
  c.at_plan = probe(spec.rate_per_s / static_cast<double>(c.units));
}

// Runs body(i) for i < n on the plan's threads while the calling thread reports progress.
void run_stage(const char* stage, size_t n, const PlanOptions& o, const std::function<void(size_t)>& body,
               std::chrono::steady_clock::time_point t0) {
  std::atomic<int64_t> done{0};
  std::exception_ptr error;
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread worker([&] {
    try {
      parallel_for(n, o.jobs, [&](size_t i) {
        body(i);
        done.fetch_add(1);
      });
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_all();
  });
  auto report = [&] {
    if (!o.on_progress) return;
    PlanProgress p;
    p.stage = stage;
    p.done = done.load();
    p.total = static_cast<int64_t>(n);
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.on_progress(p);
  };
  report();
  {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished; })) {
      lock.unlock();
      report();
      lock.lock();
    }
  }
  worker.join();
  if (error) std::rethrow_exception(error);
  report();
}

}  // namespace

PlanReport plan_serve(const ServePlanSpec& spec, const PlanInput& input, const hw::HardwareCatalog& hardware,
                      const model::ModelCatalog& models, const PlanOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> notes;
  std::vector<Candidate> cands = enumerate(spec, hardware, models, notes);
  run_stage("screen", cands.size(), options, [&](size_t i) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) throw Cancelled("the plan was cancelled");
    screen(spec, cands[i], hardware, models);
  }, t0);
  std::vector<size_t> live;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].feasible()) live.push_back(i);
  }
  ProbeCache cache(options.database, hardware, models, options.cancel);
  try {
    run_stage("search", live.size(), options, [&](size_t k) {
      search(spec, cands[live[k]], cache);
      if (!options.database.empty()) cache.flush();
    }, t0);
  } catch (...) {
    cache.flush();  // what finished is kept: the next run resumes from it
    throw;
  }
  // The whole fleets of the best rows, at the plan's rate.
  std::vector<size_t> order;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].feasible()) order.push_back(i);
  }
  if (order.empty()) {
    std::map<std::string, int> by;
    for (const auto& c : cands) by[c.rejected_by]++;
    std::string why;
    for (const auto& [k, n] : by) why += fmt::format("{}{} by {}", why.empty() ? "" : ", ", n, k);
    std::string example = cands.empty() ? std::string("none") : cands.front().label + ": " + cands.front().rejected;
    throw ConfigError(spec.file, fmt::format("expected at least one candidate that meets the objectives, found none of "
                                             "{} ({}); e.g. {}",
                                             cands.size(), why, example));
  }
  std::vector<size_t> top = detail::ranking(spec, cands);
  if (static_cast<int64_t>(top.size()) > spec.verify) top.resize(static_cast<size_t>(spec.verify));
  run_stage("verify", top.size(), options, [&](size_t k) {
    Candidate& c = cands[top[k]];
    const std::string text = detail::scenario_text(spec, c, c.units, spec.rate_per_s, spec.requests * c.units);
    const auto s = sim::resolve_scenario_text(text, "fleet", hardware, models).scenario;
    serve::ServeOptions o;
    o.cancel = options.cancel;
    const serve::ServeResult r = serve::simulate(s, o);
    Probe p;
    p.ran = true;
    p.verdict = r.saturation_verdict;
    for (const auto& [key, v] : serve::headline_metrics(r)) p.m[key] = v;
    const std::pair<const char*, const serve::Percentiles*> whole[] = {{"ttft", &r.ttft}, {"tpot", &r.tpot}, {"e2e", &r.e2e}};
    for (const auto& [name, pc] : whole) {
      p.m[fmt::format("{}_p50_s", name)] = pc->p50 / 1e9;
      p.m[fmt::format("{}_p90_s", name)] = pc->p90 / 1e9;
      p.m[fmt::format("{}_p95_s", name)] = pc->p95 / 1e9;
    }
    const detail::Check k2 = detail::check_probe(spec, p);
    c.fleet = p;
    c.verified = k2.ok ? "meets SLOs" : fmt::format("misses {} ({:.4g} over {:.4g})", k2.binding, k2.value, k2.limit);
  }, t0);
  return detail::build_report(spec, input, cands, notes);
}

}  // namespace fathom::plan
