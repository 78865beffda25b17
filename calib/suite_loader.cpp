// run_suite as `fathom` sees it: loads libfathom_calib_cuda.so (built next to the executable
// when the CUDA toolkit is found) with dlopen, on the first measurement only, and calls its entry
// point. Every other command starts without loading cudart, cuBLASLt or CUPTI
// (docs/performance.md has the start-up figures this buys).
#include "calib/suite_module.h"
#include "common/error.h"
#include "common/module.h"

namespace fathom::calib {

bool built_with_cuda() {
#ifdef FATHOM_WITH_CUDA_MODULE
  return true;
#else
  return false;
#endif
}

namespace {

SuiteModuleEntry load_entry() {
  if (!built_with_cuda()) {
    throw NoGpuError("this fathom was built without the CUDA toolkit (FATHOM_WITH_CUDA=OFF); rebuild where nvcc is found");
  }
  const std::string path = module_path(kSuiteModuleFile, "FATHOM_CALIB_MODULE");
  std::string why;
  void* sym = load_module_symbol(path, kSuiteModuleEntry, why);
  if (sym == nullptr) {
    throw NoGpuError("could not load the CUDA calibration module " + path + ": " + why +
                     " (are the CUDA libraries installed?)");
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
