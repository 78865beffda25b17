#pragma once
// A chart as data: what the pages and `fathom-plot` draw, free of Qt, so that one function per
// chart (pages/*_charts.cpp) builds it from a library result and the adapter (chart_qt.cpp, the
// only file that includes Qt Charts) draws it on screen, to PNG or to SVG.
#include <optional>
#include <string>
#include <vector>

namespace fathom::gui {

struct Axis {
  std::string title;  // with its unit: "TTFT (s)"
  bool log = false;   // base-10 logarithmic (values must be > 0; others are dropped)
  std::optional<double> min, max;  // default: from the data
  // Category axis (bars): one label per x position 0, 1, ...; empty: a value axis.
  std::vector<std::string> categories;
};

enum class SeriesKind {
  kLine,        // points joined in x order as given
  kScatter,     // markers
  kBand,        // the area between y_lo and y_hi (a confidence band)
  kStackedBar,  // y per category, stacked over the other kStackedBar series
};

struct Series {
  std::string name;  // empty: not in the legend
  SeriesKind kind = SeriesKind::kLine;
  std::vector<double> x, y;       // kStackedBar: y per category (x unused)
  std::vector<double> y_lo, y_hi; // kBand
  std::string color;              // "#rrggbb"; empty: the theme's next colour
};

// A labelled reference line across the plot: an SLO, HBM capacity.
struct RefLine {
  std::string label;
  bool horizontal = true;  // y = value; else x = value
  double value = 0;
};

struct Chart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  std::vector<RefLine> lines;
  // Text shown when there is nothing to draw ("run Simulate to see the latency CDF").
  std::string empty_text;
  // The legend beside the plot instead of under it (a single stacked bar with many parts).
  bool legend_right = false;

  bool empty() const;
  // The plotted data as CSV (series,x,y[,y_lo,y_hi]), the same numbers the chart draws.
  std::string csv() const;
};

}  // namespace fathom::gui
