// Plan files of `fathom plan serve|train|total` (docs/planning.md, docs/planning-train.md,
// docs/planning-total.md): the input, read by parse_yaml as `plan.yaml` in the scratch folder and
// wrapped as a PlanInput (root, resolved text, SHA-256), goes to each of the three readers against
// the real catalogs: plan::parse_serve_plan, plan::plan_train and plan::parse_total_spec. The
// serve reader draws 20,000 requests from the length distributions (bounded) and may read a
// trace; the total reader may load a fit result; both by a relative path into the scratch folder,
// which holds a valid file of each kind (trace.csv, sessions.csv, fit.yaml, model.yaml).
//
// plan_train has no separate reader: it runs with `cancel` already set, so that it reads the
// plan, checks and resolves the base scenario of its first GPU type (the plan's own errors) and
// stops with fathom::Cancelled where the layout search would start. The search and the rows
// (seconds per plan) are not fuzzed here; the planner tests cover them.
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "common/error.h"
#include "common/hash.h"
#include "common/version.h"
#include "common/yaml.h"
#include "hw/catalog.h"
#include "plan/plan_report.h"
#include "plan/plan_serve.h"
#include "plan/plan_total.h"
#include "plan/plan_train.h"
#include "sim/model/model_catalog.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/scratch_files.h"

namespace {
const fathom::hw::HardwareCatalog* g_hardware = nullptr;
const fathom::model::ModelCatalog* g_models = nullptr;
std::string g_name;
const std::atomic<bool> g_cancel{true};

// A fit result a total plan can name (`law: fit.yaml` or `law: {result: fit.yaml}`).
constexpr const char* kFitResult = R"(fathom_fit_result: 1
law: "chinchilla"
formula: "L = E + A/N^alpha + B/D^beta, with A = e^a, B = e^b, E = e^e"
response: "L"
variables: ["N", "D"]
parameters:
  a: {value: 6.1685957231278223, fixed: false}
  b: {value: 7.534160042277426, fixed: false}
  e: {value: 0.59557831130545513, fixed: false}
  alpha: {value: 0.34728144148451512, fixed: false}
  beta: {value: 0.36101563239053269, fixed: false}
)";

fathom::plan::PlanInput plan_input(const std::string& text) {
  fathom::plan::PlanInput in{fathom::parse_yaml(text, g_name), "", ""};
  in.text = fathom::emit_yaml(in.root.raw());
  in.hash = fathom::sha256_hex(in.text);
  return in;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_hardware = new fathom::hw::HardwareCatalog(fathom::hw::HardwareCatalog::load(fathom::data_dir() + "/hardware"));
  g_models = new fathom::model::ModelCatalog(fathom::model::ModelCatalog::load(fathom::data_dir() + "/models"));
  fathom::fuzz::write_scratch_files();
  fathom::fuzz::Scratch::get().write("fit.yaml", kFitResult);
  g_name = fathom::fuzz::Scratch::get().dir() + "/plan.yaml";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  if (fathom::fuzz::may_name_outside(text)) return -1;
  // The serve reader edits the traffic node for the workload reader and puts it back: it gets a
  // tree of its own, as the CLI reads one plan for one planner.
  try {
    const fathom::plan::PlanInput in = plan_input(text);
    (void)fathom::plan::parse_serve_plan(in, g_name);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  try {
    const fathom::plan::PlanInput in = plan_input(text);
    try {
      fathom::plan::PlanOptions o;
      o.jobs = 1;
      o.cancel = &g_cancel;
      (void)fathom::plan::plan_train(in, {}, *g_hardware, *g_models, o);
    } catch (const fathom::Error& e) {
      fathom::fuzz::rejected(e);
    }
    try {
      (void)fathom::plan::parse_total_spec(in.root);
    } catch (const fathom::Error& e) {
      fathom::fuzz::rejected(e);
    }
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
