#pragma once
// Running a sweep (plan/sweep_spec.h) into a Fathom database (store/sweep_store.h): points run
// on a thread pool, each resolved from the base scenario and its overrides exactly as
// `fathom COMMAND --set ...` would, and are written in batches of whole points. Running the same
// spec into the same database again computes only the points it lacks, so a sweep killed at any
// moment resumes with no point lost or repeated. Results depend only on the spec and the point,
// never on the thread count, the shard or the order of completion.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "hw/catalog.h"
#include "plan/sweep_spec.h"
#include "sim/scenario.h"
#include "sim/model/model_catalog.h"
#include "store/sweep_store.h"

namespace fathom::plan {

struct SweepProgress {
  int64_t done = 0;      // points of this run finished (ok or failed)
  int64_t total = 0;     // points this run computes (its shard, less those stored before)
  int64_t failed = 0;
  double elapsed_s = 0;
};

struct SweepOptions {
  int jobs = 0;              // threads (≤ 0: the hardware's)
  int64_t shard_index = 0;   // this run takes the points p with p % shard_count == shard_index
  int64_t shard_count = 1;
  // Called from the calling thread after each batch, and at the end. Default: none.
  std::function<void(const SweepProgress&)> on_progress;
  // Checked between points; when set the run stops after writing what has finished and throws
  // fathom::Cancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Longest time between two writes to the database, seconds (a kill loses at most this much
  // work, which the next run recomputes).
  double batch_s = 0.5;
};

struct SweepSummary {
  int64_t sweep_id = 0;
  int64_t points = 0;         // in the whole spec
  int64_t in_shard = 0;       // in this shard
  int64_t stored_before = 0;  // of this shard, found in the database
  int64_t computed = 0;
  int64_t failed = 0;         // of those computed
  std::string first_failure;  // the message of the lowest failed point computed
};

// The command of `spec` run on a resolved scenario: its metrics in order, the saturation verdict
// (serve) and the workload seed (serve). Throws fathom::Error when it cannot run.
struct PointResult {
  std::string metrics_json;
  std::string verdict;
  std::optional<int64_t> seed;
};
PointResult run_scenario(SweepCommand command, const std::string& phase, const sim::Scenario& s);

// One point, resolved and run (the same row whatever computes it).
store::SweepPointRow run_point(const SweepSpec& spec, int64_t point, const hw::HardwareCatalog& hardware,
                               const model::ModelCatalog& models);

SweepSummary run_sweep(const SweepSpec& spec, store::SweepStore& db, const hw::HardwareCatalog& hardware,
                       const model::ModelCatalog& models, const SweepOptions& options = {});

}  // namespace fathom::plan
