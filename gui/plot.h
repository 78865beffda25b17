#pragma once
// `fathom-plot`: the GUI's charts rendered from result files without a display (docs/gui.md,
// "Headless charts"). Each subcommand builds its charts with the same functions as the page that
// shows them (pages/*_charts.h) and writes one chart to PNG or SVG:
//   fathom-plot serve|plan|sweep|fit INPUT... --chart NAME --out FILE.png|FILE.svg [--size WxH] [...]
#include <map>
#include <set>
#include <string>
#include <vector>

#include <QSize>

#include "gui/chart/chart.h"

namespace fathom::gui {

// The words after the subcommand: positional inputs, and `--name value` options (each name at
// most once, except --where, which may repeat and is collected in order).
struct PlotArgs {
  std::string command;
  std::vector<std::string> inputs;
  std::map<std::string, std::string> options;
  std::vector<std::string> wheres;

  bool has(const std::string& name) const { return options.count(name) > 0; }
  // The option's value, or `fallback` when it was not given.
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  // A required option: FlagError "--name: expected ..., found nothing" when absent.
  std::string need(const std::string& name, const std::string& expected) const;
};

// Parses argv[first...]; `known` are the subcommand's option names without "--" (out, size and
// chart are always known). Throws FlagError for an unknown option or a missing value.
PlotArgs parse_plot_args(const std::string& command, int argc, char** argv, int first,
                         const std::set<std::string>& known);

// The pixel size of --size WxH (default 900x560; 64x64 to 8192x8192), FlagError otherwise.
QSize plot_size(const PlotArgs& args);

// Checks --out before any work (present, ends in .png or .svg, writable place: common/output.h),
// so that bad flags fail before reading inputs. Throws FlagError.
void check_plot_out(const PlotArgs& args);
// Writes `chart` to --out: PNG or SVG by its extension, at plot_size(args), by the rules of every
// Fathom output (atomic replace, FIFOs written through, nothing left on failure).
void write_plot(const Chart& chart, const PlotArgs& args);

// The subcommands (each returns 0, or throws fathom::Error for bad input):
int plot_serve(const PlotArgs& args);  // plot_serve.cpp: `fathom serve --format json` + --requests/--timeseries CSV
int plot_plan(const PlotArgs& args);   // plot_plan.cpp: a plan's JSON (`fathom plan ... --format json`) or database
int plot_sweep(const PlotArgs& args);  // plot_sweep.cpp: a sweep database, any metric against any axis
int plot_fit(const PlotArgs& args);    // plot_fit.cpp: a fit result YAML and its data CSV

// The program: dispatches on argv[1]; prints one line and returns 2 on fathom::Error.
int plot_main(int argc, char** argv);

}  // namespace fathom::gui
