#pragma once
// `fathom plan serve|train|total|export` (docs/planning.md). Each planner is a library call in
// plan/; these functions read the flags, call it and hand its report to finish_plan, which every
// planner shares.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace CLI {
class App;
}
namespace fathom::plan {
struct PlanReport;
struct PlanProgress;
}
namespace fathom {
struct YamlOverride;
}

namespace fathom::cli {

struct PlanFlags {
  std::string plan;               // the plan YAML
  std::vector<std::string> sets;  // --set PATH=VALUE over the plan file, in order
  std::string db;                 // --db: store the plan (and serve's simulator cache) here
  int64_t jobs = 0;               // -j: threads (0: every core)
  int64_t emit_rank = 0;          // --emit-scenario RANK (1-based; 0: none)
  std::string emit_out;           // --scenario-out FILE for --emit-scenario (default: standard output)
  std::string prices;             // --prices FILE: $/GPU-hour overriding the catalog's
  std::string cost = "usd";       // total: usd (real prices) or flops (Sardana et al.'s FLOP cost)
  std::string progress = "auto";  // auto, jsonl, none (cli/progress.h)
};

int cmd_plan_serve(const PlanFlags& flags, const CommonFlags& f);
int cmd_plan_train(const PlanFlags& flags, const CommonFlags& f);
int cmd_plan_total(const PlanFlags& flags, const CommonFlags& f);
// A stored plan as CSV (one section) or JSON (all): `which` is a plan id, a name, or "" for the
// latest; `section` "" for the ranked table.
int cmd_plan_export(const std::string& db, const std::string& which, const std::string& section,
                    const CommonFlags& f);

// The shared end of every planner: stages the report for standard output or --output
// (--format table, json or csv: csv writes the ranked section), the scenario of
// --emit-scenario RANK (an error naming the flag when there is no such row or it has no
// scenario), and stores the report in --db. Returns 0.
int finish_plan(const plan::PlanReport& report, const PlanFlags& flags, const CommonFlags& f);

// Shared by the planners, before any work: checks --format, --progress, --db, --output,
// --scenario-out, --emit-scenario, -j and --cost (FlagError naming the flag).
void check_plan_flags(const PlanFlags& flags, const CommonFlags& f);
// --set PATH=VALUE of the plan file, parsed (FlagError naming --set).
std::vector<YamlOverride> plan_overrides(const PlanFlags& flags);
class ProgressLine;
// PlanOptions::on_progress drawing on `line` (cli/progress.h); empty when it draws nothing.
std::function<void(const plan::PlanProgress&)> plan_progress(ProgressLine& line);

// Registers `fathom plan` and its subcommands on `app`; `add_common` adds --format/--output
// and the other shared flags. Returns the function that runs the parsed plan subcommand (called
// only when `app`'s `plan` subcommand was parsed).
std::function<int()> add_plan_commands(CLI::App& app, CommonFlags& common,
                                       const std::function<void(CLI::App*)>& add_common);

}  // namespace fathom::cli
