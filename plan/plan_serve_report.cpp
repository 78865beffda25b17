// The report of `fathom plan serve`: the ranked fleets, the Pareto fronts, the hourly profile
// and the candidates dropped, with why (plan/plan_serve.h; columns: docs/planning.md).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "common/hash.h"
#include "plan/plan_serve_detail.h"

namespace fathom::plan::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double usd_per_hour(const Candidate& c) {
  return c.usd_per_gpu_hour > 0 ? c.usd_per_gpu_hour * static_cast<double>(c.units * c.gpus_per_unit) : kNaN;
}

// The figure a row is ranked by: $/hour, or GPUs when any candidate is unpriced.
double rank_cost(const Candidate& c, bool priced) {
  return priced ? usd_per_hour(c) : static_cast<double>(c.units * c.gpus_per_unit);
}

double headroom(const ServePlanSpec& spec, const Candidate& c) {
  return 1.0 - spec.rate_per_s / static_cast<double>(c.units) / c.capacity;
}

std::string latency_key(const ServePlanSpec& spec) { return spec.slo.empty() ? "ttft_p99_s" : spec.slo.front().key(); }

std::string layout_text(const Candidate& c) {
  std::string s = fmt::format("tp{}", c.tp);
  if (c.pp > 1) s += fmt::format(" pp{}", c.pp);
  if (c.ep > 1) s += fmt::format(" ep{}", c.ep);
  return s;
}

std::string fleet_text(const ServePlanSpec& spec, const Candidate& c) {
  return scenario_text(spec, c, c.units, spec.rate_per_s, spec.requests * c.units);
}

// The title of the cost-latency front; serve_chart_columns reads its columns back from it.
std::string cost_latency_title(bool priced, const std::string& latency_column) {
  return fmt::format("Pareto front: {} against {} at the planned load", priced ? "$/hour" : "GPUs", latency_column);
}

PlanRow fleet_row(const ServePlanSpec& spec, const Candidate& c) {
  PlanRow r;
  auto add = [&](const std::string& k, PlanValue v) { r.cells.emplace_back(k, std::move(v)); };
  const double gpus = static_cast<double>(c.units * c.gpus_per_unit);
  add("model", c.model);
  add("gpu", c.gpu);
  add("precision", c.precision);
  add("engine", c.engine);
  add("pools", c.prefill > 0 ? fmt::format("P{}:D{}", c.prefill, c.decode) : std::string("aggregated"));
  add("layout", layout_text(c));
  add("scheduler", c.token_budget == 0 && c.max_seqs == 0
                       ? std::string("preset")
                       : fmt::format("{}{}", c.token_budget > 0 ? fmt::format("budget {} ", c.token_budget) : "",
                                     c.max_seqs > 0 ? fmt::format("seqs {}", c.max_seqs) : ""));
  add("gpus_per_unit", static_cast<double>(c.gpus_per_unit));
  add("units", static_cast<double>(c.units));
  add("gpus", gpus);
  add("capacity_req_per_s", c.capacity);
  add("capacity_ci95_lo", c.capacity_lo);
  add("capacity_ci95_hi", c.capacity_hi);
  add("planned_req_per_s", spec.rate_per_s / static_cast<double>(c.units));
  add("headroom", headroom(spec, c));
  std::vector<std::string> keys = {"ttft_p99_s", "tpot_p99_s", "e2e_p99_s"};
  for (const auto& b : spec.slo) {
    if (std::find(keys.begin(), keys.end(), b.key()) == keys.end()) keys.push_back(b.key());
  }
  for (const auto& k : keys) add(k, c.at_plan.get(k));
  const double out_tps = spec.rate_per_s * spec.mean_output;
  add("tokens_per_s_per_gpu", out_tps / gpus);
  add("tokens_per_s_per_user", 1.0 / c.at_plan.get("tpot_mean_s"));
  const double usd_h = usd_per_hour(c);
  const double share = c.at_plan.get("prefill_cost_share");
  add("usd_per_hour", usd_h);
  add("usd_per_m_input_tokens", usd_h * share / (spec.rate_per_s * spec.mean_input * 3600) * 1e6);
  add("usd_per_m_output_tokens", usd_h * (1 - share) / (out_tps * 3600) * 1e6);
  add("usd_per_m_tokens", usd_h / (spec.rate_per_s * (spec.mean_input + spec.mean_output) * 3600) * 1e6);
  add("binding", c.binding);
  add("verdict", c.at_plan.verdict);
  add("verified", c.verified.empty() ? std::string("not run") : c.verified);
  r.scenario_text = fleet_text(spec, c);
  r.scenario_hash = sha256_hex(r.scenario_text);
  r.profile = c.profile;
  return r;
}

}  // namespace

