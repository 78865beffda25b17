#include "plan/sweep.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/parallel.h"
#include "common/version.h"
#include "plan/point_metrics.h"
#include "sim/estimate.h"
#include "sim/scenario.h"
#include "sim/serve/simulator.h"
#include "sim/train/train.h"

namespace fathom::plan {

namespace {

std::string metrics_json(const Metrics& m) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m) {
    if (std::isfinite(v)) j[k] = v;
    else j[k] = nullptr;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Metrics run_command(SweepCommand command, const std::string& phase, const sim::Scenario& s, std::string& verdict,
                    std::optional<int64_t>& seed) {
  switch (command) {
    case SweepCommand::kEstimate: {
      sim::EstimateKind kind;
      if (phase == "train" || (phase.empty() && s.train && !s.serve)) {
        if (!s.train) throw InputError(s.file, "expected a 'train' section for phase: train, found none");
        kind = sim::EstimateKind::kTrainStep;
      } else {
        if (!s.serve) throw InputError(s.file, "expected a 'serve' section for phase: serve, found none");
        if (phase.empty() && s.train) {
          throw InputError(s.file, "expected 'phase: train' or 'phase: serve' in the sweep spec: the scenario has both sections");
        }
        kind = sim::EstimateKind::kServeIteration;
      }
      return estimate_metrics(sim::estimate(s, kind));
    }
    case SweepCommand::kTrain: {
      if (!s.train) throw InputError(s.file, "expected a 'train' section for command: train, found none");
      train::TrainModel tm(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                           s.profile);
      train::TrainResult r = tm.evaluate(*s.train, s.train->tokens);
      if (!r.feasible()) throw ConfigError(s.file, "'train." + r.infeasible->field + "': " + r.infeasible->reason);
      return train_metrics(r);
    }
    case SweepCommand::kServe: {
      if (!s.serve || !s.serve->sim) throw InputError(s.file, "expected a 'serve' section with a 'workload', found none");
      seed = static_cast<int64_t>(s.serve->sim->workload.seed);
      serve::ServeResult r = serve::simulate(s);
      verdict = r.saturation_verdict;
      return serve_metrics(r);
    }
  }
  return {};
}

}  // namespace

PointResult run_scenario(SweepCommand command, const std::string& phase, const sim::Scenario& s) {
  PointResult r;
  r.metrics_json = metrics_json(run_command(command, phase, s, r.verdict, r.seed));
  return r;
}

store::SweepPointRow run_point(const SweepSpec& spec, int64_t point, const hw::HardwareCatalog& hardware,
                               const model::ModelCatalog& models) {
  store::SweepPointRow row;
  row.point = point;
  row.values_json = point_values_json(spec, point);
  row.fathom_version = version();
  sim::ResolveOptions o;
  o.profile = spec.profile;
  o.profile_where = spec.file + ": profile";
  o.overrides = point_overrides(spec, point);
  try {
    // The base scenario as read with the spec, named by its path (its relative paths resolve
    // against its folder, and errors name its lines).
    const sim::ResolvedScenario r = sim::resolve_scenario_text(spec.scenario_text, spec.scenario_path, hardware, models, o);
    row.scenario_text = r.text;
    row.scenario_hash = r.hash;
    row.profile = sim::efficiency_source(r.scenario);
    PointResult pr = run_scenario(spec.command, spec.phase, r.scenario);
    row.metrics_json = std::move(pr.metrics_json);
    row.verdict = std::move(pr.verdict);
    row.seed = pr.seed;
    row.status = "ok";
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& e) {
    row.status = "failed";
    row.message = e.what();
    row.metrics_json = "{}";
  }
  return row;
}

SweepSummary run_sweep(const SweepSpec& spec, store::SweepStore& db, const hw::HardwareCatalog& hardware,
                       const model::ModelCatalog& models, const SweepOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count) {
    throw FlagError("--shard", fmt::format("expected i/N with 0 <= i < N, found {}/{}", options.shard_index, options.shard_count));
  }
  SweepSummary sum;
  sum.points = spec.points;
  store::SweepInfo info;
  info.spec_hash = spec.hash;
  info.name = spec.name;
  info.command = to_string(spec.command);
  info.points = spec.points;
  info.axes_json = nlohmann::json(spec.columns()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  info.spec_text = spec.text;
  sum.sweep_id = db.ensure_sweep(info);

  // This shard's points not stored yet, ascending.
  const std::vector<int64_t> done = db.done_points(sum.sweep_id);
  std::vector<int64_t> todo;
  for (int64_t p = options.shard_index; p < spec.points; p += options.shard_count) {
    ++sum.in_shard;
    if (std::binary_search(done.begin(), done.end(), p)) ++sum.stored_before;
    else todo.push_back(p);
  }

  SweepProgress prog;
  prog.total = static_cast<int64_t>(todo.size());
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const int threads = options.jobs > 0 ? options.jobs : default_threads();
  // Batches grow or shrink so that each takes about batch_s: a kill loses at most that much.
  size_t batch = static_cast<size_t>(std::max(1, threads));
  size_t next = 0;
  int64_t lowest_failure = -1;
  while (next < todo.size()) {
    if (options.cancel != nullptr && options.cancel->load()) {
      throw Cancelled(fmt::format("sweep stopped after {} of {} points; run it again to continue", prog.done, prog.total));
    }
    const size_t n = std::min(batch, todo.size() - next);
    std::vector<store::SweepPointRow> rows(n);
    const double b0 = elapsed();
    parallel_for(n, threads, [&](size_t i) { rows[i] = run_point(spec, todo[next + i], hardware, models); });
    db.add_points(sum.sweep_id, rows);
    const double took = elapsed() - b0;
    for (const auto& r : rows) {
      if (r.status != "ok") {
        ++prog.failed;
        if (lowest_failure < 0 || r.point < lowest_failure) {
          lowest_failure = r.point;
          sum.first_failure = fmt::format("point {}: {}", r.point, r.message);
        }
      }
    }
    next += n;
    prog.done += static_cast<int64_t>(n);
    prog.elapsed_s = elapsed();
    if (options.on_progress) options.on_progress(prog);
    // Aim the next batch at batch_s, within [threads, 64 × threads] points.
    const double per_point = took / static_cast<double>(n);
    const double want = per_point > 0 ? options.batch_s / per_point : static_cast<double>(batch * 2);
    batch = std::clamp(static_cast<size_t>(want), static_cast<size_t>(threads), static_cast<size_t>(threads) * 64);
  }
  if (todo.empty() && options.on_progress) options.on_progress(prog);
  sum.computed = prog.done;
  sum.failed = prog.failed;
  return sum;
}

}  // namespace fathom::plan
