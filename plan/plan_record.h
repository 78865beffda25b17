#pragma once
// A planner's report in and out of its stored and exported forms, for every reader of plans:
// `fathom plan ... --db` and `fathom plan export` (cli/), the GUI's Plans page and
// `fathom-plot plan` (gui/). The database keeps each plan as one `plans` row and one `plan_rows`
// row per row of each section (store/plan_store.h, docs/database.md); the JSON is what
// `fathom plan ... --format json` writes (plan::report_json, with the CLI's context block).
#include <string>
#include <vector>

#include "plan/plan_report.h"
#include "store/plan_store.h"

namespace fathom::plan {

// The records that store `r`: the plan (its resolved input, this build's version, the report
// without scenario texts) and one row per row of each section, ranked from 1 within its section.
store::PlanRecord plan_record(const PlanReport& r);
std::vector<store::PlanRowRecord> plan_row_records(const PlanReport& r);

// A stored plan as the report it was: sections in the stored order, every row with its scenario
// text, hash and profile.
PlanReport report_from_store(const store::StoredPlan& stored);

// The plan of `db` that `which` names: a plan id, a name (the latest of that name), or "" for
// the latest plan. FlagError naming `flag` and listing the plans when none matches; InputError
// naming `db_path` when the database holds no plan.
store::PlanRecord pick_plan(const store::PlanStore& db, const std::string& which, const std::string& db_path,
                            const std::string& flag = "--plan");

// A report read back from its JSON (plan::report_json, or the CLI's `--format json` with its
// context block): cells in the file's order, null as NaN; rows have no scenario text (the JSON
// leaves them out). InputError naming `path` when the text is not such a document.
PlanReport report_from_json(const std::string& json, const std::string& path);

// A report from a file: a database of stored plans (told by SQLite's header; `which` picks the
// plan as pick_plan does, naming `flag`) or a JSON report. `which` with a JSON file is a
// FlagError naming `flag`; a file that is neither, an InputError naming `path`.
PlanReport load_plan_report(const std::string& path, const std::string& which, const std::string& flag = "--plan");

}  // namespace fathom::plan