std::vector<size_t> ranking(const ServePlanSpec& /*spec*/, const std::vector<Candidate>& cands) {
  std::vector<size_t> idx;
  bool priced = true;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (!cands[i].feasible()) continue;
    idx.push_back(i);
    priced = priced && cands[i].usd_per_gpu_hour > 0;
  }
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const double ca = rank_cost(cands[a], priced), cb = rank_cost(cands[b], priced);
    if (ca != cb) return ca < cb;
    // Equal cost: the larger cost-chain bound first. It depends on no seed, so rows that cost
    // the same keep their order whatever the simulator draws (their headroom is in the table).
    if (cands[a].bound_rate != cands[b].bound_rate) return cands[a].bound_rate > cands[b].bound_rate;
    return cands[a].label < cands[b].label;
  });
  return idx;
}

PlanReport build_report(const ServePlanSpec& spec, const PlanInput& input, std::vector<Candidate>& cands,
                        const std::vector<std::string>& extra_notes) {
  PlanReport rep;
  rep.kind = "serve";
  rep.name = spec.name;
  rep.input_text = input.text;
  rep.input_hash = input.hash;
  const std::vector<size_t> order = ranking(spec, cands);
  bool priced = true;
  for (size_t i : order) priced = priced && cands[i].usd_per_gpu_hour > 0;

  PlanSection ranked{"ranked", fmt::format("Fleets serving {:.4g} requests/s at the objectives, cheapest first", spec.rate_per_s), {}};
  for (size_t k = 0; k < order.size() && static_cast<int64_t>(k) < spec.top; ++k) ranked.rows.push_back(fleet_row(spec, cands[order[k]]));
  rep.sections.push_back(std::move(ranked));
  // Where the simulator's noise could move a row: the fleet its capacity interval allows.
  for (size_t k = 0; k < order.size() && k < 3; ++k) {
    const Candidate& c = cands[order[k]];
    auto units_at = [&](double cap) {
      return cap > 0 ? static_cast<int64_t>(std::ceil(spec.rate_per_s / ((1 - spec.headroom) * cap) - 1e-12)) : -1;
    };
    const int64_t u_hi = units_at(c.capacity_lo), u_lo = units_at(c.capacity_hi);
    if (u_hi != c.units || u_lo != c.units) {
      rep.notes.push_back(fmt::format("row {} ({}): its capacity interval ({:.4g} to {:.4g} requests/s per unit) allows {} to "
                                      "{} units, so its rank may change with the seed; more requests per probe "
                                      "(search.requests) narrow it",
                                      k + 1, c.label, c.capacity_lo, c.capacity_hi, u_lo, u_hi));
    }
  }

  // Cost against latency (the first objective's figure at the planned load): rows no other row
  // beats on both.
  const std::string lat = latency_key(spec);
  PlanSection pc{"pareto_cost_latency", cost_latency_title(priced, lat), {}};
  double best_lat = std::numeric_limits<double>::infinity();
  for (size_t i : order) {  // cheapest first: a row is on the front when it is faster than every cheaper one
    const double l = cands[i].at_plan.get(lat);
    if (l < best_lat) {
      best_lat = l;
      pc.rows.push_back(fleet_row(spec, cands[i]));
    }
  }
  rep.sections.push_back(std::move(pc));

  // Output tokens/s per GPU against tokens/s per user, both at each unit's capacity.
  PlanSection pt{"pareto_throughput_interactivity",
                 "Pareto front: output tokens/s per GPU against tokens/s per user, at each unit's capacity", {}};
  std::vector<std::pair<double, double>> pts(cands.size());
  std::vector<size_t> by_tput = order;
  for (size_t i : order) {
    const Candidate& c = cands[i];
    pts[i] = {c.capacity * spec.mean_output / c.gpus_per_unit, 1.0 / c.at_capacity.get("tpot_mean_s")};
  }
  std::sort(by_tput.begin(), by_tput.end(), [&](size_t a, size_t b) {
    if (pts[a].first != pts[b].first) return pts[a].first > pts[b].first;
    if (pts[a].second != pts[b].second) return pts[a].second > pts[b].second;
    return cands[a].label < cands[b].label;
  });
  double best_user = -1;
  for (size_t i : by_tput) {
    if (pts[i].second > best_user) {
      best_user = pts[i].second;
      PlanRow r;
      r.cells = {{"model", cands[i].model}, {"gpu", cands[i].gpu}, {"precision", cands[i].precision},
                 {"engine", cands[i].engine}, {"pools", cands[i].prefill > 0 ? fmt::format("P{}:D{}", cands[i].prefill, cands[i].decode) : std::string("aggregated")},
                 {"layout", layout_text(cands[i])}, {"capacity_req_per_s", cands[i].capacity},
                 {"tokens_per_s_per_gpu", pts[i].first}, {"tokens_per_s_per_user", pts[i].second}};
      r.scenario_text = fleet_text(spec, cands[i]);
      r.scenario_hash = sha256_hex(r.scenario_text);
      r.profile = cands[i].profile;
      pt.rows.push_back(std::move(r));
    }
  }
  rep.sections.push_back(std::move(pt));

  // A day of traffic on the best fleet: units per hour (autoscaled) against the peak fleet all day.
  if (!spec.hourly.empty() && !order.empty()) {
    const Candidate& c = cands[order.front()];
    PlanSection hs{"hourly", fmt::format("A day on the top row ({}): autoscaled units per hour against a fixed fleet at the peak", c.label), {}};
    double auto_usd = 0, fixed_usd = 0, auto_gpu_h = 0;
    const double price = c.usd_per_gpu_hour > 0 ? c.usd_per_gpu_hour : kNaN;
    for (size_t h = 0; h < spec.hourly.size(); ++h) {
      const double rate = spec.hourly[h];
      const double units = rate > 0 ? std::max(1.0, std::ceil(rate / ((1 - spec.headroom) * c.capacity) - 1e-12)) : 0.0;
      const double gpus = units * c.gpus_per_unit;
      const double fixed = static_cast<double>(c.units * c.gpus_per_unit);
      auto_usd += gpus * price;
      fixed_usd += fixed * price;
      auto_gpu_h += gpus;
      PlanRow r;
      r.cells = {{"hour", static_cast<double>(h)}, {"rate_req_per_s", rate}, {"units", units}, {"gpus", gpus},
                 {"usd_autoscaled", gpus * price}, {"usd_fixed", fixed * price}};
      hs.rows.push_back(std::move(r));
    }
    rep.notes.push_back(fmt::format("day on {}: autoscaled {:.0f} GPU-hours, ${:.2f}; fixed fleet of {} GPUs ${:.2f} ({:.1f}% saved "
                                    "by autoscaling)",
                                    c.label, auto_gpu_h, auto_usd, c.units * c.gpus_per_unit, fixed_usd,
                                    100.0 * (1 - auto_usd / fixed_usd)));
    rep.sections.push_back(std::move(hs));
  }

  // What was dropped, and why.
  PlanSection rej{"rejected", "Candidates dropped, and why", {}};
  std::map<std::string, int> by;
  int probes = 0;
  for (const auto& c : cands) {
    probes += c.probes;
    if (c.feasible()) continue;
    by[c.rejected_by]++;
    PlanRow r;
    r.cells = {{"candidate", c.label}, {"stage", c.rejected_by}, {"reason", c.rejected}};
    rej.rows.push_back(std::move(r));
  }
  rep.sections.push_back(std::move(rej));
  std::string why;
  for (const auto& [k, n] : by) why += fmt::format(", {} by {}", n, k);
  rep.notes.push_back(fmt::format("{} candidates: {} meet the objectives{}; {} simulator runs of {} requests", cands.size(),
                                  order.size(), why, probes, spec.requests));
  rep.notes.push_back(fmt::format("fleets sized for {:.4g} requests/s at most {:.0f}% of each unit's measured capacity "
                                  "(headroom {})",
                                  spec.rate_per_s, (1 - spec.headroom) * 100, spec.headroom));
  if (!priced) rep.notes.push_back("some GPUs have no price: ranked by GPU count (give prices in the plan or --prices)");
  for (const auto& n : extra_notes) rep.notes.push_back(n);
  return rep;
}

}  // namespace fathom::plan::detail

