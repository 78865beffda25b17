// The fitting engine's functions (fit/fitter.h) as `fathom` links them: each opens
// libfathom_fit_solver.so on first use (dlopen, beside the executable, or FATHOM_FIT_MODULE) and
// calls through its table, so that commands that never fit never load Ceres
// (fit/solver_module.h says why).
#include <mutex>
#include <string>

#include "common/error.h"
#include "common/module.h"
#include "fit/solver_module.h"

namespace fathom::fit {

namespace {

const SolverTable& table() {
  static const SolverTable* t = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    auto entry = reinterpret_cast<SolverModuleEntry>(require_module_symbol(
        kSolverModuleFile, "FATHOM_FIT_MODULE", kSolverModuleEntry, "Fathom's fitting module (built next to fathom)"));
    t = entry();
  });
  return *t;
}

}  // namespace

Dataset Dataset::subset(const std::vector<size_t>& rows) const { return table().subset(*this, rows); }
Options default_options(const Law& law) { return table().default_options(law); }
std::vector<std::vector<double>> make_starts(const Law& law, const Options& o) { return table().make_starts(law, o); }
void check_problem(const Law& law, const Dataset& d, const Options& o) { table().check_problem(law, d, o); }
FitResult fit(const Law& law, const Dataset& d, const Options& o, const FitControl& control) {
  return table().fit(law, d, o, control);
}
FitResult fit_from(const Law& law, const Dataset& d, const Options& o, const std::vector<double>& start) {
  return table().fit_from(law, d, o, start);
}
double objective(const Law& law, const Dataset& d, const Options& o, const std::vector<double>& p) {
  return table().objective(law, d, o, p);
}
Metrics metrics(const Law& law, const Dataset& d, const Options& o, const std::vector<double>& p) {
  return table().metrics(law, d, o, p);
}
double predict(const Law& law, const std::vector<double>& p, const std::vector<double>& x) {
  return table().predict(law, p, x);
}
BootstrapResult bootstrap(const Law& law, const Dataset& d, const Options& o, const FitResult& best, int resamples,
                          double level, const BootstrapControl& control) {
  return table().bootstrap(law, d, o, best, resamples, level, control);
}
ExtrapolationResult extrapolate(const Law& law, const Dataset& d, const Options& o, size_t variable, double fraction) {
  return table().extrapolate(law, d, o, variable, fraction);
}

}  // namespace fathom::fit
