// Sweep specs (plan/sweep_spec.h load_sweep_spec) and, for the first and last points, the
// overrides they make applied to the base scenario (sim::resolve_scenario_text), against the real
// catalogs. The spec's base scenario is `base.yaml` in the scratch folder (a serving scenario
// with a workload); a spec naming another file is rejected as any missing file is.
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "plan/sweep_spec.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
const fathom::hw::HardwareCatalog* g_hardware = nullptr;
const fathom::model::ModelCatalog* g_models = nullptr;

constexpr const char* kBase = R"(name: base
model: llama-3.1-8b
hardware: {gpu: h100-sxm, nodes: 1, gpus_per_node: 2}
serve:
  parallel: {tp: 1, pp: 1, replicas: 1}
  iteration: {phase: decode, sequences: 8, context: 512}
  workload:
    requests: 1000
    arrival: {process: poisson, rate_per_s: 10}
    input_tokens: {dist: lognormal, median: 1000, sigma: 0.8, max: 8192}
    output_tokens: {dist: lognormal, median: 250, sigma: 0.9, max: 4096}
    seed: 1
  slo: {ttft_s: 0.5, tpot_s: 0.05}
)";
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_hardware = new fathom::hw::HardwareCatalog(fathom::hw::HardwareCatalog::load(fathom::data_dir() + "/hardware"));
  g_models = new fathom::model::ModelCatalog(fathom::model::ModelCatalog::load(fathom::data_dir() + "/models"));
  fathom::fuzz::Scratch::get().write("base.yaml", kBase);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  if (fathom::fuzz::may_name_outside(text)) return -1;
  try {
    const std::string path = fathom::fuzz::Scratch::get().write("spec.yaml", text);
    const fathom::plan::SweepSpec spec = fathom::plan::load_sweep_spec(path, 1'000'000);
    (void)fathom::plan::point_values_json(spec, spec.points - 1);
    for (int64_t p : {int64_t{0}, spec.points - 1}) {
      fathom::sim::ResolveOptions o;
      o.overrides = fathom::plan::point_overrides(spec, p);
      try {
        (void)fathom::sim::resolve_scenario_text(spec.scenario_text, spec.scenario_path, *g_hardware, *g_models, o);
      } catch (const fathom::Error& e) {
        fathom::fuzz::rejected(e);  // a point that cannot run is a result, not a crash
      }
    }
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
