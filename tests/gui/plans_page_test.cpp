// The Plans & sweeps page offscreen (docs/gui-plans.md), against the real `fathom` and
// `fathom-plot`: a serve plan run in the page gives the CLI's report for the same plan and seed
// (JSON cells and CSV bytes) and its command line reproduces it, as train and total plans give
// theirs; Cancel stops a bigger plan within a second; a row or a Pareto point opens the row's
// scenario (the CLI's --emit-scenario) in the Serve page; a sweep database read while `fathom sweep` writes it grows to the final count and
// equals `fathom sweep export`; fathom-plot draws the page's charts and rejects bad input.
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QTest>
#include <QXmlStreamReader>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/version.h"
#include "gui/app/app_context.h"
#include "gui_test_util.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/plans_page.h"
#include "gui/pages/plans_panel.h"
#include "gui/pages/sweep_panel.h"
#include "gui/table/table_model.h"

using namespace fathom;
using namespace fathom::gui;

namespace {

const QString kTiny = QString(FATHOM_TEST_DATA_DIR) + "/plans/serve_tiny.yaml";
const QString kSmall = QString(FATHOM_TEST_DATA_DIR) + "/plans/serve_small.yaml";

using test::Run;
using test::run;

Run shell(const QString& line) { return run("bash", {"-c", line}); }

// The CLI's report for `args` (plan serve ... --format json).
nlohmann::json cli_json(const QStringList& args) {
  const Run r = run(FATHOM_BIN, args + QStringList{"--format", "json", "--progress", "none"});
  if (r.code != 0) qWarning() << r.err;
  return nlohmann::json::parse(r.out.toStdString());
}

}  // namespace

class PlansPageTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<AppContext> ctx_;
  std::unique_ptr<PlansPage> page_;

  PlanPanel* plans() { return page_->plans(); }
  QString path(const QString& name) const { return dir_.filePath(name); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    ctx_ = std::make_unique<AppContext>(std::string{}, std::make_unique<QSettings>(path("settings.ini"), QSettings::IniFormat));
    page_.reset(static_cast<PlansPage*>(make_plans_page(*ctx_, nullptr)));
    page_->resize(1400, 900);
    page_->show();
  }

  void ServePlanEqualsTheCliForTheSamePlanAndSeed() {
    plans()->set_plan_file(kTiny);
    QCOMPARE(plans()->planner(), QString("serve"));  // picked from the file's keys
    plans()->set_seed(3);
    plans()->set_jobs(2);
    plans()->set_prices_file({});
    QSignalSpy finished(plans()->task(), &Task::finished);
    QVERIFY(plans()->run());
    QVERIFY(page_->busy());
    QTRY_VERIFY_WITH_TIMEOUT(!page_->busy(), 60000);
    QCOMPARE(finished.count(), 1);
    QVERIFY2(plans()->error_text().isEmpty(), qPrintable(plans()->error_text()));

    const QStringList args = {"plan", "serve", kTiny, "--set", "search.seed=3", "-j", "2"};
    const nlohmann::json cli = cli_json(args);
    const Table& t = plans()->table()->table();
    const auto& rows = cli["sections"][0]["rows"];
    QCOMPARE(t.rows.size(), rows.size());
    QVERIFY(t.rows.size() >= 2);
    for (size_t i = 0; i < t.rows.size(); ++i) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const std::string& name = t.columns[c].name;
        const auto& v = rows[i][name];
        const Cell& cell = t.rows[i][c];
        if (v.is_string()) QCOMPARE(QString::fromStdString(std::get<std::string>(cell.value)), QString::fromStdString(v.get<std::string>()));
        else if (v.is_null()) QVERIFY(std::isnan(cell.as_number()));
        else QCOMPARE(cell.as_number(), v.get<double>());  // bit for bit: the same plan and seed
        QVERIFY2(!cell.tip.empty() || !t.columns[c].tip.empty(), name.c_str());
      }
    }
    // The CSV export is the CLI's --format csv, byte for byte.
    const Run csv = run(FATHOM_BIN, args + QStringList{"--format", "csv", "--progress", "none"});
    QCOMPARE(QString::fromStdString(plans()->table()->csv()), QString::fromUtf8(csv.out));
    // Copy as command reproduces it.
    const QString line = page_->command_line();
    QVERIFY2(line.startsWith("fathom plan serve ") && line.contains("search.seed=3") && line.contains("-j 2"), qPrintable(line));
    const Run again = shell(QString(FATHOM_BIN) + line.mid(6) + " --format csv --progress none");
    QCOMPARE(again.code, 0);
    QCOMPARE(QString::fromUtf8(again.out), QString::fromUtf8(csv.out));
    // The Pareto chart draws the CLI's front.
    const Chart& front = plans()->chart(PlanChart::kParetoCostLatency)->chart();
    QCOMPARE(front.series.size(), size_t{2});
    const auto& pareto = cli["sections"][1];
    QCOMPARE(QString::fromStdString(pareto["name"].get<std::string>()), QString("pareto_cost_latency"));
    QCOMPARE(front.series[1].x.size(), pareto["rows"].size());
    for (size_t i = 0; i < pareto["rows"].size(); ++i) {
      QCOMPARE(front.series[1].x[i], pareto["rows"][i]["ttft_p99_s"].get<double>());
      QCOMPARE(front.series[1].y[i], pareto["rows"][i]["usd_per_hour"].get<double>());
    }
    // Saved for the fathom-plot test.
    QFile f(path("tiny.json"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray::fromStdString(cli.dump(1)));
  }

  void ActivatingARowOrAParetoPointOpensItsScenarioInServe() {
    QSignalSpy serve(ctx_.get(), &AppContext::open_in_serve);
    QSignalSpy train(ctx_.get(), &AppContext::open_in_train);
    QTableView* view = plans()->table()->view();
    const QRect rect = view->visualRect(view->model()->index(1, 1));
    QVERIFY(rect.isValid());
    // A double click as the window system delivers it: press and release, then the second press
    // as a double-click event (QTest::mouseDClick alone sends no first press in Qt 6.4).
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(serve.count(), 1);
    QCOMPARE(train.count(), 0);
    const int row = plans()->table()->source_row(1);
    const std::string& expected = plans()->report()->sections[0].rows[static_cast<size_t>(row)].scenario_text;
    QCOMPARE(serve[0][0].toString(), QString::fromStdString(expected));
    // The same text the CLI's --emit-scenario writes for that rank.
    const Run emitted = run(FATHOM_BIN, {"plan", "serve", kTiny, "--set", "search.seed=3", "--emit-scenario",
                                         QString::number(row + 1), "--progress", "none"});
    QCOMPARE(emitted.code, 0);
    QCOMPARE(serve[0][0].toString(), QString::fromUtf8(emitted.out));
    // A point of the cost-latency front: the front's row.
    emit plans()->chart(PlanChart::kParetoCostLatency)->point_clicked(1, 0);
    QCOMPARE(serve.count(), 2);
    QCOMPARE(serve[1][0].toString(), QString::fromStdString(plans()->report()->sections[1].rows[0].scenario_text));
  }

  void TrainAndTotalPlansEqualTheCli() {
    struct Case {
      QString file, planner, cost;
      QStringList cli;
    };
    const QString dir = QString::fromStdString(data_dir()) + "/plans/";
    const std::vector<Case> cases = {
        {dir + "llama3.1-70b-train.yaml", "train", {}, {"plan", "train", dir + "llama3.1-70b-train.yaml"}},
        {dir + "total-flops-sardana.yaml", "total", "flops",
         {"plan", "total", dir + "total-flops-sardana.yaml", "--cost", "flops"}},
        {dir + "total-usd-llama.yaml", "total", "usd", {"plan", "total", dir + "total-usd-llama.yaml", "--cost", "usd"}},
    };
    plans()->set_jobs(0);
    for (const auto& c : cases) {
      plans()->set_plan_file(c.file);
      QCOMPARE(plans()->planner(), c.planner);  // picked from the file's keys
      QVERIFY2(c.cost.isEmpty() || page_->command_line().contains("--cost " + c.cost), qPrintable(page_->command_line()));
      QVERIFY(plans()->run());
      QTRY_VERIFY_WITH_TIMEOUT(!page_->busy(), 60000);
      QVERIFY2(plans()->error_text().isEmpty(), qPrintable(plans()->error_text()));
      const Run csv = run(FATHOM_BIN, c.cli + QStringList{"--format", "csv", "--progress", "none"});
      QCOMPARE(csv.code, 0);
      QCOMPARE(QString::fromStdString(plans()->table()->csv()), QString::fromUtf8(csv.out));
      QVERIFY(!plans()->table()->table().rows.empty());
    }
    // The ranked chart of a total plan stacks training and inference.
    QCOMPARE(plans()->chart(PlanChart::kRanked)->chart().series.size(), size_t{2});
    // A train plan's row opens in the Train page, as the CLI emits it.
    plans()->set_plan_file(cases[0].file);
    QVERIFY(plans()->run());
    QTRY_VERIFY_WITH_TIMEOUT(!page_->busy(), 60000);
    QSignalSpy train(ctx_.get(), &AppContext::open_in_train);
    QVERIFY(plans()->open_row(0, 0));
    QCOMPARE(train.count(), 1);
    const Run emitted = run(FATHOM_BIN, cases[0].cli + QStringList{"--emit-scenario", "1", "--progress", "none"});
    QCOMPARE(train[0][0].toString(), QString::fromUtf8(emitted.out));
  }

  void CancelStopsABiggerPlanWithinASecond() {
    plans()->set_plan_file(kSmall);  // 72 candidates: about 8 s of simulation
    plans()->set_seed(0);
    plans()->set_jobs(2);
    QSignalSpy progress(plans()->task(), &Task::progress);
    QSignalSpy cancelled(plans()->task(), &Task::cancelled);
    QSignalSpy finished(plans()->task(), &Task::finished);
    // The UI thread's longest pause while the plan runs: a 10 ms timer's largest gap.
    QElapsedTimer tick;
    qint64 longest = 0;
    QTimer probe;
    probe.setInterval(10);
    connect(&probe, &QTimer::timeout, this, [&] {
      if (tick.isValid()) longest = std::max(longest, tick.restart());
      else tick.start();
    });
    probe.start();
    QVERIFY(plans()->run());
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 20000);
    QTest::qWait(1000);
    probe.stop();
    qInfo("longest UI-thread gap while planning: %lld ms", static_cast<long long>(longest));
    QVERIFY(plans()->busy());
    QElapsedTimer clock;
    clock.start();
    plans()->cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!plans()->busy(), 5000);
    const qint64 ms = clock.elapsed();
    qInfo("cancel stopped the plan after %lld ms", static_cast<long long>(ms));
    QVERIFY2(ms < 1000, qPrintable(QString("%1 ms").arg(ms)));
    QCOMPARE(cancelled.count(), 1);
    QCOMPARE(finished.count(), 0);
    QVERIFY(plans()->status_text().startsWith("cancelled"));
  }

  void SweepReadWhileAnotherProcessWritesGrowsToTheExport() {
    // 32 points of this many requests: about 20 s of writing in Release, long enough for the page
    // to read partial counts; under the sanitizers (about 8× slower) a tenth of the requests.
#ifdef FATHOM_SANITIZED
    constexpr int kLiveSweepRequests = 2000;
#else
    constexpr int kLiveSweepRequests = 20000;
#endif
    const QString spec = path("live.yaml");
    const QString db = path("live.sqlite");
    {
      QFile f(spec);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(QString("name: live-test\ncommand: serve\nscenario: %1/scenarios/llama3.1-8b-serve-h100.yaml\n"
                      "set:\n  serve.workload.requests: %2\n  serve.scheduler: {name: sarathi, token_budget: 512}\n"
                      "axes:\n  - path: serve.scheduler.token_budget\n    values: [256, 512, 1024, 2048]\n"
                      "  - rate: {from: 2, to: 30, steps: 8, scale: log}\n")
                  .arg(QString::fromStdString(data_dir()))
                  .arg(kLiveSweepRequests)
                  .toUtf8());
    }
    SweepPanel* sweeps = page_->sweeps();
    page_->show_sweeps(true);
    std::vector<int> seen;
    connect(sweeps, &SweepPanel::refreshed, this, [&seen](int n) { seen.push_back(n); });
    QStringList failures;
    connect(sweeps->findChild<Task*>(), &Task::failed, this, [&failures](const QString& m) { failures << m; });
    QProcess writer;
    writer.start(FATHOM_BIN, {"sweep", spec, "--db", db, "-j", "1", "--progress", "none"});
    QVERIFY(writer.waitForStarted());
    sweeps->open_database(db);
    sweeps->set_follow(true, 150);
    // The event loop runs while the writer works (the page reads on its timer meanwhile).
    QTRY_VERIFY_WITH_TIMEOUT(writer.state() == QProcess::NotRunning, 600000);
    QCOMPARE(writer.exitCode(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!seen.empty() && seen.back() == 32, 10000);
    QVERIFY(!sweeps->following());  // complete: following stopped by itself
    QTRY_VERIFY_WITH_TIMEOUT(!sweeps->busy(), 5000);
    QString counts;
    for (int n : seen) counts += QString::number(n) + " ";
    qInfo("points shown at each read: %s", qPrintable(counts));
    for (const auto& f : failures) qInfo("read failed: %s", qPrintable(f));
    qInfo("left beside the database: -wal %d, -shm %d", int(QFile::exists(db + "-wal")), int(QFile::exists(db + "-shm")));
    QVERIFY2(std::is_sorted(seen.begin(), seen.end()), qPrintable(counts));
    QVERIFY2(std::any_of(seen.begin(), seen.end(), [](int n) { return n > 0 && n < 32; }),
             qPrintable("no read saw a partial sweep: " + counts));
    // The table is the export, byte for byte.
    const Run exported = run(FATHOM_BIN, {"sweep", "export", db});
    QCOMPARE(exported.code, 0);
    QCOMPARE(QString::fromStdString(sweeps->table()->csv()), QString::fromUtf8(exported.out));
    QCOMPARE(sweeps->table()->table().rows.size(), size_t{32});
    // The default chart: TTFT p99 against the rate, a series per token budget, every point.
    sweeps->set_x("serve.workload.arrival.rate_per_s");
    sweeps->set_y("ttft_p99_s");
    sweeps->set_series("serve.scheduler.token_budget");
    const Chart& c = sweeps->chart()->chart();
    QCOMPARE(c.series.size(), size_t{4});
    size_t points = 0;
    for (const auto& s : c.series) points += s.x.size();
    QCOMPARE(points, size_t{32});
    // A filter keeps one budget's curve; the command line draws the same with fathom-plot.
    sweeps->set_series({});
    sweeps->set_filter("serve.scheduler.token_budget", "512");
    QCOMPARE(sweeps->chart()->chart().series.size(), size_t{1});
    QCOMPARE(sweeps->chart()->chart().series[0].x.size(), size_t{8});
    const QString line = page_->command_line();
    QVERIFY2(line.startsWith("fathom-plot sweep ") && line.contains("--where serve.scheduler.token_budget=512"), qPrintable(line));
    const QString out = path("from-command.png");
    QCOMPARE(shell(QString(FATHOM_PLOT_BIN) + line.mid(11).replace("--out sweep.png", "--out " + out)).code, 0);
    QImage from_cli;
    QVERIFY(from_cli.load(out));
    QCOMPARE(from_cli, render_image(sweeps->chart()->chart(), QSize(900, 560)).convertToFormat(from_cli.format()));
    page_->show_sweeps(false);
  }

  void FathomPlotDrawsThePagesChartsAndRejectsBadInput() {
    // A plan chart from the CLI's JSON: the page's chart, pixel for pixel, at the requested size.
    const QString png = path("front.png");
    Run r = run(FATHOM_PLOT_BIN, {"plan", path("tiny.json"), "--chart", "pareto-cost-latency", "--out", png, "--size", "640x400"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.err.isEmpty());
    QImage image;
    QVERIFY(image.load(png));
    QCOMPARE(image.size(), QSize(640, 400));
    plans()->open_results(path("tiny.json"));
    QCOMPARE(image, render_image(plans()->chart(PlanChart::kParetoCostLatency)->chart(), QSize(640, 400)).convertToFormat(image.format()));
    // A plan stored with --db, as SVG.
    const QString plans_db = path("plans.sqlite");
    QCOMPARE(run(FATHOM_BIN, {"plan", "serve", kTiny, "--db", plans_db, "--progress", "none", "-o", path("plan.txt")}).code, 0);
    const QString svg = path("ranked.svg");
    r = run(FATHOM_PLOT_BIN, {"plan", plans_db, "--plan", "serve-tiny", "--chart", "ranked", "--out", svg});
    QCOMPARE(r.code, 0);
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    bool root = false;
    while (!xml.atEnd()) {
      xml.readNext();
      if (xml.isStartElement() && xml.name() == QLatin1String("svg")) root = true;
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(root);
    // A sweep chart, PNG at its size.
    const QString sweep_png = path("sweep.png");
    r = run(FATHOM_PLOT_BIN, {"sweep", path("live.sqlite"), "--x", "serve.workload.arrival.rate_per_s", "--y", "ttft_p99_s",
                              "--series", "serve.scheduler.token_budget", "--logy", "1", "--out", sweep_png, "--size", "800x500"});
    QCOMPARE(r.code, 0);
    QVERIFY(image.load(sweep_png));
    QCOMPARE(image.size(), QSize(800, 500));

    // Bad input: one line on stderr, exit 2, no file.
    QFile bad_json(path("bad.json"));
    QVERIFY(bad_json.open(QIODevice::WriteOnly));
    bad_json.write("{\"kind\": \"serve\"}");
    bad_json.close();
    const QString out = path("never.png");
    const QString live = path("live.sqlite");
    const std::vector<QStringList> bad = {
        {"plan", path("tiny.json"), "--chart", "bubbles", "--out", out},
        {"plan", path("tiny.json"), "--chart", "hourly", "--out", out},  // no traffic.hourly in the plan
        {"plan", path("missing.json"), "--chart", "ranked", "--out", out},
        {"plan", path("bad.json"), "--chart", "ranked", "--out", out},
        {"plan", path("tiny.json"), "--plan", "3", "--chart", "ranked", "--out", out},  // --plan needs a database
        {"plan", plans_db, "--plan", "nope", "--chart", "ranked", "--out", out},
        {"plan", path("tiny.json"), "--chart", "ranked", "--out", path("never.txt")},
        {"sweep", live, "--x", "serve.parallel.tp", "--y", "ttft_p99_s", "--out", out},
        {"sweep", live, "--x", "serve.workload.arrival.rate_per_s", "--y", "ttft", "--out", out},
        {"sweep", live, "--x", "serve.workload.arrival.rate_per_s", "--y", "ttft_p99_s", "--where", "budget", "--out", out},
        {"sweep", live, "--x", "serve.workload.arrival.rate_per_s", "--y", "ttft_p99_s", "--where",
         "serve.scheduler.token_budget=3", "--out", out},
        {"sweep", live, "--x", "serve.workload.arrival.rate_per_s", "--y", "ttft_p99_s", "--logy", "yes", "--out", out},
        {"sweep", path("tiny.json"), "--x", "a", "--y", "b", "--out", out},
    };
    for (const auto& args : bad) {
      r = run(FATHOM_PLOT_BIN, args);
      const QString what = args.join(' ');
      QVERIFY2(r.code == 2, qPrintable(what));
      QVERIFY2(r.err.startsWith("fathom-plot: ") && r.err.count('\n') == 1, qPrintable(what + ": " + r.err));
      QVERIFY2(!QFile::exists(out) && !QFile::exists(path("never.txt")), qPrintable(what));
    }
  }

  void cleanupTestCase() { page_.reset(); }
};

QTEST_MAIN(PlansPageTest)
#include "plans_page_test.moc"
