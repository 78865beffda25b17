// run_suite as `fathom` sees it: loads libfathom_calib_cuda.so (built next to the executable
// when the CUDA toolkit is found) with dlopen, on the first measurement only, and calls its entry
// point. Every other command starts without loading cudart, cuBLASLt or CUPTI
// (docs/performance.md has the start-up figures this buys).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "calib/suite_module.h"
#include "common/error.h"

namespace fathom::calib {

namespace fs = std::filesystem;

bool built_with_cuda() {
#ifdef FATHOM_WITH_CUDA_MODULE
  return true;
#else
  return false;
#endif
}

namespace {

// The module beside the running executable; FATHOM_CALIB_MODULE names another (tests, bundles).
fs::path module_path() {
  if (const char* p = std::getenv("FATHOM_CALIB_MODULE"); p != nullptr && *p != '\0') return p;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()) / kSuiteModuleFile;
}

SuiteModuleEntry load_entry() {
  if (!built_with_cuda()) {
    throw NoGpuError("this fathom was built without the CUDA toolkit (FATHOM_WITH_CUDA=OFF); rebuild where nvcc is found");
  }
  const fs::path path = module_path();
  // Kept loaded for the life of the process: CUDA's libraries register exit handlers.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw NoGpuError("could not load the CUDA calibration module " + path.string() + ": " +
                     (why != nullptr ? why : "unknown dlopen error") + " (are the CUDA libraries installed?)");
  }
  void* sym = ::dlsym(handle, kSuiteModuleEntry);
  if (sym == nullptr) {
    throw NoGpuError("expected " + path.string() + " to export " + kSuiteModuleEntry +
                     ", found none (a module from another Fathom version?)");
  }
  return reinterpret_cast<SuiteModuleEntry>(sym);
}

}  // namespace

int64_t run_suite(const SuitePlan& plan, store::CalibStore& db, int device, const Progress& progress) {
  const SuiteModuleEntry entry = load_entry();
  SuiteModuleResult result;
  entry(plan, db, device, progress, result);
  switch (result.status) {
    case SuiteModuleResult::Status::kOk:
      return result.run_id;
    case SuiteModuleResult::Status::kNoGpu:
      throw NoGpuError(result.message);
    case SuiteModuleResult::Status::kInputError:
      throw Error(result.message);
    case SuiteModuleResult::Status::kFailed:
      break;
  }
  throw std::runtime_error(result.message);
}

}  // namespace fathom::calib
