#pragma once
// Validations of the fitter against published fits (docs/validation.md, "Fitting"):
// - Chinchilla (Hoffmann et al. 2022, Approach 3) on the 240 points of Epoch AI's reconstruction:
//   the paper's objective (Huber δ = 1e-3 on log-sum-exp residuals, summed) minimised from the
//   paper's 4,500-start grid; checked against random starts, a single loosely converged start,
//   the published parameter values and Besiroglu et al.'s replication;
// - Muennighoff et al. 2023's data-constrained law on their 182-run fit set: their two-stage
//   procedure (stage-1 values held, R_D* and R_N* fitted) and a joint fit of all seven.
// The datasets are not in the project (no licence to copy them); callers pass the paths and
// skip when a file is absent.
#include <string>
#include <vector>

#include "fit/fitter.h"

namespace fathom::fit {

// Loads Epoch AI's svg_extracted_data.csv: N = `Model Size`, D = `Training FLOP`/(6N),
// L = loss; drops the `drop_highest` highest losses (5 in the replication).
Dataset load_chinchilla(const std::string& path, size_t drop_highest = 5);
// Loads datablations' fit-set CSV: N = N_params, D = D_total_tokens, U = U_unique_tokens,
// L = val_loss_c4.
Dataset load_datablations(const std::string& path);

struct PublishedFit {
  std::string who;
  std::vector<double> params;  // the law's parameter order
  std::vector<double> std_error;  // empty when not published
};
// Hoffmann et al.'s rounded Approach-3 values and Besiroglu et al.'s estimates (with their
// standard errors), as (a, b, e, alpha, beta).
std::vector<PublishedFit> published_chinchilla_fits();

struct ChinchillaValidation {
  size_t points = 0;
  FitResult grid;            // the paper's 4,500-start grid
  FitResult random;          // random starts, every one to the tight tolerance
  double gap = 0;            // (random − grid)/grid objective
  FitResult loose;           // one start, loose tolerances
  std::vector<double> loose_start;
  double loose_tolerance = 1e-4;
  std::vector<double> published_objective;  // at each published_chinchilla_fits() entry
  BootstrapResult boot;
  double grid_s = 0, random_s = 0, boot_s = 0;
};
// `coarse` replaces the paper's grid by every other value of it (3 × 3 × 3 × 3 × 3 = 243 starts),
// for builds that check memory rather than numbers (the sanitizers).
ChinchillaValidation validate_chinchilla(const Dataset& data, int random_starts, int resamples, int threads,
                                         bool coarse = false);

struct DatablationsValidation {
  size_t points = 0;
  std::vector<double> stage1;         // the paper's stage-1 (a, b, e, alpha, beta), held fixed
  double paper_objective = 0;         // at the paper's R_D* = 15.387756, R_N* = 5.309743
  std::vector<double> paper_decay;    // {R_D*, R_N*}
  FitResult stage2;                   // R_D*, R_N* fitted, stage 1 held
  BootstrapResult stage2_boot;
  FitResult joint;                    // all seven parameters
  BootstrapResult joint_boot;
};
// `coarse`: the joint fit from a 2-value grid per parameter (128 starts) instead of 648.
DatablationsValidation validate_datablations(const Dataset& data, int resamples, int threads, bool coarse = false);

}  // namespace fathom::fit
