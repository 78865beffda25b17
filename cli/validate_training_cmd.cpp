// `fathom validate training`: predictions against the published training measurements
// (sim/train/validate.h): Megatron-LM Table 1, vTrain, and the at-scale set.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/error.h"
#include "hw/catalog.h"
#include "sim/train/validate.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string pct(double e) { return std::isfinite(e) ? fmt::format("{:+.1f}%", 100 * e) : "-"; }

void report_validation(std::ostream& os, const std::vector<train::ValidationTable>& tables, Format f) {
  if (f == Format::kJson) {
    json arr = json::array();
    for (const auto& t : tables) {
      json rows = json::array();
      for (const auto& r : t.rows) {
        rows.push_back({{"label", r.label}, {"config", r.config}, {"measured", r.measured}, {"predicted", r.predicted},
                        {"error", r.error}});
      }
      arr.push_back({{"name", t.name}, {"source", t.source}, {"metric", t.metric}, {"skipped", t.skipped},
                     {"skip_reason", t.skip_reason}, {"rows", rows}, {"median_abs_error", t.median_abs_error},
                     {"mean_abs_error", t.mean_abs_error}, {"max_abs_error", t.max_abs_error}});
    }
    os << json{{"context", context("validate training")}, {"tables", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "table,label,config,measured,predicted,error\n";
    for (const auto& t : tables) {
      for (const auto& r : t.rows) {
        os << fmt::format("{},{},{},{:.6g},{:.6g},{:.6g}\n", t.name, csv_field(r.label), csv_field(r.config), r.measured,
                          r.predicted, r.error);
      }
    }
    return;
  }
  for (const auto& t : tables) {
    os << fmt::format("{} — {}\n", t.name, t.source);
    if (t.skipped) {
      os << "skipped: " << t.skip_reason << "\n\n";
      continue;
    }
    os << fmt::format("metric: {}\n", t.metric);
    Table tab{{"run", "layout", "measured", "predicted", "error"}, {false, false, true, true, true}, {}};
    for (const auto& r : t.rows) {
      tab.rows.push_back({r.label, r.config, fmt::format("{:.1f}", r.measured), fmt::format("{:.1f}", r.predicted), pct(r.error)});
    }
    tab.print(os);
    os << fmt::format("{} rows: median |error| {:.1f}%, mean {:.1f}%, max {:.1f}%\n\n", t.rows.size(), 100 * t.median_abs_error,
                      100 * t.mean_abs_error, 100 * t.max_abs_error);
  }
}

}  // namespace

int cmd_validate_training(const std::string& megatron, const std::string& vtrain_dir, const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  // Progress counts the two tables (sim/train/validate.h computes each in one call).
  ProgressLine line("validate training", "tables", parse_progress_mode(f.progress));
  line.update(0, 2);
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  const std::string meg = megatron.empty() ? (fs::path(data_dir()) / "validation" / "megatron_table1.csv").string() : megatron;
  std::vector<train::ValidationTable> tables;
  tables.push_back(train::validate_megatron(meg, hwc));
  line.update(1, 2);
  // Default: ../shared/validation/vtrain beside the project (data_dir() is <project>/data).
  const std::string vt = vtrain_dir.empty()
                             ? (fs::path(data_dir()).parent_path().parent_path() / "shared" / "validation" / "vtrain").string()
                             : vtrain_dir;
  tables.push_back(train::validate_vtrain(vt, hwc));
  line.update(2, 2);
  line.finish();
  std::ostringstream os;
  report_validation(os, tables, fmt);
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
