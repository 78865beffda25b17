// libfathom_calib_cuda.so's entry point (calib/suite_module.h): runs the suite and turns every
// exception into a SuiteModuleResult, since exception types do not cross a dlopen boundary
// reliably when the module keeps its own copies of Fathom's static libraries.
#include <exception>

#include "calib/suite_module.h"
#include "common/error.h"

extern "C" __attribute__((visibility("default"))) void fathom_calib_run_suite_v1(
    const fathom::calib::SuitePlan& plan, fathom::store::CalibStore& db, int device,
    const fathom::calib::Progress& progress, fathom::calib::SuiteModuleResult& result) {
  using Status = fathom::calib::SuiteModuleResult::Status;
  try {
    result.run_id = fathom::calib::run_suite_on_gpu(plan, db, device, progress);
    result.status = Status::kOk;
  } catch (const fathom::calib::NoGpuError& e) {
    result.status = Status::kNoGpu;
    result.message = e.what();
  } catch (const fathom::Error& e) {
    result.status = Status::kInputError;
    result.message = e.what();
  } catch (const std::exception& e) {
    result.status = Status::kFailed;
    result.message = e.what();
  } catch (...) {
    result.status = Status::kFailed;
    result.message = "an unknown exception in the CUDA suite";
  }
}
