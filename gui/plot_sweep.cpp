// Placeholder until `fathom-plot sweep` lands (a helper is writing it).
#include "common/error.h"
#include "gui/plot.h"

namespace fathom::gui {
int plot_sweep(const PlotArgs&) { throw FlagError("sweep", "expected a built subcommand, found one not written yet"); }
}  // namespace fathom::gui
