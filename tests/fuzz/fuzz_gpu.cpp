// GPU catalog YAML (hw/gpu.h parse_gpu). A `calibrated_profile:` relative path resolves in the
// scratch folder, which holds a valid profile (profile.yaml, measured.yaml).
#include <cstdint>

#include "common/error.h"
#include "common/yaml.h"
#include "hw/cluster.h"
#include "hw/gpu.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/scratch_files.h"

namespace {
std::string g_name;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fathom::fuzz::write_scratch_files();
  g_name = fathom::fuzz::Scratch::get().dir() + "/gpu.yaml";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  if (fathom::fuzz::may_name_outside(text)) return -1;
  try {
    const fathom::hw::GpuSpec g = fathom::hw::parse_gpu(fathom::parse_yaml(text, g_name));
    (void)fathom::hw::make_cluster(g, 1, g.intra_node.gpus_per_node);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
