// Model catalog YAML (sim/model/model_spec.h parse_model). A model that parses is written back
// with to_yaml and must read again: the catalog format is the one `fathom model import` writes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/yaml.h"
#include "sim/model/model_spec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml;
  try {
    const fathom::model::ModelSpec m =
        fathom::model::parse_model(fathom::parse_yaml(fathom::fuzz::text_of(data, size), "model.yaml"));
    (void)m.moe_layer_count();
    (void)m.attention_layer_count();
    yaml = fathom::model::to_yaml(m);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
    return 0;
  }
  try {
    (void)fathom::model::parse_model(fathom::parse_yaml(yaml, "to_yaml"));
  } catch (const fathom::Error& e) {
    std::fprintf(stderr, "fuzz_model: to_yaml wrote a model that parse_model rejects: %s\n%s\n", e.what(),
                 yaml.c_str());
    std::abort();
  }
  return 0;
}
