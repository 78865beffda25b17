// The main window, offscreen: the five pages and their shortcuts, opening a scenario in the page
// it belongs to, saving it to a file that resolves to the same numbers, Copy as command, recent
// files and settings remembered across sessions, Export all, Compare, and fathom-gui's flags.
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QImage>
#include <QMenuBar>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "gui/app/app_context.h"
#include "gui/compare_dialog.h"
#include "gui/main_window.h"
#include "gui/pages/page.h"
#include "sim/estimate.h"

using namespace fathom;
using namespace fathom::gui;

namespace {

std::unique_ptr<QSettings> settings_in(const QTemporaryDir& dir) {
  return std::make_unique<QSettings>(dir.filePath("settings.ini"), QSettings::IniFormat);
}

QAction* find_action(QWidget* w, const QString& text) {
  for (QAction* a : w->findChildren<QAction*>()) {
    if (a->text() == text) return a;
  }
  return nullptr;
}

int run(const QStringList& args, QString* err = nullptr) {
  QProcess p;
  p.start(FATHOM_GUI_BIN, args);
  p.waitForFinished(60000);
  if (err) *err = QString::fromUtf8(p.readAllStandardError());
  return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT
 private slots:
  void HasTheFivePagesAndControlDigitSwitchesThem() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    MainWindow w(ctx);
    w.show();
    QApplication::setActiveWindow(&w);
    QVERIFY(QTest::qWaitForWindowActive(&w));  // window shortcuts need the active window
    QCOMPARE(w.page_count(), 5);
    const QStringList titles{"Serve", "Train", "Scaling laws", "Hardware", "Plans & sweeps"};
    for (int i = 0; i < 5; ++i) QCOMPARE(w.page(i)->title(), titles[i]);
    QTest::keyClick(&w, Qt::Key_3, Qt::ControlModifier);
    QCOMPARE(w.current_page(), w.page(2));
    QTest::keyClick(&w, Qt::Key_1, Qt::ControlModifier);
    QCOMPARE(w.current_page(), w.page(0));
  }

  void OpensAScenarioInThePageItBelongsTo() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    MainWindow w(ctx);
    const QString train = QString::fromStdString(ctx.data("scenarios/llama3.1-70b-train-h100.yaml"));
    const QString serve = QString::fromStdString(ctx.data("scenarios/llama3.1-8b-serve-h100.yaml"));
    w.open_scenario(train);
    QCOMPARE(w.current_page(), w.page(1));
    QVERIFY(w.page(1)->scenario());
    QCOMPARE(QString::fromStdString(w.page(1)->scenario()->path()), train);
    w.open_scenario(serve);
    QCOMPARE(w.current_page(), w.page(0));
    QCOMPARE(QString::fromStdString(w.page(0)->scenario()->path()), serve);
    QCOMPARE(ctx.recent_files().value(0), serve);
    QCOMPARE(ctx.recent_files().value(1), train);
  }

  // Save writes the resolved scenario; the CLI and the library read it back to the same numbers.
  void SavedScenarioResolvesToTheSameNumbers() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    MainWindow w(ctx);
    w.open_scenario(QString::fromStdString(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml")));
    ScenarioDoc* doc = w.current_page()->scenario();
    QVERIFY(doc);
    doc->set("serve.parallel.tp", "4");
    doc->set("precision.weights", "fp8");
    const auto before = sim::estimate(doc->resolve(ctx.hardware(), ctx.models()).scenario, sim::EstimateKind::kServeIteration);
    const QString file = dir.filePath("saved.yaml");
    w.save_scenario(file);
    QCOMPARE(QString::fromStdString(doc->path()), file);
    QVERIFY(doc->edits().empty());
    const auto after = sim::estimate(sim::load_scenario(file.toStdString(), ctx.hardware(), ctx.models()),
                                     sim::EstimateKind::kServeIteration);
    QCOMPARE(after.total_s, before.total_s);
    QCOMPARE(after.gpus, 4.0);
    QCOMPARE(ctx.recent_files().value(0), file);
  }

  void CopyAsCommandPutsThePagesCommandOnTheClipboard() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    MainWindow w(ctx);
    w.open_scenario(QString::fromStdString(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml")));
    w.current_page()->scenario()->set("serve.parallel.tp", "2");
    QAction* copy = find_action(&w, "&Copy as command");
    QVERIFY(copy);
    QCOMPARE(copy->shortcut(), QKeySequence("Ctrl+Shift+C"));
    copy->trigger();
    const QString line = w.command_line();
    QVERIFY(line.startsWith("fathom "));
    QVERIFY(line.contains("--set serve.parallel.tp=2"));
    QCOMPARE(QApplication::clipboard()->text(), line);
  }

  void SettingsAndRecentFilesOutliveTheWindow() {
    QTemporaryDir dir;
    const QString file = QString::fromStdString(AppContext().data("scenarios/llama3.1-8b-serve-h100.yaml"));
    {
      AppContext ctx({}, settings_in(dir));
      MainWindow w(ctx);
      w.open_scenario(file);
      w.show_page(3);
      w.resize(1000, 700);
      w.show();
      w.close();
    }
    AppContext ctx({}, settings_in(dir));
    QCOMPARE(ctx.recent_files(), QStringList{file});
    MainWindow w(ctx);
    QCOMPARE(w.current_page(), w.page(3));
  }

  void ExportAllWritesEveryChartAndTable() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    MainWindow w(ctx);
    const QStringList files = w.export_all(dir.path());
    int charts = 0, tables = 0;
    for (int i = 0; i < w.page_count(); ++i) {
      charts += static_cast<int>(w.page(i)->charts().size());
      tables += static_cast<int>(w.page(i)->tables().size());
    }
    QVERIFY2(charts >= 5 && tables >= 5, "every page shows at least one chart and one table");
    QCOMPARE(files.size(), 2 * charts + tables);
    for (const QString& f : files) {
      QVERIFY2(QFileInfo(f).size() > 0, qPrintable(f));
      if (f.endsWith(".png")) QCOMPARE(QImage(f).size(), QSize(900, 560));
    }
  }

  void CompareDialogShowsBothScenarios() {
    QTemporaryDir dir;
    AppContext ctx({}, settings_in(dir));
    CompareDialog d(ctx);
    d.set_left_file(QString::fromStdString(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml")));
    d.set_right_file(QString::fromStdString(ctx.data("scenarios/llama3.1-8b-serve-h100.yaml")));
    QVERIFY2(d.error().isEmpty(), qPrintable(d.error()));
    QVERIFY(d.table().rows.size() >= 7);
    d.set_right_file(dir.filePath("absent.yaml"));
    QVERIFY(d.error().contains("absent.yaml"));
  }

  void FathomGuiFlagsFailWithOneLine() {
    QString err;
    QCOMPARE(run({"--size", "12x"}, &err), 2);
    QVERIFY(err.contains("--size: expected WIDTHxHEIGHT"));
    QCOMPARE(run({"--screenshots", "/nonexistent/folder"}, &err), 2);
    QVERIFY(err.contains("--screenshots: expected an existing folder"));
    QCOMPARE(run({"--page", "nowhere", "--screenshots"}, &err), 2);
    QCOMPARE(run({"--bogus"}, &err), 2);
    QVERIFY(err.contains("found '--bogus'"));
    QCOMPARE(run({"--help"}), 0);
  }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
