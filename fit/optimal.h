#pragma once
// Compute-optimal allocation from a fitted law L(N, D, ...): with training compute C = k·N·D
// (k = 6 FLOPs per parameter per token by default, or a catalog architecture's own ratio), the
// N that minimises L(N, C/(kN)) at fixed C, the D that goes with it, and the loss reached; and
// iso-FLOP and iso-loss curves as data. Works for any law with variables named N and D (other
// variables, such as the unique tokens U of the data-constrained law, are held at given values).
#include <functional>
#include <string>
#include <vector>

#include "fit/law.h"

namespace fathom::fit {

struct Allocation {
  double compute = 0, n = 0, d = 0, tokens_per_param = 0, loss = 0;
};

struct AllocationProblem {
  const Law* law = nullptr;
  std::vector<double> params;
  double flops_per_param_token = 6;  // k in C = k·N·D
  std::vector<double> others;        // values of the law's variables other than N and D (law order)
};

// Throws FlagError when the law has no N and D, or `others` does not match its other variables.
void check_allocation(const AllocationProblem& p);

// The problem `fathom optimal` sets up from its flags: `at` holds NAME=VALUE for each variable of
// the law other than N and D (FlagError "--at" naming a missing one), k > 0. Checked as above.
AllocationProblem make_allocation_problem(const Law& law, const std::vector<double>& params, double k,
                                          const std::vector<std::string>& at);
// FlagError("--compute") unless there is at least one budget and each is positive and finite.
void check_budgets(const std::vector<double>& compute);

// The t in [lo, hi] minimising f: the best of `points` + 1 evenly spaced values, then golden
// section on the bracket around it until it is narrower than `tolerance`; returns the final
// bracket's midpoint. Used for every one-dimensional optimum of the scaling laws (here, and the
// lifetime optimum of plan/plan_total.cpp).
double scan_golden_minimum(const std::function<double(double)>& f, double lo, double hi, int points = 400,
                           double tolerance = 1e-12);

// Minimises over log N on a 400-point scan between 10 and C/(10k) parameters, then refines the
// best bracket by golden section to a relative 1e-12 in N.
Allocation optimal_allocation(const AllocationProblem& p, double compute);

struct CurvePoint {
  double compute = 0, n = 0, d = 0, loss = 0;
};
// `points` values of N spread log-evenly over [N_opt/span, N_opt·span] at fixed compute.
std::vector<CurvePoint> isoflop_curve(const AllocationProblem& p, double compute, int points = 41, double span = 30);
// `fathom optimal --format csv`: `compute,N,D,tokens_per_param,<response>`, one row per
// allocation, numbers with 17 significant digits (what the GUI's frontier table exports).
std::string allocations_csv(const std::vector<Allocation>& rows, const std::string& response);
// `fathom optimal --isoflop-out`: the same columns for every point of every curve, in order.
std::string isoflop_csv(const std::vector<std::vector<CurvePoint>>& curves, const std::string& response);

// For N log-evenly between n_low and n_high, the D that reaches `loss` (bisection in log D);
// N where the loss cannot be reached with any D ≤ 1e30 are left out.
std::vector<CurvePoint> isoloss_curve(const AllocationProblem& p, double loss, double n_low, double n_high,
                                      int points = 41);

}  // namespace fathom::fit
