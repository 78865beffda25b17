#pragma once
// One fit's inputs as `fathom fit` takes them (docs/fitting.md, docs/user_guide.md): a CSV, a law
// of the catalog or a formula, `--column` definitions, overrides of the law's grids, bounds and
// random ranges, and the procedure's options; prepared into the law, the points and the options
// that fit() takes. `fathom fit` and the GUI's Scaling laws page both call prepare_fit with the
// same texts, so the fit on screen is the fit the command runs, with the same errors.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/csv.h"
#include "fit/fitter.h"
#include "fit/law.h"

namespace fathom::fit {

// Every field is a flag of `fathom fit`, with its default; texts are parsed as the flag's.
struct FitSpec {
  std::string data;                    // DATA.csv: a header row ('#' comment lines before it)
  std::string law;                     // --law NAME (exactly one of law and formula)
  std::string formula;                 // --formula 'Y = EXPRESSION'
  std::string response;                // --response NAME: y of a formula written without '='
  std::vector<std::string> columns;    // --column NAME=EXPRESSION, in order
  std::string space, loss, method;     // --space/--loss/--method; empty: the law's own
  std::vector<std::string> fix;        // --fix NAME=VALUE
  std::vector<std::string> grid;       // --grid NAME=v1,v2,...
  std::vector<std::string> bounds;     // --bounds NAME=LOW:HIGH
  std::vector<std::string> ranges;     // --range NAME=LOW:HIGH (random starts)
  bool no_grid = false;                // --no-grid
  int64_t random_starts = 0;           // --random-starts N, 0 to 10^7
  int64_t polish = 10;                 // --polish N, 1 to 10^5
  double screen_tolerance = 1e-6;      // --screen-tolerance T in [0, 1)
  double tolerance = 1e-15;            // --tolerance T in (0, 1)
  int64_t seed = 1;                    // --seed N >= 0
  int64_t threads = 0;                 // --threads N, 0 (all cores) to 1024
  int64_t drop_highest = 0;            // --drop-highest K: leave out the K rows of highest response
};

struct FitProblem {
  std::unique_ptr<Law> law;  // with the overrides applied and its grids scaled to the data
  Dataset data;
  std::vector<size_t> rows;  // the CSV row (0-based, after the header) of each point
  size_t dropped = 0;
  Options options;
  CsvTable table;  // the file as read
  // The --column definitions evaluated on every CSV row, and every name a column may be asked
  // for: the file's header, then the definitions.
  std::map<std::string, std::vector<double>> defined;
  std::vector<std::string> columns;
};

// Reads the CSV and prepares the fit, checking the spec in the order `fathom fit` does. Throws
// FlagError naming the flag ("--formula: column 7: expected ...", "--grid: ...") or InputError
// naming the file and line (a missing column, a value that is not a number).
FitProblem prepare_fit(const FitSpec& spec);

// A column of the file or a definition (`flag` names the option asking, for errors), at each point
// of `p`: as numbers (InputError naming file and line for a cell that is not one), or as text (a
// definition's value printed with 6 significant digits).
std::vector<double> column_at_points(const FitProblem& p, const std::string& name, const std::string& flag);
std::vector<std::string> column_text_at_points(const FitProblem& p, const std::string& name, const std::string& flag);

}  // namespace fathom::fit
