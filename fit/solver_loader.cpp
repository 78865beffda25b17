// The fitting engine's functions (fit/fitter.h) as `fathom` links them: each opens
// libfathom_fit_solver.so on first use (dlopen, beside the executable, or FATHOM_FIT_MODULE) and
// calls through its table, so that commands that never fit never load Ceres
// (fit/solver_module.h says why).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>

#include "common/error.h"
#include "fit/solver_module.h"

namespace fathom::fit {

namespace {

namespace fs = std::filesystem;

fs::path module_path() {
  if (const char* p = std::getenv("FATHOM_FIT_MODULE"); p != nullptr && *p != '\0') return p;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()) / kSolverModuleFile;
}

const SolverTable& table() {
  static const SolverTable* t = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    const fs::path path = module_path();
    // Kept loaded for the life of the process (Ceres and OpenMP keep threads and exit handlers).
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      throw Error(path.string() + ": expected Fathom's fitting module (built next to fathom), found it missing or "
                  "unloadable: " + (why != nullptr ? why : "unknown dlopen error"));
    }
    auto entry = reinterpret_cast<SolverModuleEntry>(::dlsym(handle, kSolverModuleEntry));
    if (entry == nullptr) {
      throw Error(path.string() + ": expected the entry point " + kSolverModuleEntry +
                  ", found none (a module from another Fathom version?)");
    }
    t = entry();
  });
  return *t;
}

}  // namespace

Dataset Dataset::subset(const std::vector<size_t>& rows) const { return table().subset(*this, rows); }
Options default_options(const Law& law) { return table().default_options(law); }
std::vector<std::vector<double>> make_starts(const Law& law, const Options& o) { return table().make_starts(law, o); }
void check_problem(const Law& law, const Dataset& d, const Options& o) { table().check_problem(law, d, o); }
FitResult fit(const Law& law, const Dataset& d, const Options& o) { return table().fit(law, d, o); }
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
                          double level) {
  return table().bootstrap(law, d, o, best, resamples, level);
}
ExtrapolationResult extrapolate(const Law& law, const Dataset& d, const Options& o, size_t variable, double fraction) {
  return table().extrapolate(law, d, o, variable, fraction);
}

}  // namespace fathom::fit
