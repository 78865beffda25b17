// Placeholder until fathom-plot lands (a helper is writing it).
#include "gui/plot.h"

#include <cstdio>

namespace fathom::gui {
int plot_main(int, char**) {
  std::fputs("fathom-plot: not built yet\n", stderr);
  return 2;
}
}  // namespace fathom::gui
