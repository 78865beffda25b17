#pragma once
// The scenario file: one YAML that every command reads (model, hardware, precision, parallel
// layout, workload). Format: docs/scenario.md.
#include <optional>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "hw/catalog.h"
#include "hw/collective.h"
#include "hw/efficiency.h"
#include "hw/profile.h"
#include "sim/model/model_catalog.h"
#include "sim/model/ops_builder.h"
#include "sim/serve/config.h"
#include "sim/train/train.h"

namespace fathom::sim {

struct ServeSection {
  model::Layout layout;
  // `iteration:` — the one iteration `fathom estimate` costs (optional when a workload is given).
  bool has_iteration = false;
  model::Phase phase = model::Phase::kDecode;
  int64_t sequences = 1;
  int64_t context = 1;  // decode: KV length per sequence; prefill: prompt tokens per sequence
  // `workload:` and the engine keys — what `fathom serve` simulates.
  std::optional<serve::ServeConfig> sim;
};

// The training section: one configuration of sim/train (layout, batch, recomputation, ZeRO,
// offload, overlap), the GPUs it runs on and the tokens to train on.
struct TrainSection : train::TrainConfig {
  int64_t gpus = 0;              // GPUs of the job (default: all of the hardware)
  std::optional<double> tokens;  // training tokens, for time-to-train
  bool dp_given = false;         // parallel.dp was written (else derived from gpus)
};

struct Scenario {
  std::string file;
  std::string name;
  model::ModelSpec model;
  hw::GpuSpec gpu;
  hw::ClusterSpec cluster;
  model::Precision precision;
  hw::DefaultEfficiencyOptions efficiency;
  // A calibrated profile (efficiency.profile, or --profile): replaces the defaults where it has fits.
  std::shared_ptr<const hw::CalibratedProfile> profile;
  hw::CollectiveAlgo collective_algo = hw::CollectiveAlgo::kAuto;
  std::optional<ServeSection> serve;
  std::optional<TrainSection> train;
  double usd_per_gpu_hour = 0;
};

// What prices the scenario's kernels, in one phrase: "calibrated profile FILE" or "documented defaults".
std::string efficiency_source(const Scenario& s);

// How a scenario is resolved beyond its file (the CLI's flags, the GUI's fields): one call, so
// that every front end gets the same scenario from the same inputs.
struct ResolveOptions {
  // The kernel profile: "" keeps the scenario's efficiency.profile or, failing that, the catalog
  // GPU's calibrated profile; "defaults" prices with the documented defaults even where a
  // calibrated profile exists; anything else is a profile YAML (fathom calib fit --out), which
  // must have been measured on the scenario's GPU.
  std::string profile;
  std::string profile_where = "--profile";  // names the choice in errors (a flag, a GUI field)
  // Values set over the file's (`--set PATH=VALUE`, a sweep point's axes), applied in order and
  // checked exactly as the file is; errors name the override.
  std::vector<YamlOverride> overrides;
};

// What runs, and the text that reproduces it: the file with the overrides applied, the profile
// choice written into `efficiency.profile`, the name written out, and every path in it (model
// file, profile, arrival trace) made absolute, so that `resolve_scenario_text(text)` alone gives
// the same scenario and the same numbers. `hash` is the SHA-256 of `text`.
struct ResolvedScenario {
  Scenario scenario;
  std::string text;
  std::string hash;
};

// The scenario file at `path` (or YAML text named `name` in messages), resolved with `options`.
ResolvedScenario resolve_scenario(const std::string& path, const hw::HardwareCatalog& hardware,
                                  const model::ModelCatalog& models, const ResolveOptions& options = {});
ResolvedScenario resolve_scenario_text(const std::string& text, const std::string& name,
                                       const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                       const ResolveOptions& options = {});
// resolve_scenario(...).scenario.
Scenario load_scenario(const std::string& path, const hw::HardwareCatalog& hardware,
                       const model::ModelCatalog& models, const ResolveOptions& options = {});
// Applies a profile choice (ResolveOptions::profile) to a scenario already read.
void apply_profile_choice(Scenario& s, const std::string& profile, const std::string& where);
Scenario parse_scenario(const YamlNode& root, const hw::HardwareCatalog& hardware,
                        const model::ModelCatalog& models);

// The overrides (`--set PATH=VALUE`) that turn a scenario whose train section resolves to `from`
// into one that resolves to `to` in the keys the configuration search varies: train.gpus, the
// degrees, kinds and stages of train.parallel, train.microbatch, train.recompute and train.zero.
// One per key whose value differs, in that order; a stage split no longer wanted is `null`. A
// search row becomes the scenario this way (the GUI), and `fathom train FILE --set ...` with them
// reruns the row. `train.fsdp` is the caller's to drop when the file uses it instead of `zero`.
std::vector<YamlOverride> train_layout_overrides(const TrainSection& from, const train::TrainConfig& to);

}  // namespace fathom::sim
