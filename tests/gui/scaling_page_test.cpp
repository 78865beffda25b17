// The Scaling laws page, offscreen (docs/gui-scaling.md): the built-in example fitted on the page
// gives the parameters, intervals, goodness of fit and compute-optimal allocations that the real
// `fathom fit ... --format json` and `fathom optimal` give for the page's own command line; the
// parameter table's CSV export is `fathom fit --format csv`'s; a bad formula or a missing column
// shows its error next to its field; Cancel during a long bootstrap stops it within a second; a
// public dataset (when ../shared/datasets is present) fits as the CLI fits it; `fathom-plot fit`
// writes a PNG of the requested size and an SVG that parses, and rejects bad input with exit 2.
#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>
#include <memory>
#include <nlohmann/json.hpp>

#include "gui/app/app_context.h"
#include "gui_test_util.h"
#include "gui/app/cpu_state.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/page.h"
#include "gui/pages/scaling_form.h"
#include "gui/table/table_model.h"

using namespace fathom;
using namespace fathom::gui;
using nlohmann::json;

namespace {

using test::Run;
using test::run;

// A page's command line run by bash with `fathom` replaced by the real binary and `extra` added to
// the `fathom fit` part: (fit output, optimal output or empty).
std::pair<Run, Run> run_command_line(const QString& line, const QString& extra, const QString& cwd) {
  const QString bin = FATHOM_BIN;
  QStringList parts = line.split(" && ");
  Run fit = run("bash", {"-c", bin + parts[0].mid(QString("fathom").size()) + " " + extra}, cwd);
  Run opt;
  if (parts.size() > 1) opt = run("bash", {"-c", bin + parts[1].mid(QString("fathom").size()) + " --format json"}, cwd);
  return {fit, opt};
}

double number(const Table& t, int row, int col) { return t.rows[static_cast<size_t>(row)][static_cast<size_t>(col)].as_number(); }
std::string text(const Table& t, int row, int col) {
  return std::get<std::string>(t.rows[static_cast<size_t>(row)][static_cast<size_t>(col)].value);
}

}  // namespace

class ScalingPageTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<AppContext> ctx_;
  Page* page_ = nullptr;
  ScalingForm* form_ = nullptr;

  template <class T>
  T* field(const char* name) {
    T* w = page_->findChild<T*>(name);
    if (!w) qFatal("no field %s", name);
    return w;
  }
  void set_text(const char* name, const QString& value) {
    auto* e = field<QLineEdit>(name);
    e->setText(value);
    emit e->editingFinished();
  }
  QString status() { return field<QLabel>("status")->text(); }
  void fit_and_wait(int timeout_ms) {
    QVERIFY(!page_->busy());
    field<QPushButton>("fit")->click();
    QVERIFY2(page_->busy(), qPrintable(status()));
#ifdef FATHOM_SANITIZED
    timeout_ms *= 10;  // AddressSanitizer slows the bootstrap about fivefold; the numbers are the same
#endif
    QTRY_VERIFY_WITH_TIMEOUT(!page_->busy(), timeout_ms);
    QVERIFY2(!status().startsWith("Fit failed"), qPrintable(status()));
    qInfo("%s", qPrintable(status()));
  }
  // The page's parameter table against `fathom fit --format json` of its command line.
  void compare_with_cli(bool intervals) {
    const Table params = page_->tables()[0]->table();
    QVERIFY(!params.rows.empty());
    const auto [fit, opt] = run_command_line(page_->command_line(), "--format json --progress none", dir_.path());
    QVERIFY2(fit.code == 0, fit.err.constData());
    const json j = json::parse(fit.out.toStdString());
    for (int r = 0; r < static_cast<int>(params.rows.size()); ++r) {
      const std::string name = text(params, r, 0), kind = text(params, r, 1);
      const json& p = kind == "derived" ? j["derived"][name] : j["parameters"][name];
      QVERIFY2(p.is_object(), name.c_str());
      // The same library calls on the same data: the same doubles, bit for bit.
      QCOMPARE(number(params, r, 2), p["value"].get<double>());
      if (kind == "parameter") QCOMPARE(number(params, r, 3), p["std_error"].get<double>());
      if (intervals && kind != "fixed") {
        QCOMPARE(number(params, r, 4), p["interval"][0].get<double>());
        QCOMPARE(number(params, r, 5), p["interval"][1].get<double>());
      } else {
        QVERIFY(!p.contains("interval") || kind == "fixed");
      }
    }
    const Table metrics = page_->tables()[1]->table();
    for (int r = 0; r < static_cast<int>(metrics.rows.size()); ++r) {
      const std::string name = text(metrics, r, 0);
      if (name == "objective") QCOMPARE(number(metrics, r, 1), j["objective"].get<double>());
      if (name == "RMSE") QCOMPARE(number(metrics, r, 1), j["metrics"]["rmse"].get<double>());
      if (name == "R^2") QCOMPARE(number(metrics, r, 1), j["metrics"]["r2"].get<double>());
      if (name == "AIC") QCOMPARE(number(metrics, r, 1), j["metrics"]["aic"].get<double>());
      if (name == "best start") QCOMPARE(number(metrics, r, 1), j["best_start"].get<double>());
    }
    const Table optima = page_->tables()[2]->table();
    if (optima.rows.empty()) return;
    QVERIFY2(opt.code == 0, opt.err.constData());
    const json o = json::parse(opt.out.toStdString());
    QCOMPARE(o["allocations"].size(), optima.rows.size());
    for (int r = 0; r < static_cast<int>(optima.rows.size()); ++r) {
      const json& a = o["allocations"][static_cast<size_t>(r)];
      QCOMPARE(number(optima, r, 0), a["compute"].get<double>());
      QCOMPARE(number(optima, r, 1), a["N"].get<double>());
      QCOMPARE(number(optima, r, 2), a["D"].get<double>());
      QCOMPARE(number(optima, r, 4), a[optima.columns[4].name].get<double>());
    }
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    ctx_ = std::make_unique<AppContext>(std::string{}, std::make_unique<QSettings>(dir_.filePath("s.ini"), QSettings::IniFormat));
    QElapsedTimer t;
    t.start();
    page_ = make_scaling_page(*ctx_, nullptr);
    page_->resize(1400, 900);
    page_->show();
    form_ = page_->findChild<ScalingForm*>();
    QVERIFY(form_);
    qInfo("the page's constructor took %lld ms", static_cast<long long>(t.elapsed()));
    QVERIFY2(t.elapsed() < 2000, "the constructor prepares the example without fitting");
    QVERIFY(!page_->busy());
  }

  void WorkerThreadsStartWithoutTheGuiThreadsAvxState() {
    // Qt leaves the AVX upper state in use on the GUI thread, which made every fit about 7 times
    // slower on threads that copied it (gui/app/cpu_state.h); a Task's worker clears it.
    if (!__builtin_cpu_supports("avx")) QSKIP("no AVX: nothing to clear");
    asm volatile("vcmpps $15, %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");  // all ones: the upper halves in use
    if (!avx_upper_state_in_use()) QSKIP("the CPU does not report XINUSE (XGETBV with ECX = 1)");
    Task task;
    std::atomic<int> in_use{-1};
    task.start([&](const std::atomic<bool>&, const Task::Progress&) -> std::function<void()> {
      in_use = avx_upper_state_in_use() ? 1 : 0;
      return [] {};
    });
    QTRY_VERIFY(!task.running());
    QCOMPARE(in_use.load(), 0);
  }

  void ConstructorShowsTheBuiltInDataWithoutFitting() {
    QVERIFY(page_->command_line().startsWith("fathom fit "));
    QVERIFY(page_->command_line().contains("scaling_small.csv --law chinchilla --bootstrap 200"));
    QCOMPARE(page_->charts().size(), size_t{3});
    QCOMPARE(page_->tables().size(), size_t{3});
    const Chart& c = page_->charts()[0]->chart();
    size_t points = 0;
    for (const auto& s : c.series) points += s.kind == SeriesKind::kScatter ? s.x.size() : 0;
    QCOMPARE(points, size_t{35});  // the file's 35 runs, before any fit
    QVERIFY(page_->tables()[0]->table().rows.empty());
  }

  void FitShowsTheParametersAndIntervalsOfTheCli() {
    field<QSpinBox>("bootstrap")->setValue(150);
    field<QSpinBox>("seed")->setValue(3);
    QVERIFY(page_->command_line().contains("--bootstrap 150 --seed 3"));
    fit_and_wait(60000);
    QVERIFY(page_->command_line().contains(" && fathom optimal fit.yaml --compute "));
    compare_with_cli(true);
    // The chart draws a curve and a band per N group, and the frontier an iso-FLOP curve per budget.
    int bands = 0, lines = 0;
    for (const auto& s : page_->charts()[0]->chart().series) {
      bands += s.kind == SeriesKind::kBand;
      lines += s.kind == SeriesKind::kLine;
    }
    QCOMPARE(lines, 5);
    QCOMPARE(bands, 5);
    QVERIFY(page_->charts()[2]->chart().series.size() >= 3);
    // A new grouping redraws on the GUI thread (the library's curves and frontier, no refit).
    QElapsedTimer t;
    t.start();
    field<QComboBox>("series")->setCurrentText("");
    const qint64 ms = t.elapsed();
    qInfo("regrouping and redrawing took %lld ms on the GUI thread", static_cast<long long>(ms));
    QCOMPARE(page_->charts()[0]->chart().series.size(), size_t{3});  // one group: band, curve, points
    field<QComboBox>("series")->setCurrentText("N");
    QVERIFY(!page_->tables()[0]->table().rows.empty());  // the fit stays on screen
  }

  void ParameterTableCsvExportIsTheCliCsvAndReadsBack() {
    TableView* params = page_->tables()[0];
    const QString path = dir_.filePath("params.csv");
    params->export_csv(path);
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray exported = f.readAll();
    const auto [fit, opt] = run_command_line(page_->command_line(), "--format csv --progress none", dir_.path());
    QVERIFY2(fit.code == 0, fit.err.constData());
    QCOMPARE(exported, fit.out);
    const QList<QByteArray> lines = exported.trimmed().split('\n');
    QCOMPARE(lines.front(), QByteArray("name,kind,value,std_error,low,high"));
    const Table& t = params->table();
    QCOMPARE(static_cast<size_t>(lines.size() - 1), t.rows.size());
    for (int r = 1; r < lines.size(); ++r) {
      const QList<QByteArray> cells = lines[r].split(',');
      QCOMPARE(cells[0].toStdString(), text(t, r - 1, 0));
      QCOMPARE(cells[2].toDouble(), number(t, r - 1, 2));  // 17 digits read back to the same double
      QCOMPARE(cells[4].toDouble(), number(t, r - 1, 4));
      QCOMPARE(cells[5].toDouble(), number(t, r - 1, 5));
    }
    // The frontier table exports `fathom optimal --format csv`.
    const QString opt_line = page_->command_line().split(" && ")[1];
    const Run csv = run("bash", {"-c", QString(FATHOM_BIN) + opt_line.mid(6) + " --format csv"}, dir_.path());
    QVERIFY2(csv.code == 0, csv.err.constData());
    QCOMPARE(QByteArray::fromStdString(page_->tables()[2]->csv()), csv.out);
  }

  void PlotFitWritesPngAndSvgAndRejectsBadInput() {
    const QString data = QString(FATHOM_TEST_DATA_DIR) + "/fit/scaling_small.csv";
    const QString result = dir_.filePath("fit.yaml");  // written by the command line above
    QVERIFY(QFile::exists(result));
    const QString plot = FATHOM_PLOT_BIN;
    Run r = run(plot, {"fit", result, "--data", data, "--chart", "fit", "--out", dir_.filePath("fit.png"), "--size", "640x400"});
    QVERIFY2(r.code == 0, r.err.constData());
    QImage image(dir_.filePath("fit.png"));
    QCOMPARE(image.size(), QSize(640, 400));
    r = run(plot, {"fit", result, "--data", data, "--chart", "residuals", "--series", "N", "--out", dir_.filePath("res.svg")});
    QVERIFY2(r.code == 0, r.err.constData());
    QFile svg(dir_.filePath("res.svg"));
    QVERIFY(svg.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(svg.readAll());
    bool root = false;
    while (!xml.atEnd()) {
      xml.readNext();
      if (xml.isStartElement() && xml.name() == QLatin1String("svg")) root = true;
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(root);
    r = run(plot, {"fit", result, "--data", data, "--chart", "frontier", "--compute", "1e20,1e21", "--out", dir_.filePath("front.png")});
    QVERIFY2(r.code == 0, r.err.constData());
    // Bad input: one line on stderr, exit 2, no file.
    const QString out = dir_.filePath("bad.png");
    const std::vector<QStringList> bad = {
        {"fit", result, "--chart", "fit", "--out", out},                                  // no --data
        {"fit", result, "--data", data, "--chart", "pie", "--out", out},                  // unknown chart
        {"fit", data, "--data", data, "--out", out},                                      // not a result file
        {"fit", result, "--data", data, "--x", "Nn", "--out", out},                        // unknown column
        {"fit", result, "--data", dir_.filePath("none.csv"), "--out", out},               // missing data file
        {"fit", result, "--data", data, "--chart", "frontier", "--compute", "-1", "--out", out},
    };
    for (const auto& args : bad) {
      r = run(plot, args);
      QVERIFY2(r.code == 2, qPrintable(args.join(' ')));
      QCOMPARE(r.err.count('\n'), 1);
      QVERIFY2(r.err.startsWith("fathom-plot: "), r.err.constData());
      QVERIFY2(!QFile::exists(out), qPrintable(args.join(' ')));
    }
    r = run(plot, {"fit", result, "--data", data, "--x", "Nn", "--out", out});
    QVERIFY2(r.err.contains("did you mean 'N'"), r.err.constData());
  }

  void BadFormulaAndMissingColumnShowNextToTheirFields() {
    field<QComboBox>("law")->setCurrentText("(formula)");
    set_text("formula", "L = E + A/N^alpha + B/D^(beta");
    QVERIFY2(form_->error_text("formula").contains("expected ')' to close '('"), qPrintable(form_->error_text("formula")));
    QVERIFY(form_->error_text("data").isEmpty());
    field<QPushButton>("fit")->click();
    QVERIFY(!page_->busy());
    QVERIFY(page_->tables()[0]->table().rows.empty());
    field<QComboBox>("law")->setCurrentText("latency_load");
    QVERIFY2(form_->error_text("formula").isEmpty(), "a law leaves the formula unused");
    QVERIFY2(form_->error_text("column").contains("expected a column 'lambda' for the variable of the latency_load law"),
             qPrintable(form_->error_text("column")));
    field<QComboBox>("law")->setCurrentText("chinchilla");
    set_text("grid", "alpah=0.2,0.5");
    QVERIFY2(form_->error_text("grid").contains("did you mean 'alpha'"), qPrintable(form_->error_text("grid")));
    set_text("grid", "");
    QVERIFY(form_->error_text("grid").isEmpty());
  }

  void CancelDuringALongBootstrapStopsWithinASecond() {
    form_->load_example(1);  // latency against load: the multi-start takes milliseconds
    field<QSpinBox>("bootstrap")->setValue(1000000);  // minutes of refits
    auto* task = page_->findChild<Task*>();
    QVERIFY(task);
    QSignalSpy progress(task, &Task::progress), cancelled(task, &Task::cancelled);
    field<QPushButton>("fit")->click();
    QVERIFY(page_->busy());
    auto in_bootstrap = [&] {
      for (const auto& call : progress)
        if (call[1].toString().startsWith("bootstrap:") && call[0].toDouble() > 0.5) return true;
      return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(in_bootstrap(), 30000);
    QElapsedTimer t;
    t.start();
    field<QPushButton>("cancel")->click();
    QTRY_VERIFY_WITH_TIMEOUT(!page_->busy(), 5000);
    const qint64 ms = t.elapsed();
    qInfo("cancel stopped the bootstrap in %lld ms", static_cast<long long>(ms));
    QVERIFY2(ms < 1000, qPrintable(QString::number(ms)));
    QCOMPARE(cancelled.size(), 1);
    QVERIFY2(status().startsWith("Cancelled: bootstrap: cancelled after "), qPrintable(status()));
    QVERIFY(page_->tables()[0]->table().rows.empty());
  }

  void PublicDatasetFitsAsTheCliFitsIt() {
    size_t index = form_->examples().size();
    for (size_t i = 0; i < form_->examples().size(); ++i)
      if (form_->examples()[i].name.find("Muennighoff") != std::string::npos) index = i;
    if (index == form_->examples().size()) QSKIP("../shared/datasets/muennighoff2023_datablations is not present");
    form_->load_example(index);
    field<QSpinBox>("bootstrap")->setValue(40);
    fit_and_wait(60000);
    compare_with_cli(true);
    // data_constrained needs U for the allocation: the frontier says so next to its field.
    QVERIFY2(form_->error_text("at").contains("--at U=VALUE"), qPrintable(form_->error_text("at")));
    set_text("at", "U=1e11");
    QVERIFY(form_->error_text("at").isEmpty());
    QVERIFY(!page_->tables()[2]->table().rows.empty());
  }

  void cleanupTestCase() { delete page_; }
};

QTEST_MAIN(ScalingPageTest)
#include "scaling_page_test.moc"
