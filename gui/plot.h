#pragma once
// `fathom-plot`: the GUI's charts rendered from result files without a display (docs/gui.md,
// "Headless charts"). The same chart functions as the pages (pages/*_charts.h) build each chart.
namespace fathom::gui {

// Runs the program on `argc`/`argv` (a QGuiApplication or QApplication must exist). Returns the
// exit status: 0, or 2 with one line on stderr for bad input.
int plot_main(int argc, char** argv);

}  // namespace fathom::gui
