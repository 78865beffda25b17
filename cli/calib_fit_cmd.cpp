// fathom calib fit and report: a hardware profile fitted to a database's measurements, and every
// measurement against the cost chain's prediction (docs/calibration.md).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <map>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calib/measure.h"
#include "calib/profile_fit.h"
#include "calib/report.h"
#include "calib/suite.h"
#include "calib/synthetic.h"
#include "calib/torch_trace.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "hw/profile.h"
#include "sim/model/model_catalog.h"
#include "sim/model/ops_builder.h"
#include "store/calib_store.h"

#include "cli/calib_common.h"

namespace fathom::cli {

namespace fs = std::filesystem;

namespace {

std::string pct(double v) { return std::isnan(v) ? "-" : fmt::format("{:.1f}%", 100 * v); }

std::string seconds(double s) {
  if (std::isnan(s)) return "-";
  if (s < 1e-3) return fmt::format("{:.2f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

// The devices of a database, and the one a command works on: --device (UUID or name), or the
// only device, or the one with the most measurements is not guessed: several devices need a flag.
store::DeviceRecord pick_device(const store::CalibStore& db, const std::string& want, const std::string& path) {
  const auto devices = db.devices();
  if (devices.empty()) throw InputError(path, "expected a calibration database with measurements, found no device");
  if (want.empty()) {
    if (devices.size() == 1) return devices[0];
    std::string names;
    for (const auto& d : devices) names += (names.empty() ? "" : ", ") + d.uuid + " (" + d.name + ")";
    throw FlagError("--device", "expected one of the database's devices, it has " + std::to_string(devices.size()) + ": " + names);
  }
  for (const auto& d : devices) {
    if (d.uuid == want || d.name == want) return d;
  }
  throw FlagError("--device", "expected a UUID or name of a device in " + path + ", found '" + want + "'");
}

std::vector<store::MeasurementRecord> device_measurements(const store::CalibStore& db, int64_t device_id,
                                                          bool* any_synthetic) {
  std::set<int64_t> runs;
  for (const auto& r : db.runs()) {
    if (r.device_id == device_id) {
      runs.insert(r.id);
      if (any_synthetic && r.kind == "synthetic") *any_synthetic = true;
    }
  }
  std::vector<store::MeasurementRecord> out;
  for (auto& m : db.measurements()) {
    if (runs.count(m.run_id)) out.push_back(std::move(m));
  }
  return out;
}

hw::GpuSpec resolve_gpu(const hw::HardwareCatalog& cat, const store::DeviceRecord& d, const std::string& gpu_flag) {
  const hw::GpuSpec* g = nullptr;
  if (!gpu_flag.empty()) {
    g = &cat.gpu(gpu_flag, "--gpu");
  } else {
    g = calib::match_catalog_gpu(d.name, cat.gpus());
    if (!g) {
      throw FlagError("--gpu", "expected the catalog GPU that '" + d.name +
                                   "' is (its datasheet peaks are the reference), found no match; pass --gpu NAME "
                                   "(fathom catalog gpus)");
    }
  }
  return calib::fitting_gpu(*g, d);
}

// What fit and report work on: one device of a database, its catalog GPU and its measurements.
struct DeviceData {
  store::CalibStore db;
  store::DeviceRecord dev;
  hw::GpuSpec gpu;
  std::vector<store::MeasurementRecord> ms;
  bool synthetic = false;
};

// `write`: the command adds to the database (fit records its profile); report only reads it.
DeviceData open_device_data(const std::string& path, const CalibFlags& f, bool write) {
  require_existing(path, "calibration database");
  DeviceData d{write ? store::CalibStore::open(path) : store::CalibStore::open_read(path), {}, {}, {}, false};
  d.dev = pick_device(d.db, f.device_uuid, path);
  d.gpu = resolve_gpu(hardware_catalog(), d.dev, f.gpu);
  d.ms = device_measurements(d.db, d.dev.id, &d.synthetic);
  return d;
}

}  // namespace

int cmd_calib_fit(const std::string& path, const CalibFlags& f, const CommonFlags& c) {
  if (f.out.empty()) throw FlagError("--out", "expected a profile file to write (--out PROFILE.yaml)");
  if (f.folds < 2 || f.folds > 20) throw FlagError("--folds", fmt::format("expected 2 to 20 folds, found {}", f.folds));
  DeviceData data = open_device_data(path, f, true);
  store::CalibStore& db = data.db;
  const store::DeviceRecord& dev = data.dev;
  const hw::GpuSpec& gpu = data.gpu;
  const bool synthetic = data.synthetic;
  const auto& ms = data.ms;
  calib::ProfileFitOptions o;
  o.folds = static_cast<int>(f.folds);
  o.seed = static_cast<uint64_t>(f.seed);
  o.threads = static_cast<int>(f.threads);
  calib::ProfileFit pf = calib::fit_profile(ms, gpu, dev, o, path);
  pf.profile.synthetic = synthetic;
  pf.profile.database = fs::path(path).filename().string();
  const std::string yaml = hw::profile_to_yaml(pf.profile);
  stage_file(f.out, yaml, "--out");

  nlohmann::json summary;
  for (const auto& g : pf.groups) {
    summary[g.group] = {{"points", g.quality.points},
                        {"heldout_median", g.quality.heldout_median},
                        {"heldout_p90", g.quality.heldout_p90}};
  }
  store::ProfileRecord rec;
  rec.device_id = dev.id;
  rec.fathom_version = version();
  rec.profile_yaml = yaml;
  rec.summary_json = summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  db.add_profile(rec);

  if (c.format == "json") {
    nlohmann::json j = context("calib fit");
    j["database"] = path;
    j["device"] = {{"name", dev.name}, {"uuid", dev.uuid}, {"gpu", gpu.name}, {"synthetic", synthetic}};
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : pf.groups) {
      nlohmann::json params;
      for (size_t i = 0; i < g.params.size(); ++i) params[g.param_names[i]] = g.params[i];
      groups.push_back({{"group", g.group},
                        {"formula", g.formula},
                        {"params", params},
                        {"points", g.quality.points},
                        {"folds", g.quality.folds},
                        {"heldout_median", g.quality.heldout_median},
                        {"heldout_p90", g.quality.heldout_p90},
                        {"insample_median", g.quality.insample_median},
                        {"converged", g.converged}});
    }
    j["groups"] = groups;
    j["launch_gap_s"] = pf.profile.launch_gap_s ? nlohmann::json(*pf.profile.launch_gap_s) : nlohmann::json();
    j["notes"] = pf.notes;
    j["profile"] = f.out;
    emit(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", c);
    return 0;
  }
  std::ostringstream os;
  os << fmt::format("calibrated profile of {} ({}{}), {} measurements, fitted as {}\n", dev.name, dev.uuid,
                    synthetic ? ", SYNTHETIC data" : "", ms.size(), gpu.name);
  Table t;
  t.header = {"kind", "points", "peak frac", "k_half", "mem frac", "fixed", "held-out med", "held-out p90", "in-sample"};
  t.right = {false, true, true, true, true, true, true, true, true};
  for (const auto& g : pf.groups) {
    auto get = [&](const char* n) -> std::string {
      for (size_t i = 0; i < g.param_names.size(); ++i) {
        if (g.param_names[i] == n) {
          if (std::string(n) == "t0us") return fmt::format("{:.2f} us", g.params[i]);
          if (std::string(n) == "kh") return fmt::format("{:.0f}", g.params[i]);
          return fmt::format("{:.3f}", g.params[i]);
        }
      }
      return "-";
    };
    t.rows.push_back({g.group, std::to_string(g.quality.points), get("eta"), get("kh"), get("em"), get("t0us"),
                      pct(g.quality.heldout_median), pct(g.quality.heldout_p90), pct(g.quality.insample_median)});
  }
  t.print(os);
  if (pf.profile.launch_gap_s) os << fmt::format("launch gap: {}\n", seconds(*pf.profile.launch_gap_s));
  for (const auto& n : pf.notes) os << "note: " << n << "\n";
  os << fmt::format("held-out: {}-fold cross-validation, |predicted/measured - 1|\n", f.folds);
  os << "profile written to " << f.out << "\n";
  emit(os.str(), c);
  return 0;
}

int cmd_calib_report(const std::string& path, const CalibFlags& f, const CommonFlags& c) {
  DeviceData data = open_device_data(path, f, false);
  const store::CalibStore& db = data.db;
  const store::DeviceRecord& dev = data.dev;
  const hw::GpuSpec& gpu = data.gpu;
  const bool synthetic = data.synthetic;
  const auto& ms = data.ms;
  std::optional<hw::CalibratedProfile> profile;
  std::string profile_from;
  if (!f.profile.empty()) {
    profile = hw::load_profile(f.profile);
    profile_from = f.profile;
  } else {
    for (const auto& p : db.profiles()) {
      if (p.device_id == dev.id) {
        profile = hw::parse_profile(parse_yaml(p.profile_yaml, path + " (profile " + std::to_string(p.id) + ")"));
        profile_from = fmt::format("{} (profile {}, {})", path, p.id, p.created_at);
      }
    }
  }
  const calib::CalibReport r = calib::make_report(ms, gpu, profile ? &*profile : nullptr);
  if (c.format == "json") {
    nlohmann::json j = context("calib report");
    j["database"] = path;
    j["device"] = {{"name", dev.name}, {"uuid", dev.uuid}, {"gpu", gpu.name}, {"synthetic", synthetic}};
    j["profile"] = profile_from;
    nlohmann::json rows = nlohmann::json::array();
    auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
    for (const auto& row : r.rows) {
      rows.push_back({{"group", row.group},
                      {"points", row.points},
                      {"measured_median_s", num(row.measured_median_s)},
                      {"default_median", num(row.default_median)},
                      {"default_p90", num(row.default_p90)},
                      {"calibrated_median", num(row.calibrated_median)},
                      {"calibrated_p90", num(row.calibrated_p90)},
                      {"heldout_median", num(row.heldout_median)},
                      {row.rate_is_flops ? "best_flops_per_s" : "best_bytes_per_s", num(row.best_rate)},
                      {row.rate_is_flops ? "datasheet_flops_per_s" : "datasheet_bytes_per_s", num(row.datasheet_rate)}});
    }
    j["rows"] = rows;
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : db.runs()) {
      if (run.device_id != dev.id) continue;
      runs.push_back({{"id", run.id}, {"kind", run.kind}, {"source", run.source}, {"host", run.host},
                      {"started_at", run.started_at}, {"driver", run.driver_version}, {"cuda", run.cuda_version}});
    }
    j["runs"] = runs;
    emit(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", c);
    return 0;
  }
  std::ostringstream os;
  os << fmt::format("{} ({}), {} measurements{}; datasheet: {}\n", dev.name, dev.uuid, ms.size(),
                    synthetic ? " (SYNTHETIC data)" : "", gpu.name);
  for (const auto& run : db.runs()) {
    if (run.device_id != dev.id) continue;
    std::string clocks;
    if (run.sm_clock_start_mhz) clocks += fmt::format(", SM clock {:.0f}", *run.sm_clock_start_mhz);
    if (run.sm_clock_end_mhz) clocks += fmt::format("->{:.0f} MHz", *run.sm_clock_end_mhz);
    os << fmt::format("  run {}: {} '{}' on {} at {}, driver {}, CUDA {}{}\n", run.id, run.kind, run.source, run.host,
                      run.started_at, run.driver_version.empty() ? "-" : run.driver_version,
                      run.cuda_version.empty() ? "-" : run.cuda_version, clocks);
  }
  os << "profile: " << (profile ? profile_from : std::string("none (fathom calib fit writes one)")) << "\n";
  Table t;
  t.header = {"kind", "points", "measured median", "default med err", "default p90", "calibrated med err",
              "calibrated p90", "held-out med", "best reached (of datasheet)"};
  t.right = {false, true, true, true, true, true, true, true, true};
  for (const auto& row : r.rows) {
    std::string best = "-";
    if (!std::isnan(row.best_rate)) {
      best = (row.rate_is_flops ? format_flop_rate(row.best_rate) : format_rate(row.best_rate)) +
             (row.datasheet_rate > 0 ? fmt::format(" ({:.0f}%)", 100 * row.best_rate / row.datasheet_rate) : "");
    }
    t.rows.push_back({row.group, std::to_string(row.points), seconds(row.measured_median_s), pct(row.default_median),
                      pct(row.default_p90), pct(row.calibrated_median), pct(row.calibrated_p90),
                      pct(row.heldout_median), best});
  }
  t.print(os);
  if (r.unpredicted) os << fmt::format("{} measurements of kinds the cost chain does not price (kernel) are listed by count only\n", r.unpredicted);
  os << "error: |predicted/measured - 1| of each kernel's own duration (launch gap excluded); best reached: the "
        "fastest measurement's FLOP/s (GEMMs, attention) or bytes/s (the rest) against the datasheet peak\n";
  emit(os.str(), c);
  return 0;
}

}  // namespace fathom::cli
