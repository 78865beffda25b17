#pragma once
// What the Plans panel runs, free of Qt: the inputs of `fathom plan serve|train|total` as the
// panel holds them, the command line that reproduces them, and the planner call made exactly as
// the CLI makes it (cli/plan_*_cmd.cpp), so that the page and the command give the same report.
#include <atomic>
#include <functional>
#include <string>

#include "hw/catalog.h"
#include "plan/plan_report.h"
#include "sim/model/model_catalog.h"

namespace fathom::gui {

struct PlanRequest {
  std::string file;              // the plan YAML
  std::string kind = "serve";    // serve, train, total
  std::string cost = "usd";      // total: usd or flops (--cost)
  int seed = 0;                  // serve: --set search.seed=N; 0: the plan's
  int jobs = 0;                  // -j (0: every core)
  std::string prices_file;       // --prices ("" : none)
  bool profile_defaults = false; // serve: --profile defaults
  std::string database;          // --db ("" : none)
};

// `fathom plan KIND FILE [--set search.seed=N] [--cost C] [--profile defaults] [-j N] [--prices F] [--db F]`.
std::string plan_command_line(const PlanRequest& r);

// Runs the planner (on the calling thread: the panel calls it on a Task) with `cancel` as its
// token and `progress(fraction or -1, text)`; with a database, stores the report there as
// `--db` does. Throws fathom::Error for bad input, fathom::Cancelled when cancelled.
plan::PlanReport run_plan(const PlanRequest& r, hw::HardwareCatalog hardware, const model::ModelCatalog& models,
                          const std::atomic<bool>& cancel, const std::function<void(double, const std::string&)>& progress);

}  // namespace fathom::gui
