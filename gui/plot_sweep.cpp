// `fathom-plot sweep SWEEP.sqlite --x AXIS --y METRIC [--series AXIS] [--where AXIS=VALUE]...
// [--sweep NAME] [--logx 1] [--logy 1] --out FILE.png|.svg`: any metric of a stored sweep against
// any axis, drawn by the function the sweep view of the Plans & sweeps page uses
// (gui/pages/sweep_charts.h). The file is opened read-only (it may still be written).
#include <filesystem>

#include "common/error.h"
#include "gui/pages/sweep_charts.h"
#include "gui/plot.h"
#include "plan/sweep_export.h"
#include "plan/sweep_table.h"
#include "store/sweep_store.h"

namespace fathom::gui {

namespace {
bool flag_bool(const PlotArgs& args, const std::string& name) {
  const std::string v = args.get(name, "0");
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  throw FlagError("--" + name, "expected 1 or 0, found '" + v + "'");
}
}  // namespace

int plot_sweep(const PlotArgs& args) {
  check_plot_out(args);
  plan::SweepSelection s;
  s.x = args.need("x", "an axis path of the sweep (fathom sweep export shows them)");
  s.y = args.need("y", "a metric of the sweep (docs/sweeps.md lists them)");
  s.series = args.get("series");
  for (const auto& w : args.wheres) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) throw FlagError("--where", "expected AXIS=VALUE, found '" + w + "'");
    s.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  const bool logx = flag_bool(args, "logx"), logy = flag_bool(args, "logy");
  if (args.inputs.size() != 1) {
    throw FlagError("sweep", "expected one sweep database, found " + std::to_string(args.inputs.size()) + " inputs");
  }
  const std::string& path = args.inputs.front();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path, "expected a sweep database, found no such file");
  const store::SweepStore db = store::SweepStore::open(path, false);
  const plan::SweepTable t = plan::read_sweep_table(db, plan::pick_sweep(db, args.get("sweep"), path));
  const plan::SweepPlot p = plan::select_sweep(t, s);
  if (p.plotted == 0) {
    throw InputError(path, "expected stored points with a value of " + s.y + " passing the filters, found " +
                               std::to_string(p.matched) + " passing and none with a value");
  }
  write_plot(sweep_chart(t, s, p, logx, logy), args);
  return 0;
}

}  // namespace fathom::gui