namespace fathom::plan {

ChartColumns serve_chart_columns(const PlanSection& section) {
  const PlanRow* first = section.rows.empty() ? nullptr : &section.rows.front();
  auto priced = [&](const char* column) {
    if (first == nullptr) return true;
    for (const auto& [name, value] : first->cells) {
      if (name == column) return std::holds_alternative<double>(value) && std::isfinite(std::get<double>(value));
    }
    return false;
  };
  if (section.name == "pareto_cost_latency") {
    // The title is cost_latency_title(priced, latency column): find the column that makes it.
    const std::string head = detail::cost_latency_title(true, "");
    const bool usd = section.title.starts_with(head.substr(0, head.find(" against ")));
    std::string latency;
    if (first != nullptr) {
      for (const auto& [name, value] : first->cells) {
        if (section.title == detail::cost_latency_title(usd, name)) latency = name;
      }
    } else {  // no rows to match: the word between " against " and " at "
      const size_t a = section.title.find(" against "), b = section.title.find(" at the planned load");
      if (a != std::string::npos && b != std::string::npos && b > a + 9) latency = section.title.substr(a + 9, b - a - 9);
    }
    return {latency, usd ? "usd_per_hour" : "gpus"};
  }
  if (section.name == "pareto_throughput_interactivity") return {"tokens_per_s_per_user", "tokens_per_s_per_gpu"};
  if (section.name == "hourly") return {"hour", priced("usd_autoscaled") ? "usd_autoscaled" : "gpus"};
  return {};
}

}  // namespace fathom::plan
