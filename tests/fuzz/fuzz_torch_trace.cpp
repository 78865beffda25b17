// PyTorch profiler Chrome-trace JSON (calib/torch_trace.h import_torch_trace, from a path: the
// input is written to the scratch folder). The importer promises InputError and nothing else.
#include <cstdint>

#include "calib/torch_trace.h"
#include "common/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fathom::fuzz::Scratch::get().write("trace.json", fathom::fuzz::text_of(data, size));
  try {
    (void)fathom::calib::import_torch_trace(path);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
