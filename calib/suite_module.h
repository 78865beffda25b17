#pragma once
// The boundary between `fathom` and libfathom_calib_cuda.so, the module that holds everything
// that touches CUDA (the microbenchmark suite, cuBLASLt, CUPTI). fathom loads it with dlopen only
// when `fathom calib run` measures, so that no other command loads a CUDA library at start-up
// (docs/performance.md). Both sides are built from the same sources by the same compiler, so
// the C++ types below cross the boundary as they are; exceptions do not: the module catches
// everything and reports it through SuiteModuleResult, and the loader rethrows it as the type
// the caller expects.
#include <cstdint>
#include <string>

#include "calib/suite.h"

namespace fathom::calib {

struct SuiteModuleResult {
  enum class Status : int { kOk = 0, kNoGpu = 1, kInputError = 2, kFailed = 3 };
  Status status = Status::kFailed;
  int64_t run_id = 0;
  std::string message;  // what went wrong, when status is not kOk
};

// The module's one exported symbol, and its signature. Bump the version when it changes.
inline constexpr const char* kSuiteModuleEntry = "fathom_calib_run_suite_v1";
inline constexpr const char* kSuiteModuleFile = "libfathom_calib_cuda.so";
using SuiteModuleEntry = void (*)(const SuitePlan& plan, store::CalibStore& db, int device, const Progress& progress,
                                  SuiteModuleResult& result);

// Inside the module: the suite on a CUDA GPU (calib/cuda/suite.cpp). Throws as run_suite does.
int64_t run_suite_on_gpu(const SuitePlan& plan, store::CalibStore& db, int device, const Progress& progress);

}  // namespace fathom::calib
