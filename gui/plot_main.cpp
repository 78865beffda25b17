// fathom-plot: renders Fathom's charts to PNG or SVG from result files, with no display.
#include <QApplication>
#include <cstdio>

#include "gui/app/cpu_state.h"
#include "gui/plot.h"

namespace {
// Qt's own notes (XDG_RUNTIME_DIR unset, font fallbacks) are not the program's output: a script
// sees one line on stderr for bad input and nothing else. FATHOM_PLOT_DEBUG=1 shows them.
void quiet(QtMsgType type, const QMessageLogContext&, const QString& message) {
  if (type == QtFatalMsg || qEnvironmentVariableIsSet("FATHOM_PLOT_DEBUG")) {
    std::fprintf(stderr, "fathom-plot: Qt: %s\n", message.toLocal8Bit().constData());
  }
}
}  // namespace

int main(int argc, char** argv) {
  // Headless by design: the offscreen platform unless the caller chose one.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  qInstallMessageHandler(quiet);
  QApplication app(argc, argv);
  fathom::gui::clear_avx_upper_state();  // gui/app/cpu_state.h
  return fathom::gui::plot_main(argc, argv);
}
