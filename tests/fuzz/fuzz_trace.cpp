// Serving trace CSV (sim/serve/workload.h load_trace, from a path: the input is written to the
// scratch folder), with the maximum model length of a small model and of a large one.
#include <cstdint>

#include "common/error.h"
#include "sim/serve/workload.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fathom::fuzz::Scratch::get().write("trace.csv", fathom::fuzz::text_of(data, size));
  for (const int64_t max_model_len : {int64_t{2048}, int64_t{131072}}) {
    try {
      (void)fathom::serve::load_trace(path, max_model_len);
    } catch (const fathom::Error& e) {
      fathom::fuzz::rejected(e);
    }
  }
  return 0;
}
