// Fit formulas (fit/expr.h Expr::parse and fit/law.h make_formula_law, as `fathom fit
// --formula` reads them), over the variables N, D, C, rate and `x y`. A formula that parses is
// evaluated on doubles and with its gradient (Ceres jets) at two points.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "fit/expr.h"
#include "fit/law.h"
#include "tests/fuzz/fuzz_util.h"

namespace {
const std::vector<std::string> kVariables = {"N", "D", "C", "rate", "x y"};

void evaluate(const fathom::fit::Expr& e) {
  const size_t np = e.parameters().size();
  std::vector<double> p(np), g(np);
  for (size_t i = 0; i < np; ++i) p[i] = 0.5 + 0.25 * static_cast<double>(i);
  const double x1[] = {7e7, 3.5e8, 1e20, 2, 0.5};
  const double x2[] = {-1, 0, 1e-300, -2.5, 1e300};
  for (const double* x : {x1, x2}) {
    (void)e.eval(p.data(), x);
    (void)e.eval(p.data(), x, g.data());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fathom::fuzz::text_of(data, size);
  try {
    evaluate(fathom::fit::Expr::parse(text, kVariables));
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  try {
    const auto law = fathom::fit::make_formula_law(text, kVariables, "y", "--formula");
    std::vector<double> p(law->params.size(), 0.75), x(law->variables.size(), 3.0), logx(law->variables.size());
    for (size_t i = 0; i < x.size(); ++i) logx[i] = std::log(x[i]);
    (void)law->value(p.data(), x.data(), logx.data());
    (void)law->log_value(p.data(), x.data(), logx.data());
  } catch (const fathom::Error& e) {
    fathom::fuzz::rejected(e);
  }
  return 0;
}
