// fathom-gui: the desktop program for capacity planners (docs/gui.md).
//   fathom-gui [SCENARIO.yaml] [--page serve|train|scaling|hardware|plans]
//   fathom-gui --screenshots DIR [--size WxH]   every page with its example, as PNG (offscreen)
//   fathom-gui --settings FILE                  settings and recent files in FILE (INI)
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QElapsedTimer>
#include <QSettings>
#include <QStyleFactory>
#include <QThread>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.h"
#include "gui/app/app_context.h"
#include "gui/chart/chart_qt.h"
#include "gui/main_window.h"
#include "gui/pages/page.h"

namespace {

int usage(const std::string& what) {
  std::fprintf(stderr, "fathom-gui: %s\n", what.c_str());
  return 2;
}

// Every page's example, drawn into DIR/gui-<page>.png at a fixed size and font.
int screenshots(fathom::gui::MainWindow& window, const QString& dir, QSize size) {
  if (!QDir(dir).exists()) return usage("--screenshots: expected an existing folder, found '" + dir.toStdString() + "'");
  window.resize(size);
  window.show();
  for (int i = 0; i < window.page_count(); ++i) {
    fathom::gui::Page* page = window.page(i);
    window.show_page(i);
    page->load_example();
    QElapsedTimer clock;
    clock.start();
    while (page->busy() && clock.elapsed() < 600000) {
      QApplication::processEvents(QEventLoop::AllEvents, 50);
      QThread::msleep(10);
    }
    for (int k = 0; k < 20; ++k) QApplication::processEvents();
    const QString stem = page->title().toLower().replace(" & ", "-").replace(' ', '-');
    const QString file = QDir(dir).filePath("gui-" + stem + ".png");
    if (!window.grab().save(file)) return usage("--screenshots: cannot write '" + file.toStdString() + "'");
    std::printf("%s\n", file.toStdString().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  QString shots, page, scenario, settings_file;
  QSize size(1280, 860);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (a == "--screenshots" || a == "--page" || a == "--size" || a == "--settings") {
      const char* v = next(a.c_str());
      if (!v) return usage(a + ": expected a value, found the end of the arguments");
      if (a == "--screenshots") shots = v;
      else if (a == "--page") page = v;
      else if (a == "--settings") settings_file = v;
      else {
        int w = 0, h = 0;
        if (std::sscanf(v, "%dx%d", &w, &h) != 2 || w < 320 || h < 240 || w > 8192 || h > 8192) {
          return usage(std::string("--size: expected WIDTHxHEIGHT between 320x240 and 8192x8192, found '") + v + "'");
        }
        size = QSize(w, h);
      }
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: fathom-gui [SCENARIO.yaml] [--page serve|train|scaling|hardware|plans] [--settings FILE]\n"
                  "       fathom-gui --screenshots DIR [--size WxH]\n");
      return 0;
    } else if (!a.empty() && a[0] == '-' && a.rfind("-platform", 0) != 0) {
      return usage("expected a scenario file or --page/--screenshots/--size/--settings, found '" + a + "'");
    } else if (a.rfind("-platform", 0) == 0) {
      ++i;  // Qt's own option, with its value
    } else {
      scenario = QString::fromStdString(a);
    }
  }
  if (!shots.isEmpty() && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QApplication::setApplicationName("fathom-gui");
  QApplication::setOrganizationName("Fathom");
  QApplication::setStyle(QStyleFactory::create("Fusion"));
  QApplication::setFont(fathom::gui::chart_font(9));
  try {
    std::unique_ptr<QSettings> settings;
    if (!settings_file.isEmpty()) settings = std::make_unique<QSettings>(settings_file, QSettings::IniFormat);
    else if (!shots.isEmpty()) {
      // Screenshots start from no settings (no remembered geometry, page or recent files).
      const QString fresh = QDir::temp().filePath(QString("fathom-gui-screenshots-%1.ini").arg(QCoreApplication::applicationPid()));
      QFile::remove(fresh);
      settings = std::make_unique<QSettings>(fresh, QSettings::IniFormat);
    }
    fathom::gui::AppContext context({}, std::move(settings));
    fathom::gui::MainWindow window(context);
    if (!shots.isEmpty()) return screenshots(window, shots, size);
    const QStringList names{"serve", "train", "scaling", "hardware", "plans"};
    if (!page.isEmpty()) {
      const int i = static_cast<int>(names.indexOf(page));
      if (i < 0) return usage("--page: expected serve, train, scaling, hardware or plans, found '" + page.toStdString() + "'");
      window.show_page(i);
    }
    if (!scenario.isEmpty()) window.open_scenario(scenario);
    window.show();
    return app.exec();
  } catch (const fathom::Error& e) {
    return usage(e.what());
  }
}
