#pragma once
// What every planner (`fathom plan serve|train|total`, docs/planning.md) returns: ranked rows of
// named cells, each row with the runnable scenario that reproduces it, in sections (the ranked
// table first, then Pareto fronts, hourly profiles, reference points). The CLI and the GUI
// render, store (store/plan_store.h) and export it the same way whatever planner made it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/yaml.h"

namespace fathom::plan {

// A cell: a number (NaN when the row has none) or text.
using PlanValue = std::variant<double, std::string>;

struct PlanRow {
  // (column, value) in column order; every row of a section has the same columns. Column names
  // are snake_case with their unit, as the sweep metrics are (ttft_p99_s, usd_per_hour, ...).
  std::vector<std::pair<std::string, PlanValue>> cells;
  std::string scenario_text;  // the runnable scenario YAML of the row; "" when the row has none
  std::string scenario_hash;  // SHA-256 of scenario_text ("" with it)
  std::string profile;        // what priced its kernels (sim::efficiency_source); "" when none

  // The value of a column; throws std::out_of_range when absent.
  const PlanValue& at(const std::string& column) const;
  double number(const std::string& column) const;  // NaN when the cell is text
};

struct PlanSection {
  std::string name;   // "ranked", "pareto_cost_latency", "hourly", ... (snake_case)
  std::string title;  // a heading for people
  std::vector<PlanRow> rows;
};

struct PlanReport {
  std::string kind;        // serve, train, total
  std::string name;        // the plan's name
  std::string input_text;  // the plan YAML as resolved (overrides applied, paths absolute)
  std::string input_hash;  // SHA-256 of input_text
  std::vector<PlanSection> sections;  // sections[0]: the ranked table, best first (rank = index + 1)
  std::vector<std::string> notes;     // lines for people: binding constraints, what was pruned, ...
};

struct PlanProgress {
  std::string stage;  // "screen", "search", ... (a word)
  int64_t done = 0, total = 0;
  double elapsed_s = 0;
};

// How a planner runs; results never depend on these.
struct PlanOptions {
  int jobs = 0;  // threads (≤ 0: the hardware's)
  std::function<void(const PlanProgress&)> on_progress;  // from the calling thread
  const std::atomic<bool>* cancel = nullptr;            // set: the planner throws fathom::Cancelled
  std::string database;  // a Fathom database caching simulator runs ("" : none); see plan_serve
};

// A plan file read with --set overrides (common/yaml_override): the root node (errors name the
// file and line, or the override) and its resolved text and SHA-256.
struct PlanInput {
  YamlNode root;
  std::string text;
  std::string hash;
};
PlanInput load_plan_input(const std::string& path, const std::vector<YamlOverride>& overrides);

// A prices file (docs/planning.md): `usd_per_gpu_hour: {h100-sxm: 2.5, b200: 5.2}`, GPU names or
// aliases resolved by the caller. Errors name the file and line.
std::map<std::string, double> load_prices(const std::string& path);
// The text of a prices file that load_prices reads back to `prices` exactly (names quoted,
// numbers in their shortest round-trip form). An empty map gives a file load_prices refuses;
// callers keep no file then.
std::string prices_yaml(const std::map<std::string, double>& prices);

// JSON of a report: {"kind", "name", "input_hash", "sections": [{"name", "title", "rows":
// [{"rank", cells...}]}], "notes"}; scenario texts are left out (they are stored, and written by
// --emit-scenario).
std::string report_json(const PlanReport& r);
// CSV of one section: a rank column, then the cells; text quoted as RFC 4180 requires.
std::string section_csv(const PlanSection& s);
// One row's cells as a JSON object in column order (NaN as null), as the plan store keeps them,
// and back (null reads as NaN); scenario, hash and profile are not part of it.
std::string row_json(const PlanRow& row);
PlanRow row_from_json(const std::string& json);

}  // namespace fathom::plan
