// Placeholder until `fathom-plot serve` lands (a helper is writing it).
#include "common/error.h"
#include "gui/plot.h"

namespace fathom::gui {
int plot_serve(const PlotArgs&) { throw FlagError("serve", "expected a built subcommand, found one not written yet"); }
}  // namespace fathom::gui
