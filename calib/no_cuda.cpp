// run_suite in a build without the CUDA toolkit: the suite cannot exist, and says so.
#include "calib/suite.h"

namespace fathom::calib {

bool built_with_cuda() { return false; }

int64_t run_suite(const SuitePlan&, store::CalibStore&, int, const Progress&) {
  throw NoGpuError("this fathom was built without the CUDA toolkit (FATHOM_WITH_CUDA=OFF); rebuild where nvcc is found");
}

}  // namespace fathom::calib
