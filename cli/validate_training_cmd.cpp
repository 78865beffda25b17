// `fathom validate training`: predictions against the published training measurements
// (sim/train/validate.h): Megatron-LM Table 1, vTrain, and the at-scale set.
#include <algorithm>
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
#include "sim/model/model_catalog.h"
#include "sim/train/validate.h"
#include "sim/train/validate_at_scale.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string pct(double e) { return std::isfinite(e) ? fmt::format("{:+.1f}%", 100 * e) : "-"; }

json excluded_json(const std::vector<train::ExcludedRow>& xs) {
  json arr = json::array();
  for (const auto& x : xs) {
    arr.push_back({{"line", x.line}, {"label", x.label}, {"source", x.source}, {"config", x.config}, {"reason", x.reason}});
  }
  return arr;
}

bool tagged(const train::ValidationRow& r) { return !r.tags.source.empty(); }

void print_excluded(std::ostream& os, const std::string& title, const std::vector<train::ExcludedRow>& xs, bool with_config) {
  if (xs.empty()) return;
  os << fmt::format("{} ({} rows, not counted):\n", title, xs.size());
  for (const auto& x : xs) {
    os << fmt::format("  line {} {} ({}){}: {}\n", x.line, x.label, x.source, with_config ? "  " + x.config : "", x.reason);
  }
}

void report_validation(std::ostream& os, const std::vector<train::ValidationTable>& tables, Format f) {
  if (f == Format::kJson) {
    json arr = json::array();
    for (const auto& t : tables) {
      json rows = json::array();
      for (const auto& r : t.rows) {
        json row{{"label", r.label}, {"config", r.config}, {"measured", r.measured}, {"predicted", r.predicted}, {"error", r.error}};
        if (tagged(r)) {
          row["line"] = r.line;
          row["tags"] = {{"source", r.tags.source}, {"framework", r.tags.framework}, {"sharding", r.tags.sharding},
                         {"scale", r.tags.scale},   {"dtype", r.tags.dtype},         {"gpu", r.tags.gpu}};
        }
        rows.push_back(row);
      }
      json groups = json::array();
      for (const auto& g : t.groups) {
        groups.push_back({{"dimension", g.dimension}, {"group", g.group}, {"rows", g.rows}, {"median_abs_error", g.median_abs_error},
                          {"median_error", g.median_error}});
      }
      arr.push_back({{"name", t.name}, {"source", t.source}, {"metric", t.metric}, {"skipped", t.skipped},
                     {"skip_reason", t.skip_reason}, {"rows", rows}, {"median_abs_error", t.median_abs_error},
                     {"median_error", t.median_error}, {"mean_abs_error", t.mean_abs_error}, {"max_abs_error", t.max_abs_error},
                     {"groups", groups}, {"unmapped", excluded_json(t.unmapped)}, {"rejected", excluded_json(t.rejected)},
                     {"param_mismatches", excluded_json(t.param_mismatches)}});
    }
    os << json{{"context", context("validate training")}, {"tables", arr}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (f == Format::kCsv) {
    os << "table,label,config,measured,predicted,error,source,framework,sharding,scale,dtype,gpu\n";
    for (const auto& t : tables) {
      for (const auto& r : t.rows) {
        os << fmt::format("{},{},{},{:.6g},{:.6g},{:.6g},{},{},{},{},{},{}\n", t.name, csv_field(r.label), csv_field(r.config),
                          r.measured, r.predicted, r.error, csv_field(r.tags.source), csv_field(r.tags.framework),
                          csv_field(r.tags.sharding), csv_field(r.tags.scale), csv_field(r.tags.dtype), csv_field(r.tags.gpu));
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
    const bool tags = std::any_of(t.rows.begin(), t.rows.end(), tagged);
    Table tab{{"run", "layout", "measured", "predicted", "error"}, {false, false, true, true, true}, {}};
    if (tags) tab = Table{{"line", "run", "source", "gpu", "layout", "measured", "predicted", "error"},
                          {true, false, false, false, false, true, true, true}, {}};
    for (const auto& r : t.rows) {
      if (tags) {
        tab.rows.push_back({std::to_string(r.line), r.label, r.tags.source, r.tags.gpu, r.config, fmt::format("{:.1f}", r.measured),
                            fmt::format("{:.1f}", r.predicted), pct(r.error)});
      } else {
        tab.rows.push_back({r.label, r.config, fmt::format("{:.1f}", r.measured), fmt::format("{:.1f}", r.predicted), pct(r.error)});
      }
    }
    tab.print(os);
    if (!tags) {
      os << fmt::format("{} rows: median |error| {:.1f}%, mean {:.1f}%, max {:.1f}%\n\n", t.rows.size(), 100 * t.median_abs_error,
                        100 * t.mean_abs_error, 100 * t.max_abs_error);
      continue;
    }
    os << fmt::format("{} rows: median |error| {:.1f}%, median signed error {}, mean |error| {:.1f}%, max {:.1f}%\n",
                      t.rows.size(), 100 * t.median_abs_error, pct(t.median_error), 100 * t.mean_abs_error, 100 * t.max_abs_error);
    Table g{{"by", "group", "rows", "median |error|", "median error"}, {false, false, true, true, true}, {}};
    for (const auto& s : t.groups) {
      g.rows.push_back({s.dimension, s.group, std::to_string(s.rows), fmt::format("{:.1f}%", 100 * s.median_abs_error),
                        pct(s.median_error)});
    }
    g.print(os);
    print_excluded(os, "unmapped", t.unmapped, false);
    print_excluded(os, "rejected by the model", t.rejected, true);
    if (t.param_mismatches.empty()) {
      os << "params_B agrees with the built model within 2% on every row\n";
    } else {
      print_excluded(os, "params_B differs from the built model by more than 2%", t.param_mismatches, false);
    }
    os << "\n";
  }
}

}  // namespace

int cmd_validate_training(const std::string& megatron, const std::string& vtrain_dir, const std::string& at_scale,
                          const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  // Progress counts the three tables (sim/train/validate.h computes each in one call).
  ProgressLine line("validate training", "tables", parse_progress_mode(f.progress));
  line.update(0, 3);
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  const std::string meg = megatron.empty() ? (fs::path(data_dir()) / "validation" / "megatron_table1.csv").string() : megatron;
  std::vector<train::ValidationTable> tables;
  tables.push_back(train::validate_megatron(meg, hwc));
  line.update(1, 3);
  // Defaults: ../shared/validation/ beside the project (data_dir() is <project>/data).
  const fs::path shared = fs::path(data_dir()).parent_path().parent_path() / "shared" / "validation";
  const std::string vt = vtrain_dir.empty() ? (shared / "vtrain").string() : vtrain_dir;
  tables.push_back(train::validate_vtrain(vt, hwc));
  line.update(2, 3);
  const std::string as = at_scale.empty() ? (shared / "training_at_scale.csv").string() : at_scale;
  auto models = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  tables.push_back(train::validate_at_scale(as, hwc, models));
  line.update(3, 3);
  line.finish();
  std::ostringstream os;
  report_validation(os, tables, fmt);
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
