// Calibrated profile YAML (hw/profile.h parse_profile). A profile that parses is written back
// with profile_to_yaml and must read again (calib/ writes what hw/ reads).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/yaml.h"
#include "hw/profile.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml;
  try {
    const fathom::hw::CalibratedProfile p =
        fathom::hw::parse_profile(fathom::parse_yaml(fathom::fuzz::text_of(data, size), "profile.yaml"));
    yaml = fathom::hw::profile_to_yaml(p);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
    return 0;
  }
  try {
    (void)fathom::hw::parse_profile(fathom::parse_yaml(yaml, "profile_to_yaml"));
  } catch (const fathom::Error& e) {
    std::fprintf(stderr, "fuzz_profile: profile_to_yaml wrote a profile that parse_profile rejects: %s\n%s\n", e.what(),
                 yaml.c_str());
    std::abort();
  }
  return 0;
}
