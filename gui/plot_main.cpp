// fathom-plot: renders Fathom's charts to PNG or SVG from result files, with no display.
#include <QApplication>

#include "gui/plot.h"

int main(int argc, char** argv) {
  // Headless by design: the offscreen platform unless the caller chose one.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  return fathom::gui::plot_main(argc, argv);
}
