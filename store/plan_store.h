#pragma once
// SQLite store of plans (`fathom plan serve|train|total --db`, docs/database.md): one `plans`
// row per planner run, with the plan as resolved and the report, and one `plan_rows` row per
// row of each section, with the runnable scenario that reproduces it. Written in one
// transaction: a plan is stored whole or not at all. Plain strings here: store/ knows nothing
// of plan/ (the CLI turns a plan::PlanReport into these records and back).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fathom::store {

struct PlanRecord {
  int64_t id = 0;             // assigned by add_plan
  std::string kind;           // serve, train, total
  std::string name;
  std::string input_hash;     // SHA-256 of input_text
  std::string input_text;     // the plan YAML as resolved (--set applied)
  std::string fathom_version;
  std::string created_utc;    // ISO 8601, set by the database
  std::string report_json;    // the report without scenario texts (plan::report_json)
};

struct PlanRowRecord {
  std::string section;        // "ranked", ...
  int64_t rank = 0;           // 1-based, within the section
  std::string row_json;       // the cells, {"column": value, ...} in column order
  std::string scenario_text;  // "" when the row has none
  std::string scenario_hash;
  std::string profile;        // what priced its kernels (sim::efficiency_source)
};

struct StoredPlan {
  PlanRecord plan;
  std::vector<PlanRowRecord> rows;  // by section in first-stored order, then rank
};

class PlanStore {
 public:
  // write: created if absent and migrated; else read-only (nothing in or beside the file
  // changes). Throws fathom::InputError naming the path.
  static PlanStore open(const std::string& path, bool write);
  ~PlanStore();
  PlanStore(PlanStore&&) noexcept;
  PlanStore& operator=(PlanStore&&) noexcept;

  // Stores the plan and its rows in one transaction and returns the plan's id. `before_commit`
  // (when set) runs inside the transaction after the rows are written; when it throws, nothing is
  // stored (the CLI commits its output files there, so that both appear or neither).
  int64_t add_plan(const PlanRecord& plan, const std::vector<PlanRowRecord>& rows,
                   const std::function<void()>& before_commit = {});
  // Every plan, oldest first, without rows.
  std::vector<PlanRecord> plans() const;
  // One plan with its rows; nullopt when there is no plan with this id.
  std::optional<StoredPlan> load(int64_t id) const;

 private:
  struct Impl;
  explicit PlanStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::store
