// Placeholder until `fathom-plot plan` lands (a helper is writing it).
#include "common/error.h"
#include "gui/plot.h"

namespace fathom::gui {
int plot_plan(const PlotArgs&) { throw FlagError("plan", "expected a built subcommand, found one not written yet"); }
}  // namespace fathom::gui
