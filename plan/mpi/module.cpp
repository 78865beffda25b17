// libfathom_mpi.so: the MPI calls of a sweep under mpirun (plan/mpi_module.h).
#include <mpi.h>

#include "plan/mpi_module.h"

namespace fathom::plan {

namespace {

void init() {
  int done = 0;
  MPI_Initialized(&done);
  if (!done) MPI_Init(nullptr, nullptr);
}
int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}
void barrier() { MPI_Barrier(MPI_COMM_WORLD); }
int64_t sum(int64_t v) {
  long long in = v, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return static_cast<int64_t>(out);
}
void finalize() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}
[[noreturn]] void abort_all(int status) {
  MPI_Abort(MPI_COMM_WORLD, status);
  __builtin_unreachable();
}

const MpiTable kTable = {init, rank, size, barrier, sum, finalize, abort_all};

}  // namespace

}  // namespace fathom::plan

extern "C" __attribute__((visibility("default"))) const fathom::plan::MpiTable* fathom_mpi_v1() {
  return &fathom::plan::kTable;
}
