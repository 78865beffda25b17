#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/report.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/output.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "sim/estimate.h"
#include "sim/model/hf_import.h"
#include "sim/model/model_catalog.h"
#include "store/run_store.h"

namespace fathom::cli {

namespace fs = std::filesystem;

namespace {
hw::HardwareCatalog hardware() { return hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string()); }
model::ModelCatalog models() { return model::ModelCatalog::load((fs::path(data_dir()) / "models").string()); }
}  // namespace

sim::ResolveOptions resolve_options(const CommonFlags& f) {
  sim::ResolveOptions o;
  o.profile = f.profile;
  o.profile_where = "--profile";
  for (const auto& text : f.sets) o.overrides.push_back(parse_override(text, "--set"));
  return o;
}

OutputSet& outputs() {
  static OutputSet set;
  return set;
}

void emit(const std::string& text, const CommonFlags& f) {
  outputs().add(f.output.empty() ? "-" : f.output, "--output", text);
}

void stage_file(const std::string& path, const std::string& text, const std::string& flag) {
  outputs().add(path, flag, text);
}

void check_db_flag(const std::string& path, const std::string& flag) {
  if (path.empty()) throw FlagError(flag, "expected a database file name, found an empty one");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st)) {
    if (!fs::is_regular_file(st)) throw FlagError(flag, "expected a database file, found '" + path + "', which is not a regular file");
    return;
  }
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) throw FlagError(flag, "expected a path in an existing folder, found '" + path + "'");
}

void write_database(const std::string& path, const std::function<void()>& write) {
  check_db_flag(path);
  // What this call creates (the database, its -wal, -shm and -journal) it removes again on
  // failure or interrupt; nothing that was there before is touched.
  std::vector<std::string> created;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path + suffix, ec))) created.push_back(path + suffix);
  }
  const bool new_db = !created.empty() && created.front() == path;
  // Signals wait until the record and the files are in place (or rolled back and removed).
  interrupt::Defer defer;
  std::vector<std::unique_ptr<interrupt::CleanupPath>> cleanup;
  if (new_db) {
    for (const auto& p : created) cleanup.push_back(std::make_unique<interrupt::CleanupPath>(p));
  }
  try {
    write();
  } catch (...) {
    // A database that was there before keeps its -wal/-shm (another reader may hold them;
    // SQLite removes them itself when the last connection closes).
    if (new_db) {
      for (const auto& p : created) {
        std::error_code ec;
        fs::remove(p, ec);
      }
    }
    throw;
  }
  for (auto& c : cleanup) c->release();
}

void record_run(const std::string& path, const store::RunRecord& rec) {
  write_database(path, [&] {
    store::RunStore db = store::RunStore::open(path);
    db.add_run(rec, [] { outputs().commit(); });
  });
}

int cmd_catalog(const std::string& what, const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  std::ostringstream os;
  if (what == "gpus") {
    report_gpus(os, hardware(), fmt);
  } else if (what == "clusters") {
    report_clusters(os, hardware(), fmt);
  } else if (what == "models") {
    report_models(os, models(), fmt);
  } else {
    throw FlagError("catalog", "expected gpus, clusters or models, found '" + what + "'");
  }
  emit(os.str(), f);
  return 0;
}

int cmd_model_show(const std::string& name, double context, const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  if (!(context >= 1)) throw FlagError("--context", "expected a context length >= 1, found " + std::to_string(context));
  model::ModelSpec m = models().resolve(name, "model show");
  std::ostringstream os;
  report_model(os, m, context, fmt);
  emit(os.str(), f);
  return 0;
}

int cmd_model_import(const std::string& file, const std::string& name, const std::string& output) {
  model::ModelSpec m = model::import_hf_config(file, name);
  std::string text = "# Imported by `fathom model import " + fs::path(file).filename().string() + "` (fathom " +
                     version() + ")\n" + model::to_yaml(m);
  // Round-trip: what we write must load back as the same model.
  model::parse_model(parse_yaml(text, "<imported " + m.name + ">"));
  std::string out = output.empty() ? m.name + ".yaml" : output;
  stage_file(out, text, "--output");
  outputs().commit();
  std::cerr << "wrote " << out << "\n";
  return 0;
}

int cmd_estimate(const std::string& scenario, const std::string& phase, size_t top, const std::string& db,
                 const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  if (!db.empty()) check_db_flag(db);
  auto hwc = hardware();
  auto mc = models();
  const sim::ResolvedScenario resolved = sim::resolve_scenario(scenario, hwc, mc, resolve_options(f));
  const sim::Scenario& s = resolved.scenario;
  sim::EstimateKind kind;
  if (phase == "train") {
    if (!s.train) throw FlagError("--phase", "expected a scenario with a 'train' section for --phase train, " + scenario + " has none");
    kind = sim::EstimateKind::kTrainStep;
  } else if (phase == "serve") {
    if (!s.serve) throw FlagError("--phase", "expected a scenario with a 'serve' section for --phase serve, " + scenario + " has none");
    kind = sim::EstimateKind::kServeIteration;
  } else if (phase.empty()) {
    if (s.train && s.serve) throw FlagError("--phase", "expected --phase train or --phase serve: " + scenario + " has both sections");
    kind = s.train ? sim::EstimateKind::kTrainStep : sim::EstimateKind::kServeIteration;
  } else {
    throw FlagError("--phase", "expected train or serve, found '" + phase + "'");
  }
  sim::EstimateResult r = sim::estimate(s, kind);
  std::ostringstream os;
  report_estimate(os, s, r, fmt, top);
  emit(os.str(), f);
  if (!db.empty()) {
    store::RunRecord rec;
    rec.command = "estimate";
    rec.scenario = scenario;
    rec.scenario_text = resolved.text;
    rec.scenario_hash = resolved.hash;
    rec.fathom_version = version();
    rec.result_json = estimate_json(s, r);
    record_run(db, rec);
  }
  return 0;
}

}  // namespace fathom::cli
