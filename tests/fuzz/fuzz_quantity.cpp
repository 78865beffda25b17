// Numbers and quantities as flags and files spell them: common/units.h parse_quantity in every
// dimension (it throws std::invalid_argument, its documented contract, which callers turn into
// an InputError or FlagError), the YAML accessors built on it (as_int, as_quantity, ...) on a
// scalar holding the input, and the fit flags that carry a number (--loss huber:DELTA).
// cli/'s own flag parsers (fit --fix/--grid/--bounds, calib --tokens/--tp, train --gpus) live in
// the command's files, outside the libraries, and are not reached here.
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "common/error.h"
#include "common/units.h"
#include "common/yaml.h"
#include "fit/law.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
constexpr fathom::Dimension kDimensions[] = {fathom::Dimension::kCount,    fathom::Dimension::kBytes,
                                             fathom::Dimension::kByteRate, fathom::Dimension::kFlopRate,
                                             fathom::Dimension::kTime,     fathom::Dimension::kFrequency,
                                             fathom::Dimension::kPower};

template <class F>
void expect_error(F&& f) {
  try {
    f();
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  for (fathom::Dimension d : kDimensions) {
    try {
      (void)fathom::parse_quantity(text, d);
    } catch (const std::invalid_argument&) {
    }
  }
  const fathom::YamlNode n(std::make_shared<const std::string>("flag"), YAML::Node(text), "value");
  expect_error([&] { (void)n.as_number(); });
  expect_error([&] { (void)n.as_positive_number(); });
  expect_error([&] { (void)n.as_nonnegative_number(); });
  expect_error([&] { (void)n.as_int(); });
  expect_error([&] { (void)n.as_positive_int(); });
  expect_error([&] { (void)n.as_nonnegative_int(); });
  expect_error([&] { (void)n.as_bool(); });
  for (fathom::Dimension d : kDimensions) expect_error([&] { (void)n.as_quantity(d); });
  expect_error([&] { (void)fathom::fit::parse_loss(text, "--loss"); });
  expect_error([&] { (void)fathom::fit::parse_space(text, "--space"); });
  expect_error([&] { (void)fathom::fit::parse_method(text, "--method"); });
  return 0;
}
