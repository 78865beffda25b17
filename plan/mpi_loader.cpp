#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "common/error.h"
#include "common/module.h"
#include "plan/mpi_module.h"

namespace fathom::plan {

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const char* s = std::getenv(v);
    if (s != nullptr && std::atoi(s) > 1) return true;
  }
  return false;
}

const MpiTable& mpi() {
  static const MpiTable* t = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    auto entry = reinterpret_cast<MpiModuleEntry>(require_module_symbol(
        kMpiModuleFile, "FATHOM_MPI_MODULE", kMpiModuleEntry,
        "Fathom's MPI module (a build with Open MPI installed, -DFATHOM_WITH_MPI=ON) to run a sweep under mpirun"));
    t = entry();
  });
  return *t;
}

}  // namespace fathom::plan
