// The YAML that `fathom fit --result` writes and `fathom predict` / `fathom optimal` read
// (fit/result.h load_fit, from a path: the input is written to the scratch folder). A result
// that loads is evaluated once at x = 1 for every variable, with its standard error.
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "fit/result.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fathom::fuzz::Scratch::get().write("result.yaml", fathom::fuzz::text_of(data, size));
  try {
    const fathom::fit::LoadedFit f = fathom::fit::load_fit(path);
    const std::vector<double> x(f.law->variables.size(), 1.0);
    (void)fathom::fit::predict_with_error(f, x);
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
