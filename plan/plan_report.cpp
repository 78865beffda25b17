#include "plan/plan_report.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/input_file.h"

namespace fathom::plan {

using ojson = nlohmann::ordered_json;

const PlanValue& PlanRow::at(const std::string& column) const {
  for (const auto& [name, value] : cells) {
    if (name == column) return value;
  }
  throw std::out_of_range("plan row has no column '" + column + "'");
}

double PlanRow::number(const std::string& column) const {
  const PlanValue& v = at(column);
  if (const double* d = std::get_if<double>(&v)) return *d;
  return std::numeric_limits<double>::quiet_NaN();
}

namespace {

// A file named in the plan, relative to the plan file, made absolute so that the resolved text
// reads the same wherever it is run from. Only a path that exists is rewritten (as scenarios do):
// a catalog name, or a missing file, stays as written for the planner to report.
void absolutize(YAML::Node node, const std::string& plan_file) {
  if (!node.IsDefined() || !node.IsScalar()) return;
  const std::string v = node.Scalar();
  if (v.empty() || v[0] == '/') return;
  if (!(v.ends_with(".yaml") || v.ends_with(".json") || v.find('/') != std::string::npos)) return;
  std::error_code ec;
  const auto p = std::filesystem::path(plan_file).parent_path() / v;
  if (!std::filesystem::is_regular_file(p, ec)) return;
  const auto abs = std::filesystem::absolute(p, ec);
  if (!ec) node = abs.lexically_normal().string();
}

}  // namespace

PlanInput load_plan_input(const std::string& path, const std::vector<YamlOverride>& overrides) {
  const YamlNode file_root = parse_yaml(read_input_file(path, InputKind::kStructured, "plan file"), path);
  PlanInput in{apply_overrides(file_root, overrides), "", ""};
  in.root.expect_map();
  // The model files a planner reads: `model` (train, total) and `models` (serve).
  YAML::Node doc = in.root.raw();
  if (doc["model"].IsDefined()) absolutize(doc["model"], path);
  if (doc["models"].IsDefined() && doc["models"].IsSequence()) {
    for (size_t i = 0; i < doc["models"].size(); ++i) absolutize(doc["models"][i], path);
  }
  in.text = emit_yaml(doc);
  in.hash = sha256_hex(in.text);
  return in;
}

std::map<std::string, double> load_prices(const std::string& path) {
  const YamlNode root = parse_yaml(read_input_file(path, InputKind::kStructured, "prices file"), path);
  if (!root.is_map()) root.fail("a map with the key 'usd_per_gpu_hour'");
  root.expect_keys({"usd_per_gpu_hour"});
  const YamlNode table = root.at("usd_per_gpu_hour");
  if (!table.is_map()) table.fail("a map of GPU name to $/GPU-hour ({h100-sxm: 2.5, b200: 5.2})");
  std::map<std::string, double> out;
  for (const auto& [gpu, value] : table.entries()) out[gpu] = value.as_positive_number();
  if (out.empty()) table.fail("at least one GPU with its $/GPU-hour");
  return out;
}

std::string prices_yaml(const std::map<std::string, double>& prices) {
  std::string out = "# $/GPU-hour by GPU name or alias, over the catalog's (fathom plan serve|train|total --prices FILE)\n";
  out += "usd_per_gpu_hour:\n";
  for (const auto& [gpu, usd] : prices) {
    out += "  ";
    out += yaml_quote(gpu);
    out += ": ";
    out += fmt::format("{}", usd);  // the shortest text that reads back to the same double
    out += "\n";
  }
  return out;
}

namespace {

ojson cell_json(const PlanValue& v) {
  if (const double* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) return ojson();  // NaN: null
    // Whole numbers (GPU counts, degrees) as JSON integers; exact below 2^53.
    if (*d == std::floor(*d) && std::fabs(*d) < 9007199254740992.0) return ojson(static_cast<int64_t>(*d));
    return ojson(*d);
  }
  return ojson(std::get<std::string>(v));
}


}  // namespace

std::string row_json(const PlanRow& row) {
  ojson o = ojson::object();
  for (const auto& [name, value] : row.cells) o[name] = cell_json(value);
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

PlanRow row_from_json(const std::string& json) {
  PlanRow row;
  const ojson o = ojson::parse(json);
  for (const auto& [name, value] : o.items()) {
    if (value.is_string()) {
      row.cells.emplace_back(name, value.get<std::string>());
    } else if (value.is_number()) {
      row.cells.emplace_back(name, value.get<double>());
    } else {
      row.cells.emplace_back(name, std::numeric_limits<double>::quiet_NaN());
    }
  }
  return row;
}

std::string report_json(const PlanReport& r) {
  ojson doc = ojson::object();
  doc["kind"] = r.kind;
  doc["name"] = r.name;
  doc["input_hash"] = r.input_hash;
  ojson sections = ojson::array();
  for (const auto& s : r.sections) {
    ojson rows = ojson::array();
    for (size_t i = 0; i < s.rows.size(); ++i) {
      ojson row = ojson::object();
      row["rank"] = i + 1;
      for (const auto& [name, value] : s.rows[i].cells) row[name] = cell_json(value);
      rows.push_back(std::move(row));
    }
    sections.push_back(ojson{{"name", s.name}, {"title", s.title}, {"rows", std::move(rows)}});
  }
  doc["sections"] = std::move(sections);
  doc["notes"] = r.notes;
  return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string section_csv(const PlanSection& s) {
  std::string out = "rank";
  if (!s.rows.empty()) {
    for (const auto& [name, value] : s.rows.front().cells) {
      out += ',';  // appended apart: GCC 12 reports a false -Wrestrict for "," + std::string
      out += csv_field(name);
    }
  }
  out += "\n";
  for (size_t i = 0; i < s.rows.size(); ++i) {
    out += std::to_string(i + 1);
    for (const auto& [name, value] : s.rows[i].cells) {
      out += ",";
      if (const double* d = std::get_if<double>(&value)) {
        if (std::isfinite(*d)) out += fmt::format("{}", *d);  // shortest text that reads back to the same bits
      } else {
        out += csv_field(std::get<std::string>(value));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace fathom::plan
