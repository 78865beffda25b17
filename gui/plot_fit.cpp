// Placeholder until `fathom-plot fit` lands (a helper is writing it).
#include "common/error.h"
#include "gui/plot.h"

namespace fathom::gui {
int plot_fit(const PlotArgs&) { throw FlagError("fit", "expected a built subcommand, found one not written yet"); }
}  // namespace fathom::gui
