// The GUI's shared parts, offscreen: charts rendered to PNG and SVG, a library call on a Task
// cancelled within a second, a scenario's command line reproducing the library's numbers through
// the real `fathom`, library errors placed next to their field, and table CSV.
#include <QApplication>
#include <QBuffer>
#include <QElapsedTimer>
#include <QImage>
#include <QProcess>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>
#include <atomic>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/version.h"
#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "gui/app/scenario_doc.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/compare_dialog.h"
#include "gui/table/table.h"
#include "sim/estimate.h"
#include "sim/serve/simulator.h"

using namespace fathom;
using namespace fathom::gui;

namespace {

Chart sample_chart() {
  Chart c;
  c.title = "TTFT CDF";
  c.x = {"TTFT (s)", true, {}, {}, {}};
  c.y = {"fraction of requests", false, 0.0, 1.0, {}};
  Series s{"vllm", SeriesKind::kLine, {0.01, 0.02, 0.05, 0.1, 0.5}, {0.1, 0.4, 0.8, 0.95, 1.0}, {}, {}, {}};
  Series band{"95% band", SeriesKind::kBand, {0.01, 0.02, 0.05}, {}, {0.05, 0.3, 0.7}, {0.15, 0.5, 0.9}, {}};
  c.series = {s, band};
  c.lines = {{"SLO 0.5 s", false, 0.5}};
  return c;
}

QString run_shell(const QString& line) {
  QProcess p;
  p.start("bash", {"-c", line});
  p.waitForFinished(120000);
  if (p.exitCode() != 0) qWarning() << p.readAllStandardError();
  return QString::fromUtf8(p.readAllStandardOutput());
}

}  // namespace

class FoundationTest : public QObject {
  Q_OBJECT
 private slots:
  void PngHasTheRequestedSizeAndDrawsSomething() {
    const QByteArray png = render_png(sample_chart(), QSize(640, 400));
    QImage image;
    QVERIFY(image.loadFromData(png, "PNG"));
    QCOMPARE(image.size(), QSize(640, 400));
    int dark = 0;
    for (int y = 0; y < image.height(); y += 4) {
      for (int x = 0; x < image.width(); x += 4) dark += qGray(image.pixel(x, y)) < 128;
    }
    QVERIFY2(dark > 100, "the chart drew axes, labels and a curve");
  }

  void SvgParsesAndHasTheRequestedSize() {
    const QByteArray svg = render_svg(sample_chart(), QSize(640, 400));
    QXmlStreamReader xml(svg);
    bool root = false;
    int paths = 0;
    while (!xml.atEnd()) {
      xml.readNext();
      if (xml.isStartElement() && xml.name() == QLatin1String("svg")) root = true;
      if (xml.isStartElement() && (xml.name() == QLatin1String("path") || xml.name() == QLatin1String("polyline"))) ++paths;
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(root);
    QVERIFY(paths > 5);
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    QCOMPARE(renderer.viewBox(), QRect(0, 0, 640, 400));
  }

  void ChartCsvHoldsThePlottedNumbers() {
    const std::string csv = sample_chart().csv();
    QVERIFY(csv.rfind("series,x,y,y_lo,y_hi\n", 0) == 0);
    QVERIFY(csv.find("vllm,0.05,0.8,,\n") != std::string::npos);
    QVERIFY(csv.find("95% band,0.02,,0.3,0.5\n") != std::string::npos);
  }

  void ExportRefusesAFolderAndLeavesNoFile() {
    QTemporaryDir dir;
    ChartView view;
    view.set_chart(sample_chart());
    bool threw = false;
    try {
      view.export_png(dir.path(), QSize(320, 240));
    } catch (const Error&) {
      threw = true;
    }
    QVERIFY(threw);
    view.export_svg(dir.filePath("c.svg"), QSize(320, 240));
    QVERIFY(QFileInfo(dir.filePath("c.svg")).size() > 1000);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
  }

  // A million-request simulation on the worker thread; Cancel must end it within a second.
  void CancelStopsASimulationWithinASecond() {
    AppContext ctx;
    ScenarioDoc doc;
    doc.load_file(ctx.data("../bench/serve_1m.yaml"));
    const sim::Scenario s = doc.resolve(ctx.hardware(), ctx.models()).scenario;
    Task task;
    QSignalSpy progress(&task, &Task::progress);
    QSignalSpy cancelled(&task, &Task::cancelled);
    QSignalSpy finished(&task, &Task::finished);
    task.start([s](const std::atomic<bool>& cancel, const Task::Progress& report) {
      serve::ServeOptions o;
      o.cancel = &cancel;
      o.on_progress = [&](int64_t done, int64_t total) { report(double(done) / double(total), "simulating"); };
      serve::simulate(s, o);
      return std::function<void()>{};
    });
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 2, 20000);
    QElapsedTimer clock;
    clock.start();
    task.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(cancelled.count() == 1, 5000);
    const qint64 ms = clock.elapsed();
    qInfo("cancel to stop: %lld ms", static_cast<long long>(ms));
    QVERIFY2(ms < 1000, qPrintable(QString("took %1 ms").arg(ms)));
    QCOMPARE(finished.count(), 0);
    QVERIFY(!task.running());
  }

