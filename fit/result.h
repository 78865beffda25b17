#pragma once
// The YAML file that `fathom fit` writes and `fathom predict` / `fathom optimal` read: the law
// (catalog name or formula), every parameter with its standard error and bootstrap interval, the
// covariance of the free parameters, goodness of fit and the procedure that produced it.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fit/fitter.h"
#include "fit/law.h"

namespace fathom::fit {

struct FitRecord {
  std::string data_file;
  size_t points = 0, dropped = 0;
  std::vector<std::string> columns;  // --column definitions, as given
  Options options;
  FitResult result;
  std::optional<BootstrapResult> boot;
  std::optional<ExtrapolationResult> extrapolation;
};

std::string result_yaml(const Law& law, const FitRecord& rec);
// One row per parameter, then per derived quantity: `name,kind,value,std_error,low,high`
// (kind parameter, fixed or derived; low and high with a bootstrap), numbers with 17 significant
// digits: what `fathom fit --format csv` prints and the GUI's parameter table exports.
std::string result_csv(const Law& law, const FitRecord& rec);

struct LoadedFit {
  std::unique_ptr<Law> law;
  std::vector<double> params;
  std::vector<bool> free;
  std::vector<double> covariance;  // free × free, empty when the file has none
  std::string file;
  // How the fit was made, for drawing it against its data again (fathom-plot fit): the
  // --column definitions, the rows dropped by --drop-highest, the residual space, the bootstrap's
  // level (0.95 when the file has no bootstrap).
  std::vector<std::string> columns;
  size_t dropped = 0;
  Space space = Space::Data;
  double level = 0.95;
};
// Throws InputError with file:line for a malformed file.
LoadedFit load_fit(const std::string& path);

// f at x with its standard error from the covariance (delta method: √(gᵀ Σ g), g = ∂f/∂p of
// the free parameters, exact from Jets); NaN when the covariance is absent.
struct Prediction {
  double value = 0, std_error = 0;
};
Prediction predict_with_error(const LoadedFit& f, const std::vector<double>& x);
// The same for a law fitted in memory (`free` and `covariance` as in FitResult).
Prediction predict_with_error(const Law& law, const std::vector<double>& params, const std::vector<bool>& free,
                              const std::vector<double>& covariance, const std::vector<double>& x);

}  // namespace fathom::fit
