// `fathom plan serve`: the bisection of each unit's capacity on the simulator, the stages on the
// plan's threads and the whole-fleet checks (plan/plan_serve.h; method: docs/planning.md). The
// units, their screen and scenarios are in plan_serve_units.cpp, the cached simulator runs in
// plan_serve_probe.cpp, the report in plan_serve_report.cpp.
#include "plan/plan_serve.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/error.h"
#include "common/parallel.h"
#include "plan/plan_serve_detail.h"
#include "sim/scenario.h"
#include "sim/serve/simulator.h"
#include "sim/serve/window.h"

namespace fathom::plan {

namespace {

using detail::Candidate;
using detail::Probe;

// The highest rate one unit carries with every objective met and a stable verdict: bracketed
// from the cost chain's bound, then bisected to the plan's tolerance.
void bisect(const ServePlanSpec& spec, Candidate& c, detail::ProbeCache& cache) {
  auto probe = [&](double rate) {
    ++c.probes;
    return cache.run(spec, c, rate);
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
}

// The fleet at the plan's headroom, and one unit at its planned rate.
void size_fleet(const ServePlanSpec& spec, Candidate& c, detail::ProbeCache& cache) {
  c.units = static_cast<int64_t>(std::ceil(spec.rate_per_s / ((1 - spec.headroom) * c.capacity) - 1e-12));
  c.units = std::max<int64_t>(1, c.units);
  if (spec.max_gpus > 0 && c.units * c.gpus_per_unit > spec.max_gpus) {
    c.rejected = fmt::format("needs {} GPUs ({} units of {} at {:.4g} requests/s each), over the limit of {}",
                             c.units * c.gpus_per_unit, c.units, c.gpus_per_unit, c.capacity, spec.max_gpus);
    c.rejected_by = "GPU limit";
    return;
  }
  ++c.probes;
  c.at_plan = cache.run(spec, c, spec.rate_per_s / static_cast<double>(c.units));
}

// The capacity of a unit (search.replications > 1: the mean of independent bisections with
// seeds seed, seed + 1, ..., and their t interval), then its fleet.
void search(const ServePlanSpec& spec, Candidate& c, detail::ProbeCache& cache) {
  if (spec.replications <= 1) {
    bisect(spec, c, cache);
    if (c.feasible()) size_fleet(spec, c, cache);
    return;
  }
  std::vector<double> caps;
  Candidate first;
  for (int r = 0; r < spec.replications; ++r) {
    ServePlanSpec sr = spec;
    sr.seed = spec.seed + static_cast<uint64_t>(r);
    Candidate cr = c;
    bisect(sr, cr, cache);
    c.probes += cr.probes;
    if (!cr.feasible()) {  // any replication that finds no rate drops the unit
      const int probes = c.probes;
      c = cr;
      c.probes = probes;
      c.rejected += fmt::format(" (replication {} of {}, seed {})", r + 1, spec.replications, sr.seed);
      return;
    }
    caps.push_back(cr.capacity);
    if (r == 0) first = cr;
  }
  const int probes = c.probes;
  c = first;
  c.probes = probes;
  const double n = static_cast<double>(caps.size());
  double mean = 0, ss = 0;
  for (double x : caps) mean += x / n;
  for (double x : caps) ss += (x - mean) * (x - mean);
  const double half = serve::student_t975(static_cast<int>(caps.size()) - 1) * std::sqrt(ss / (n - 1) / n);
  c.capacity = mean;
  c.capacity_lo = std::max(0.0, mean - half);
  c.capacity_hi = mean + half;
  size_fleet(spec, c, cache);
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
  std::vector<Candidate> cands = detail::enumerate(spec, hardware, models, notes);
  run_stage("screen", cands.size(), options, [&](size_t i) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) throw Cancelled("the plan was cancelled");
    detail::screen(spec, cands[i], hardware, models);
  }, t0);
  std::vector<size_t> live;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].feasible()) live.push_back(i);
  }
  detail::ProbeCache cache(options.database, hardware, models, options.cancel);
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
    const Probe p = detail::make_probe(spec.rate_per_s, r.saturation_verdict, detail::run_figures(r));
    const detail::Check k2 = detail::check_probe(spec, p);
    c.fleet = p;
    c.verified = k2.ok ? "meets SLOs" : fmt::format("misses {} ({:.4g} over {:.4g})", k2.binding, k2.value, k2.limit);
  }, t0);
  return detail::build_report(spec, input, cands, notes);
}

}  // namespace fathom::plan