  // Copy as command: the line, run by the real binary, gives the library's numbers on screen.
  void CommandLineReproducesTheScreen() {
    AppContext ctx;
    ScenarioDoc doc;
    doc.load_file(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml"));
    doc.set("serve.parallel.tp", "4");
    doc.set("serve.iteration.context", "8192");
    doc.set("serve.parallel.tp", "2");  // the later edit of a path replaces the earlier
    QCOMPARE(doc.edits().size(), size_t{2});
    const auto r = sim::estimate(doc.resolve(ctx.hardware(), ctx.models()).scenario, sim::EstimateKind::kServeIteration);
    QString line = QString::fromStdString(doc.command_line("estimate", {"--format", "json"}));
    QVERIFY(line.startsWith("fathom estimate "));
    QVERIFY(line.contains("--set serve.parallel.tp=2"));
    line.replace(0, 6, FATHOM_BIN);
    const auto json = nlohmann::json::parse(run_shell(line).toStdString());
    QCOMPARE(json["summary"]["time_s"].get<double>(), r.total_s);
    QCOMPARE(json["summary"]["gpus"].get<double>(), 2.0);
  }

  void AnErrorAboutAnEditAppearsUnderItsField() {
    AppContext ctx;
    ScenarioDoc doc;
    doc.load_file(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml"));
    doc.set("serve.parallel.tp", "3");
    FieldForm form;
    form.add_int("serve.parallel.tp", "tp", 1, 64, "tensor parallelism");
    try {
      doc.resolve(ctx.hardware(), ctx.models());
      QFAIL("tp=3 of 64 heads resolved");
    } catch (const Error& e) {
      const FieldError fe = ScenarioDoc::locate(e.what());
      QCOMPARE(fe.field, std::string("serve.parallel.tp"));
      form.show_error(fe);
    }
    QVERIFY(form.error_text("serve.parallel.tp").contains("divides the 64 attention heads"));
    QVERIFY(form.form_error().isEmpty());
    QCOMPARE(ScenarioDoc::locate("something failed").field, std::string());
  }

  void ShellQuotingSurvivesAnyValue() {
    QCOMPARE(QString::fromStdString(shell_quote("serve.parallel.tp=2")), QString("serve.parallel.tp=2"));
    QCOMPARE(QString::fromStdString(shell_quote("a b'c")), QString("'a b'\\''c'"));
    QCOMPARE(run_shell("printf %s " + QString::fromStdString(shell_quote("{tp: 2, pp: 'x'}"))), QString("{tp: 2, pp: 'x'}"));
  }

  void CompareShowsDeltasOfTheLibraryFigures() {
    AppContext ctx;
    ScenarioDoc a, b;
    a.load_file(ctx.data("scenarios/llama3.1-70b-decode-h100.yaml"));
    b = a;
    b.set("precision.weights", "fp8");
    const auto fa = compare_figures(a.resolve(ctx.hardware(), ctx.models()).scenario);
    const auto fb = compare_figures(b.resolve(ctx.hardware(), ctx.models()).scenario);
    const Table t = compare_table(fa, fb);
    QCOMPARE(t.rows.size(), fa.size());
    QCOMPARE(t.rows[4][0].display(4), std::string("serve: weights per GPU (GB)"));
    // fp8 weights are half of bf16's bytes (1 byte against 2 per parameter).
    QVERIFY(std::abs(t.rows[4][4].as_number() + 0.5) < 0.02);
  }

  void TableCsvRoundTripsNumbersAndQuotesText() {
    Table t;
    t.columns = {{"name", ""}, {"x", ""}};
    t.rows = {{Cell::text("a,b"), Cell::number(0.1 + 0.2)}, {Cell::text("c"), Cell::text("—")}};
    QCOMPARE(QString::fromStdString(t.csv()), QString("name,x\n\"a,b\",0.30000000000000004\nc,—\n"));
  }
};

QTEST_MAIN(FoundationTest)
#include "foundation_test.moc"
