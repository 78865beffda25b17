#pragma once
// A stored sweep as its readers see it (the GUI's sweep view, `fathom-plot sweep`): the tidy
// table `fathom sweep export` writes, as typed cells, each axis's values, and one metric against
// one axis for the points that pass filters on the other axes, in series by a third axis
// (docs/sweeps.md, "Pictures from scripts"). Reading is read-only and may run while
// `fathom sweep` is still writing the file (WAL): the table holds the points committed so far.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "store/sweep_store.h"

namespace fathom::plan {

// A cell of the tidy table: null (absent), a number, or text (a name, a verdict, or a list or
// map axis value as compact JSON). `text` is what the CSV export writes, unquoted.
struct SweepCell {
  enum class Kind { kNull, kNumber, kText } kind = Kind::kNull;
  double number = std::numeric_limits<double>::quiet_NaN();
  std::string text;
};

struct SweepTable {
  store::SweepInfo sweep;
  // As export_csv: point, the axis paths, status, verdict, seed, the metrics (in the order the
  // first point reporting each gives), scenario_hash, message.
  std::vector<std::string> columns;
  std::vector<std::string> axes;     // the axis paths, in the spec's order
  std::vector<std::string> metrics;  // the metric columns, in order
  // Each axis's distinct values among the stored points, as cell text: ascending when every value
  // is a number, else in point order.
  std::vector<std::vector<std::string>> axis_values;
  std::vector<std::vector<SweepCell>> rows;  // one per stored point, ascending; a cell per column

  // The index of a column; -1 when absent.
  int column(const std::string& name) const;
};

// Reads every stored point of `sweep` (one query: points stored after it are not in the table).
SweepTable read_sweep_table(const store::SweepStore& db, const store::SweepInfo& sweep);
// The table as `fathom sweep export` writes it (CSV, RFC 4180): the same bytes.
std::string sweep_table_csv(const SweepTable& t);

// One metric against one axis. `where` keeps the points whose axis has the value (its cell text,
// or a number equal to it: "512" matches 512.0); `series` splits them by a third axis.
struct SweepSelection {
  std::string x;       // an axis path
  std::string y;       // a metric
  std::string series;  // an axis path, or "" for one series
  std::vector<std::pair<std::string, std::string>> where;  // (axis path, value)
};

struct SweepSeries {
  std::string label;    // "path=value" of the series axis; the metric's name with no series axis
  std::vector<double> x, y;       // by ascending x; x is the category index when x_categories is set
  std::vector<size_t> rows;       // the SweepTable row of each point
};

struct SweepPlot {
  // Set when the x axis holds a value that is not a number (GPU names, maps): x is then the index
  // of the value in this list (the axis's values).
  std::vector<std::string> x_categories;
  std::vector<SweepSeries> series;  // in the series axis's value order
  int64_t matched = 0;   // stored points passing the filters
  int64_t plotted = 0;   // of those, with a finite value of the metric (failed points have none)
};

// FlagError naming `--x`, `--y`, `--series` or `--where` (and listing what exists) for an
// unknown axis or metric, a value no stored point has, or an axis used twice.
SweepPlot select_sweep(const SweepTable& t, const SweepSelection& s);

}  // namespace fathom::plan
