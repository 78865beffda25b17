#include "plan/sweep_curve.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "fit/fitter.h"
#include "fit/law.h"

namespace fathom::plan {

namespace {

using ojson = nlohmann::ordered_json;

struct Point {
  double rate = 0, value = 0, served = 0;
  std::string verdict;
};

// 1.96·sqrt(gᵀ Σ g) for the gradient g over (l0, c, mu).
double half_width(const std::vector<double>& cov, const double g[3]) {
  if (cov.size() != 9) return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v += g[i] * cov[static_cast<size_t>(3 * i + j)] * g[j];
  }
  return v >= 0 ? 1.959963984540054 * std::sqrt(v) : std::numeric_limits<double>::quiet_NaN();
}

void fit_group(CurveGroup& g, std::vector<Point> pts, const CurveOptions& o) {
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.rate < b.rate; });
  fit::Dataset d;
  d.source = g.label;
  d.x.resize(1);
  for (const auto& p : pts) {
    if (p.verdict == "overloaded") {
      if (g.overloaded_from == 0) g.overloaded_from = p.rate;
      g.capacity_req_per_s = std::max(g.capacity_req_per_s, p.served);
      continue;
    }
    if (p.verdict != "stable" && p.verdict != "near saturation") continue;
    if (g.overloaded_from > 0 && p.rate >= g.overloaded_from) continue;  // beyond the first overload
    if (!std::isfinite(p.value) || p.value <= 0) continue;
    d.x[0].push_back(p.rate);
    d.y.push_back(p.value);
    d.lines.push_back(0);
  }
  g.fitted = static_cast<int>(d.size());
  if (d.size() < 4) {
    g.message = fmt::format("expected at least 4 stable points to fit 3 parameters, found {}", d.size());
    return;
  }
  auto law = fit::make_law("latency_load");
  law->scale_to_data(d.x, d.y);
  fit::Options fo = fit::default_options(*law);
  fo.threads = 1;  // groups are few; the result must not depend on threads
  const fit::FitResult r = fit::fit(*law, d, fo);
  if (!r.converged) {
    g.message = "the fit did not converge: " + r.message;
    return;
  }
  g.ok = true;
  g.l0 = r.params[0];
  g.c = r.params[1];
  g.mu = r.params[2];
  g.r2 = r.metrics.r2;
  // Knee: W = 2·L0, i.e. ρ/(1 − ρ) = L0/c.
  const double s = g.l0 + g.c;
  g.knee = g.mu * g.l0 / s;
  const double gk[3] = {g.mu * g.c / (s * s), -g.mu * g.l0 / (s * s), g.l0 / s};
  const double hk = half_width(r.covariance, gk);
  g.knee_lo = g.knee - hk;
  g.knee_hi = g.knee + hk;
  if (o.slo_s > 0) {
    const double a = o.slo_s - g.l0;
    if (a <= 0) {
      g.message = fmt::format("the SLO {} s is below the no-load latency {:.4g} s: no rate meets it", o.slo_s, g.l0);
    } else {
      const double t = a + g.c;
      g.slo_rate = g.mu * a / t;
      const double gs[3] = {-g.mu * g.c / (t * t), -g.mu * a / (t * t), a / t};
      const double hs = half_width(r.covariance, gs);
      g.slo_lo = g.slo_rate - hs;
      g.slo_hi = g.slo_rate + hs;
      if (g.overloaded_from > 0 && g.slo_rate > g.overloaded_from) {
        // The law puts it beyond a rate the simulator found overloaded: the bound is what is known.
        g.slo_rate = g.overloaded_from;
        g.slo_lo = std::min(g.slo_lo, g.overloaded_from);
        g.slo_hi = g.overloaded_from;
        g.slo_capped = true;
      }
    }
  }
  if (g.overloaded_from > 0 && g.knee > g.overloaded_from) g.message = "the knee lies beyond the first overloaded rate";
}

}  // namespace

std::vector<CurveGroup> fit_curves(const store::SweepStore& db, const store::SweepInfo& sweep, const CurveOptions& o,
                                   const std::string& db_path) {
  if (sweep.command != "serve") throw InputError(db_path, "expected a serving sweep for curves, found a " + sweep.command + " sweep");
  const auto axes = nlohmann::json::parse(sweep.axes_json).get<std::vector<std::string>>();
  if (std::find(axes.begin(), axes.end(), o.rate_axis) == axes.end()) {
    throw InputError(db_path, fmt::format("expected sweep '{}' to have a rate axis ({}), found axes {}", sweep.name, o.rate_axis,
                                          sweep.axes_json));
  }
  // Groups in the order their first point comes (the spec's order of the other axes' values).
  std::vector<std::string> order;
  std::map<std::string, std::vector<Point>> groups;
  std::map<std::string, int> counts;
  bool metric_seen = false;
  for (const auto& row : db.points(sweep.id)) {
    const ojson values = ojson::parse(row.values_json);
    std::string label;
    for (const auto& a : axes) {
      if (a == o.rate_axis) continue;
      label += fmt::format("{}{}={}", label.empty() ? "" : ", ", a, values[a].is_string() ? values[a].get<std::string>() : values[a].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (counts[label]++ == 0) order.push_back(label);
    if (row.status != "ok") continue;
    const ojson m = ojson::parse(row.metrics_json);
    Point p;
    p.rate = values[o.rate_axis].is_number() ? values[o.rate_axis].get<double>() : std::nan("");
    if (m.contains(o.metric)) {
      metric_seen = true;
      p.value = m[o.metric].is_number() ? m[o.metric].get<double>() : std::nan("");
    }
    p.served = m.contains("served_req_per_s") && m["served_req_per_s"].is_number() ? m["served_req_per_s"].get<double>() : 0;
    p.verdict = row.verdict;
    groups[label].push_back(p);
  }
  if (!metric_seen && !groups.empty()) {
    throw FlagError("--metric", fmt::format("expected a metric stored with the points (e.g. ttft_p99_s, e2e_mean_s), found '{}'", o.metric));
  }
  std::vector<CurveGroup> out;
  for (const auto& label : order) {
    CurveGroup g;
    g.label = label;
    g.points = counts[label];
    fit_group(g, std::move(groups[label]), o);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace fathom::plan
