#pragma once
// The boundary between `fathom` and libfathom_fit_solver.so, the module that holds the fitting
// engine (fitter.cpp) and with it Ceres and the libraries Ceres brings (glog, SuiteSparse,
// LAPACK/BLAS, gfortran, OpenMP: twenty shared libraries, about 15 ms of every start).
// `fathom` opens the module with dlopen the first time a command fits (fit, predict, optimal,
// validate fitting, calib fit and report), so every other command starts without them
// (docs/performance.md). Tests, benchmarks and other programs link the engine directly
// (the fathom_fit target) and never see this file.
//
// Both sides are built from the same sources by the same compiler, so the C++ types cross the
// boundary as they are; exceptions (fathom::InputError from check_problem, ...) propagate
// through these calls as through any other.
#include <cstddef>
#include <vector>

#include "fit/fitter.h"

namespace fathom::fit {

struct SolverTable {
  Options (*default_options)(const Law&);
  std::vector<std::vector<double>> (*make_starts)(const Law&, const Options&);
  void (*check_problem)(const Law&, const Dataset&, const Options&);
  FitResult (*fit)(const Law&, const Dataset&, const Options&, const FitControl&);
  FitResult (*fit_from)(const Law&, const Dataset&, const Options&, const std::vector<double>&);
  double (*objective)(const Law&, const Dataset&, const Options&, const std::vector<double>&);
  Metrics (*metrics)(const Law&, const Dataset&, const Options&, const std::vector<double>&);
  double (*predict)(const Law&, const std::vector<double>&, const std::vector<double>&);
  BootstrapResult (*bootstrap)(const Law&, const Dataset&, const Options&, const FitResult&, int, double,
                               const BootstrapControl&);
  ExtrapolationResult (*extrapolate)(const Law&, const Dataset&, const Options&, size_t, double);
  Dataset (*subset)(const Dataset&, const std::vector<size_t>&);
};

// The module's one exported symbol returns the table; bump the version when the table changes
// (v2: bootstrap takes a BootstrapControl; v3: fit takes a FitControl), so that a stale module is refused by name rather than
// called with the wrong arguments.
inline constexpr const char* kSolverModuleEntry = "fathom_fit_solver_v3";
inline constexpr const char* kSolverModuleFile = "libfathom_fit_solver.so";
using SolverModuleEntry = const SolverTable* (*)();

}  // namespace fathom::fit
