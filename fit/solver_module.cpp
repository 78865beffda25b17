// libfathom_fit_solver.so's entry point (fit/solver_module.h): the fitting engine's functions,
// as a table that fathom's loader (solver_loader.cpp) calls through.
#include "fit/solver_module.h"

namespace fathom::fit {
namespace {
Dataset subset(const Dataset& d, const std::vector<size_t>& rows) { return d.subset(rows); }

const SolverTable kTable{
    &default_options, &make_starts, &check_problem, &fit, &fit_from, &objective,
    &metrics,         &predict,     &bootstrap,     &extrapolate,    &subset,
};
}  // namespace
}  // namespace fathom::fit

// The name must match kSolverModuleEntry.
extern "C" __attribute__((visibility("default"))) const fathom::fit::SolverTable* fathom_fit_solver_v3() {
  return &fathom::fit::kTable;
}
