#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/report.h"
#include "common/error.h"
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

void apply_profile_flag(hw::HardwareCatalog& hwc, const CommonFlags& f) {
  if (f.profile.empty()) return;
  if (f.profile == "defaults") {
    hwc.set_calibrated_profile(nullptr, "--profile");
    return;
  }
  std::error_code ec;
  if (!fs::is_regular_file(f.profile, ec)) {
    throw FlagError("--profile", "expected a calibrated profile file (fathom calib fit --out) or 'defaults', found '" + f.profile + "'");
  }
  hwc.set_calibrated_profile(std::make_shared<hw::CalibratedProfile>(hw::load_profile(f.profile)), "--profile");
}

void apply_profile_flag(sim::Scenario& s, const CommonFlags& f) {
  if (f.profile.empty()) return;
  if (f.profile == "defaults") {  // the documented defaults, even where the catalog has a profile
    s.profile = nullptr;
    return;
  }
  std::error_code ec;
  if (!fs::is_regular_file(f.profile, ec)) {
    throw FlagError("--profile", "expected a calibrated profile file (fathom calib fit --out) or 'defaults', found '" + f.profile + "'");
  }
  s.profile = std::make_shared<hw::CalibratedProfile>(hw::load_profile(f.profile));
  hw::check_profile_matches(*s.profile, s.gpu, "--profile");
}

void emit(const std::string& text, const CommonFlags& f) {
  if (f.output.empty()) {
    std::cout << text;
  } else {
    write_file_atomically(f.output, text, "--output");
  }
}

void write_file_atomically(const std::string& path, const std::string& text, const std::string& flag) {
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FlagError(flag, "expected a path in an existing folder, found '" + path + "'");
  fs::path tmp = dir / (".fathom-" + std::to_string(::getpid()) + "-" + target.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw FlagError(flag, "expected a writable path, found '" + path + "'");
    out << text;
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw FlagError(flag, "could not write '" + path + "'");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw FlagError(flag, "could not write '" + path + "': " + ec.message());
  }
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
  write_file_atomically(out, text, "--output");
  std::cerr << "wrote " << out << "\n";
  return 0;
}

int cmd_estimate(const std::string& scenario, const std::string& phase, size_t top, const std::string& db,
                 const CommonFlags& f) {
  Format fmt = parse_format(f.format);
  auto hwc = hardware();
  auto mc = models();
  sim::Scenario s = sim::load_scenario(scenario, hwc, mc);
  apply_profile_flag(s, f);
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
  // Open the database before writing anything, so that a bad --db leaves no output file behind.
  std::optional<store::RunStore> store;
  if (!db.empty()) store.emplace(store::RunStore::open(db));
  emit(os.str(), f);
  if (store) {
    store::RunRecord rec;
    rec.command = "estimate";
    rec.scenario = scenario;
    rec.fathom_version = version();
    rec.result_json = estimate_json(s, r);
    store->add_run(rec);
  }
  return 0;
}

}  // namespace fathom::cli
