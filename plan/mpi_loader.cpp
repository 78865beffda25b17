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
    const std::string path = module_path(kMpiModuleFile, "FATHOM_MPI_MODULE");
    std::string why;
    auto entry = reinterpret_cast<MpiModuleEntry>(load_module_symbol(path, kMpiModuleEntry, why));
    if (entry == nullptr) {
      throw Error(path + ": expected Fathom's MPI module (a build with -DFATHOM_WITH_MPI=ON, scripts/setup.sh --with-mpi) "
                         "to run a sweep under mpirun, found it missing or unloadable: " + why);
    }
    t = entry();
  });
  return *t;
}

}  // namespace fathom::plan
