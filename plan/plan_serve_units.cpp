// The candidate serving units of `fathom plan serve`: their scenarios, the checks of a probe
// against the plan's objectives, and the analytic screen (plan/plan_serve_detail.h).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "hw/profile.h"
#include "plan/plan_serve_detail.h"
#include "sim/estimate.h"
#include "sim/model/model_spec.h"
#include "sim/scenario.h"
#include "sim/serve/simulator.h"

namespace fathom::plan::detail {

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

namespace {

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

}  // namespace

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

// The analytic screen: can the unit run at all, can it meet the latency objectives unloaded,
// and how fast could it go at best. Sets c.rejected or c.bound_rate.
void screen(const ServePlanSpec& spec, Candidate& c, const hw::HardwareCatalog& hardware,
            const model::ModelCatalog& models) {
  c.unit_text = scenario_text(spec, c, 1, spec.rate_per_s, spec.requests);
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


}  // namespace fathom::plan::detail
