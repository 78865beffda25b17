#pragma once
// The boundary between `fathom` and libfathom_mpi.so, the module that holds the MPI calls of a
// sweep run under mpirun (docs/sweeps.md, "MPI"). `fathom` opens it only when the environment
// says it was started by an MPI launcher, so no other command (nor a sweep on one machine) loads
// the MPI libraries (docs/performance.md, "Start-up"). Built only with FATHOM_WITH_MPI.
#include <cstdint>

namespace fathom::plan {

struct MpiTable {
  void (*init)();                 // MPI_Init (once)
  int (*rank)();                  // in MPI_COMM_WORLD
  int (*size)();
  void (*barrier)();
  int64_t (*sum)(int64_t value);  // MPI_Allreduce over every rank
  void (*finalize)();
  void (*abort)(int status);  // MPI_Abort: ends every rank (one failing must not leave others waiting)
};

inline constexpr const char* kMpiModuleEntry = "fathom_mpi_v1";
inline constexpr const char* kMpiModuleFile = "libfathom_mpi.so";
using MpiModuleEntry = const MpiTable* (*)();

// Whether this process was started by mpirun/mpiexec (Open MPI, MPICH, PMIx or Slurm's PMI
// variables) with more than one rank.
bool launched_by_mpi();
// The module's table (opened on first use; FATHOM_MPI_MODULE overrides where). Throws
// fathom::Error when fathom was built without MPI or the module cannot be loaded.
const MpiTable& mpi();

}  // namespace fathom::plan
