// Scenario YAML (sim/scenario.h parse_scenario) against the real catalogs of data/, loaded once.
// Files the scenario may name by a relative path (a model, a calibrated profile, a trace) exist
// in the scratch folder next to the scenario, so those branches are reached too.
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/version.h"
#include "common/yaml.h"
#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/scratch_files.h"

namespace {
const fathom::hw::HardwareCatalog* g_hardware = nullptr;
const fathom::model::ModelCatalog* g_models = nullptr;
std::string g_name;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_hardware = new fathom::hw::HardwareCatalog(fathom::hw::HardwareCatalog::load(fathom::data_dir() + "/hardware"));
  g_models = new fathom::model::ModelCatalog(fathom::model::ModelCatalog::load(fathom::data_dir() + "/models"));
  fathom::fuzz::write_scratch_files();
  g_name = fathom::fuzz::Scratch::get().dir() + "/scenario.yaml";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  if (fathom::fuzz::may_name_outside(text)) return -1;
  try {
    const fathom::YamlNode root = fathom::parse_yaml(text, g_name);
    const fathom::sim::Scenario s = fathom::sim::parse_scenario(root, *g_hardware, *g_models);
    (void)fathom::sim::efficiency_source(s);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
