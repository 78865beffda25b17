// HuggingFace config.json (sim/model/hf_import.h import_hf_config). The reader takes a path, so
// each input is written to config.json in the scratch folder. An imported model is written as
// catalog YAML (`fathom model import`) and must parse as a catalog model.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/yaml.h"
#include "sim/model/hf_import.h"
#include "sim/model/model_spec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fathom::fuzz::Scratch::get().write("config.json", fathom::fuzz::text_of(data, size));
  std::string yaml;
  try {
    yaml = fathom::model::to_yaml(fathom::model::import_hf_config(path));
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
    return 0;
  }
  try {
    (void)fathom::model::parse_model(fathom::parse_yaml(yaml, "imported"));
  } catch (const fathom::Error& e) {
    std::fprintf(stderr, "fuzz_hf_config: an imported config is not a valid catalog model: %s\n%s\n", e.what(),
                 yaml.c_str());
    std::abort();
  }
  return 0;
}
