// Cluster catalog YAML (hw/cluster.h parse_cluster).
#include <cstdint>

#include "common/error.h"
#include "common/yaml.h"
#include "hw/cluster.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)fathom::hw::parse_cluster(fathom::parse_yaml(fathom::fuzz::text_of(data, size), "cluster.yaml"));
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
