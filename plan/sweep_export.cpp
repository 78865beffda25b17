#include "plan/sweep_export.h"

#include "common/csv.h"

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "plan/sweep_table.h"

namespace fathom::plan {

using ojson = nlohmann::ordered_json;

store::SweepInfo pick_sweep(const store::SweepStore& db, const std::string& which, const std::string& db_path) {
  const auto all = db.sweeps();
  std::vector<store::SweepInfo> hits;
  for (const auto& s : all) {
    if (which.empty() || s.name == which || (which.size() >= 6 && s.spec_hash.rfind(which, 0) == 0)) hits.push_back(s);
  }
  if (hits.size() == 1) return hits.front();
  std::string list;
  for (const auto& s : all) list += fmt::format("{}'{}' ({}, {} points)", list.empty() ? "" : ", ", s.name, s.spec_hash.substr(0, 12), s.points);
  if (all.empty()) throw InputError(db_path, "expected a database holding a sweep, found none");
  throw InputError(db_path, fmt::format("expected {} to name one sweep, found {} matching; the sweeps: {}",
                                        which.empty() ? std::string("--sweep") : "'" + which + "'", hits.size(), list));
}

namespace {

struct Table {
  std::vector<std::string> columns;
  std::vector<ojson> rows;  // objects with every column (null where absent)
};

Table tidy(const store::SweepStore& db, const store::SweepInfo& sweep) {
  Table t;
  const auto axes = nlohmann::json::parse(sweep.axes_json).get<std::vector<std::string>>();
  const auto points = db.points(sweep.id);
  std::vector<std::string> metric_names;
  std::vector<ojson> metrics;
  for (const auto& p : points) {
    metrics.push_back(ojson::parse(p.metrics_json));
    for (const auto& [k, v] : metrics.back().items()) {
      if (std::find(metric_names.begin(), metric_names.end(), k) == metric_names.end()) metric_names.push_back(k);
    }
  }
  t.columns.push_back("point");
  t.columns.insert(t.columns.end(), axes.begin(), axes.end());
  for (const char* c : {"status", "verdict", "seed"}) t.columns.push_back(c);
  t.columns.insert(t.columns.end(), metric_names.begin(), metric_names.end());
  t.columns.push_back("scenario_hash");
  t.columns.push_back("message");
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    const ojson values = ojson::parse(p.values_json);
    ojson row = ojson::object();
    row["point"] = p.point;
    for (const auto& a : axes) row[a] = values.contains(a) ? values[a] : ojson();
    row["status"] = p.status;
    row["verdict"] = p.verdict;
    row["seed"] = p.seed ? ojson(*p.seed) : ojson();
    for (const auto& m : metric_names) row[m] = metrics[i].contains(m) ? metrics[i][m] : ojson();
    row["scenario_hash"] = p.scenario_hash;
    row["message"] = p.message;
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace

void export_csv(std::ostream& os, const store::SweepStore& db, const store::SweepInfo& sweep) {
  os << sweep_table_csv(read_sweep_table(db, sweep));
}

void export_json(std::ostream& os, const store::SweepStore& db, const store::SweepInfo& sweep) {
  const Table t = tidy(db, sweep);
  ojson doc = ojson::object();
  doc["sweep"] = sweep.name;
  doc["spec_hash"] = sweep.spec_hash;
  doc["command"] = sweep.command;
  doc["points"] = sweep.points;
  doc["stored"] = t.rows.size();
  doc["rows"] = t.rows;
  os << doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace fathom::plan
