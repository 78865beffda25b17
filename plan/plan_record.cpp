#include "plan/plan_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/input_file.h"
#include "common/version.h"

namespace fathom::plan {

using ojson = nlohmann::ordered_json;

store::PlanRecord plan_record(const PlanReport& r) {
  store::PlanRecord rec;
  rec.kind = r.kind;
  rec.name = r.name;
  rec.input_hash = r.input_hash;
  rec.input_text = r.input_text;
  rec.fathom_version = version();
  rec.report_json = report_json(r);
  return rec;
}

std::vector<store::PlanRowRecord> plan_row_records(const PlanReport& r) {
  std::vector<store::PlanRowRecord> rows;
  for (const auto& s : r.sections) {
    for (size_t i = 0; i < s.rows.size(); ++i) {
      const auto& row = s.rows[i];
      rows.push_back({s.name, static_cast<int64_t>(i + 1), row_json(row), row.scenario_text, row.scenario_hash, row.profile});
    }
  }
  return rows;
}

PlanReport report_from_store(const store::StoredPlan& sp) {
  PlanReport r;
  const ojson doc = ojson::parse(sp.plan.report_json);
  r.kind = sp.plan.kind;
  r.name = sp.plan.name;
  r.input_text = sp.plan.input_text;
  r.input_hash = sp.plan.input_hash;
  for (const auto& s : doc.at("sections")) {
    PlanSection sec{s.at("name").get<std::string>(), s.at("title").get<std::string>(), {}};
    for (const auto& row : sp.rows) {
      if (row.section != sec.name) continue;
      PlanRow pr = row_from_json(row.row_json);
      pr.scenario_text = row.scenario_text;
      pr.scenario_hash = row.scenario_hash;
      pr.profile = row.profile;
      sec.rows.push_back(std::move(pr));
    }
    r.sections.push_back(std::move(sec));
  }
  for (const auto& n : doc.at("notes")) r.notes.push_back(n.get<std::string>());
  return r;
}

store::PlanRecord pick_plan(const store::PlanStore& db, const std::string& which, const std::string& db_path,
                            const std::string& flag) {
  const auto all = db.plans();
  if (all.empty()) throw InputError(db_path, "expected a database holding a plan, found none");
  const store::PlanRecord* pick = nullptr;
  const bool is_id = !which.empty() && which.size() < 18 && which.find_first_not_of("0123456789") == std::string::npos;
  for (const auto& p : all) {
    if (which.empty() || (is_id && p.id == std::stoll(which)) || (!is_id && p.name == which)) pick = &p;  // the latest
  }
  if (pick == nullptr) {
    std::string list;
    for (const auto& p : all) list += fmt::format("{}{} '{}' ({})", list.empty() ? "" : ", ", p.id, p.name, p.kind);
    throw FlagError(flag, fmt::format("expected a plan id or name in {}, found '{}'; the plans: {}", db_path, which, list));
  }
  return *pick;
}

PlanReport report_from_json(const std::string& json, const std::string& path) {
  ojson doc;
  try {
    doc = ojson::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, fmt::format("expected a plan report in JSON (fathom plan ... --format json), found text that "
                                       "does not parse: {}", e.what()));
  }
  auto fail = [&](const std::string& what) -> void {
    throw InputError(path, "expected a plan report in JSON (fathom plan ... --format json) " + what);
  };
  if (!doc.is_object()) fail("holding an object, found another value");
  for (const char* k : {"kind", "name", "sections"}) {
    if (!doc.contains(k)) fail(fmt::format("with the key '{}', found none", k));
  }
  if (!doc["kind"].is_string() || !doc["name"].is_string()) fail("with 'kind' and 'name' as text, found other values");
  if (!doc["sections"].is_array()) fail("with 'sections' a list, found another value");
  PlanReport r;
  r.kind = doc["kind"].get<std::string>();
  r.name = doc["name"].get<std::string>();
  if (doc.contains("input_hash") && doc["input_hash"].is_string()) r.input_hash = doc["input_hash"].get<std::string>();
  for (size_t si = 0; si < doc["sections"].size(); ++si) {
    const ojson& s = doc["sections"][si];
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() || !s.contains("rows") || !s["rows"].is_array()) {
      fail(fmt::format("whose section {} has a 'name' and a list of 'rows', found otherwise", si + 1));
    }
    PlanSection sec{s["name"].get<std::string>(), s.contains("title") && s["title"].is_string() ? s["title"].get<std::string>() : "", {}};
    for (size_t ri = 0; ri < s["rows"].size(); ++ri) {
      const ojson& row = s["rows"][ri];
      if (!row.is_object()) fail(fmt::format("whose section '{}' row {} is an object, found another value", sec.name, ri + 1));
      PlanRow pr;
      for (const auto& [name, value] : row.items()) {
        if (name == "rank") continue;  // the position, not a cell (report_json adds it)
        if (value.is_string()) pr.cells.emplace_back(name, value.get<std::string>());
        else if (value.is_number()) pr.cells.emplace_back(name, value.get<double>());
        else if (value.is_null()) pr.cells.emplace_back(name, std::numeric_limits<double>::quiet_NaN());
        else fail(fmt::format("whose section '{}' row {} column '{}' is a number, text or null, found another value", sec.name, ri + 1, name));
      }
      sec.rows.push_back(std::move(pr));
    }
    r.sections.push_back(std::move(sec));
  }
  if (doc.contains("notes") && doc["notes"].is_array()) {
    for (const auto& n : doc["notes"]) {
      if (n.is_string()) r.notes.push_back(n.get<std::string>());
    }
  }
  return r;
}

PlanReport load_plan_report(const std::string& path, const std::string& which, const std::string& flag) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path, "expected a plan report (JSON) or a database of plans, found a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "expected a plan report (JSON) or a database of plans, found no file that can be read");
  char head[16] = {};
  in.read(head, sizeof head);
  // Every SQLite 3 file starts with these 16 bytes (https://sqlite.org/fileformat.html, 1.3).
  if (in.gcount() == 16 && std::string(head, 16) == std::string("SQLite format 3\0", 16)) {
    const store::PlanStore db = store::PlanStore::open(path, false);
    const store::PlanRecord rec = pick_plan(db, which, path, flag);
    return report_from_store(*db.load(rec.id));
  }
  if (!which.empty()) throw FlagError(flag, "expected a plan id or name only with a database, found a JSON report in " + path);
  return report_from_json(read_input_file(path, InputKind::kStructured, "plan report"), path);
}

}  // namespace fathom::plan
