// CSV data files (common/csv.h CsvTable::parse), then number() on every cell, as the readers of
// validation tables, fit data and traces do; once with '#' lines as comments (the default), once
// as data (headers such as "# GPUs").
#include <cstdint>
#include <string>

#include "common/csv.h"
#include "common/error.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
void read(const std::string& text, bool comments) {
  try {
    const fathom::CsvTable t = fathom::CsvTable::parse(text, "data.csv", comments);
    for (const std::string& h : t.header()) (void)t.column(h);
    for (size_t r = 0; r < t.rows(); ++r) {
      (void)t.line(r);
      for (size_t c = 0; c < t.header().size(); ++c) {
        try {
          (void)t.number(r, c);
        } catch (const fathom::Error& e) {
          fathom::fuzz::rejected(e);
        }
      }
    }
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  read(text, true);
  read(text, false);
  return 0;
}
