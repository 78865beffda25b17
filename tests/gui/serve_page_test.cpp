// The Serve page, offscreen, against the real `fathom` and `fathom-plot` binaries: the analytic
// panel of the built-in example shows what `fathom estimate` prices for the same iteration; an
// edit recomputes it live with the library's new numbers; Simulate gives the percentiles, window
// intervals and memory `fathom serve --format json` gives for the same scenario and seed (and
// the percentile table's CSV export holds them exactly); Cancel stops a 1M-request run within a
// second; an error lands under its field; a plan row opens here; fathom-plot serve draws PNG and
// SVG from the CLI's files and refuses bad input with exit 2 and no file.
#include <QApplication>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/serve_page.h"
#include "gui/table/table_model.h"
#include "sim/serve/analytic.h"

using namespace fathom;
using namespace fathom::gui;
using nlohmann::json;

namespace {

struct Run {
  int code = -1;
  QString out, err;
};

Run run(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  p.waitForFinished(120000);
  return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

// A page command line (`fathom ...`) run by the real binary; its JSON.
json run_line(QString line) {
  line.replace(0, 6, FATHOM_BIN);
  const Run r = run("bash", {"-c", line});
  if (r.code != 0) qWarning() << line << r.err;
  return json::parse(r.out.toStdString());
}

// The value of the analytic panel's row `name`.
double panel(ServePage& page, const std::string& name) {
  const Table& t = page.tables()[0]->table();
  for (const auto& row : t.rows) {
    if (row[0].display(4) == name) return row[1].as_number();
  }
  qWarning("no analytic row '%s'", name.c_str());
  return std::nan("");
}

// Relative closeness for figures the panel shows in other units (ms, %, GiB): the conversion's
// rounding, a few ulps.
bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)); }

void set_requests(ServePage& page, int n) {
  auto* box = qobject_cast<QSpinBox*>(page.form()->editor("serve.workload.requests"));
  QVERIFY(box);
  box->setValue(n);
}

}  // namespace

class ServePageTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { ctx_ = std::make_unique<AppContext>(); }

  void AnalyticPanelShowsWhatFathomEstimatePrices() {
    ServePage page(*ctx_, nullptr);
    QVERIFY(page.analysis());
    QVERIFY(!page.busy());
    QVERIFY(page.command_line().startsWith("fathom serve "));
    QVERIFY(page.command_line().endsWith("llama3.1-8b-serve-h100.yaml"));
    const QString line = page.estimate_command();
    QVERIFY(line.contains("--set 'serve.iteration={phase: decode, sequences: "));
    const json e = run_line(line)["summary"];
    const double t = e["time_s"].get<double>();
    QVERIFY(close(panel(page, "iteration time"), t * 1e3));
    QVERIFY(close(panel(page, "iteration tokens/s (replica)"), e["tokens_per_s"].get<double>()));
    QVERIFY(close(panel(page, "MFU of the iteration"), 100 * e["mfu"].get<double>()));
    QVERIFY(close(panel(page, "memory-bound time"), 100 * e["memory_bound_s"].get<double>() / t));
    QVERIFY(close(panel(page, "compute-bound time"), 100 * e["compute_bound_s"].get<double>() / t));
    QVERIFY(close(panel(page, "communication time"), 100 * e["communication_s"].get<double>() / t));
    QCOMPARE(page.analysis()->iteration.total_s, t);
    qInfo("recompute at construction: %.2f ms", page.last_recompute_ms());
  }

  void AnEditRecomputesTheAnalysisLive() {
    ServePage page(*ctx_, nullptr);
    const serve::ServeAnalysis before = *page.analysis();
    QSignalSpy spy(&page, &ServePage::recomputed);
    auto* weights = qobject_cast<QComboBox*>(page.form()->editor("precision.weights"));
    QVERIFY(weights);
    weights->setCurrentText("fp8");
    QCOMPARE(spy.count(), 1);
    const double ms = spy.at(0).at(0).toDouble();
    qInfo("live recompute after the edit: %.2f ms", ms);
    QVERIFY(ms > 0);  // timed; its bound (< 50 ms) is measured by bench/gui_bench.cpp, not asserted here
    QCOMPARE(page.scenario()->edit("precision.weights").value_or(""), std::string("fp8"));
    // The library's own figures for the edited scenario.
    ScenarioDoc doc = *page.scenario();
    const auto expected = serve::analyze_serving(doc.resolve(ctx_->hardware(), ctx_->models()).scenario);
    const serve::ServeAnalysis after = *page.analysis();
    QCOMPARE(after.kv_tokens, expected.kv_tokens);
    QCOMPARE(after.iteration.total_s, expected.iteration.total_s);
    QVERIFY(after.memory.weights < before.memory.weights);
    QVERIFY(after.kv_tokens > before.kv_tokens);
    QVERIFY(close(panel(page, "KV cache capacity"), static_cast<double>(expected.kv_tokens)));
    QVERIFY(page.command_line().contains("--set precision.weights=fp8"));
    // A layout edit: two GPUs, tp 2 halves the weights per GPU.
    auto* gpn = qobject_cast<QSpinBox*>(page.form()->editor("hardware.gpus_per_node"));
    auto* tp = qobject_cast<QSpinBox*>(page.form()->editor("serve.parallel.tp"));
    gpn->setValue(2);
    tp->setValue(2);
    QCOMPARE(spy.count(), 3);
    QVERIFY(page.form()->error_text("serve.parallel.tp").isEmpty());
    QVERIFY(std::abs(page.analysis()->memory.weights / after.memory.weights - 0.5) < 0.01);
  }

  // The model field takes a HuggingFace config.json path: Qwen2.5-7B's KV cache is 28 layers ×
  // 4 KV heads × 128 dims × K and V × 2 bytes = 57,344 bytes per token (its config.json).
  void TheModelFieldTakesAHuggingFaceConfig() {
    ServePage page(*ctx_, nullptr);
    auto* model = qobject_cast<QComboBox*>(page.form()->editor("model"));
    const QString path = FATHOM_TEST_DATA_DIR "/hf/qwen2.5-7b.json";
    model->setCurrentText(path);
    QVERIFY2(page.analysis(), qPrintable(page.form()->form_error() + page.form()->error_text("model")));
    QCOMPARE(page.analysis()->memory.kv_token, 57344.0);
    QVERIFY(page.command_line().contains("--set model=" + path));
    QVERIFY(!page.form()->editor("serve.parallel.ep")->isEnabled());
    model->setCurrentText("no-such-model");
    QVERIFY(!page.analysis());
    QVERIFY2(page.form()->error_text("model").contains("expected a model of the catalog or a path"),
             qPrintable(page.form()->error_text("model") + page.form()->form_error()));
  }

  void SimulateGivesWhatFathomServeGives() {
    ServePage page(*ctx_, nullptr);
    set_requests(page, 2000);
    page.set_slo_stat("p90");
    QSignalSpy done(&page, &ServePage::simulation_finished);
    page.simulate();
    QVERIFY(page.busy());
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 60000);
    QVERIFY(page.run());
    const json cli = run_line(page.command_line() + " --format json");
    // The percentile table's CSV export, parsed: every number is the CLI's, exactly.
    QTemporaryDir dir;
    const QString csv_path = dir.filePath("percentiles.csv");
    page.tables()[1]->export_csv(csv_path);
    const CsvTable csv = CsvTable::load(csv_path.toStdString());
    QCOMPARE(csv.rows(), size_t{5});
    const char* keys[] = {"ttft_s", "tpot_s", "itl_s", "e2e_s", "queueing_s"};
    const char* stats[] = {"mean", "p50", "p90", "p95", "p99", "max", "count"};
    for (size_t r = 0; r < 5; ++r) {
      for (size_t c = 0; c < 7; ++c) QCOMPARE(csv.number(r, c + 1), cli[keys[r]][stats[c]].get<double>());
    }
    const char* window[] = {"ttft", "tpot", "e2e"};
    const size_t rows[] = {0, 1, 3};
    for (size_t i = 0; i < 3; ++i) {
      for (const auto& [col, key] : {std::pair{8, "mean"}, std::pair{11, "p99"}}) {
        const json& w = cli["window"][std::string(window[i]) + "_" + key + "_s"];
        QCOMPARE(csv.number(rows[i], col), w["value"].get<double>());
        QVERIFY(!w["ci95_lo"].is_null());
        QCOMPARE(csv.number(rows[i], col + 1), w["ci95_lo"].get<double>());
        QCOMPARE(csv.number(rows[i], col + 2), w["ci95_hi"].get<double>());
      }
    }
    // The highlighted column follows the SLO percentile.
    QVERIFY(page.tables()[1]->table().columns[3].highlight);
    page.set_slo_stat("p99");
    QVERIFY(page.tables()[1]->table().columns[5].highlight);
    QVERIFY(!page.tables()[1]->table().columns[3].highlight);
    // Throughput with its interval, memory and KV capacity are the CLI's too.
    const Table& tp = page.tables()[2]->table();
    QCOMPARE(tp.rows[1][1].as_number(), cli["window"]["output_tokens_per_s"]["value"].get<double>());
    QCOMPARE(tp.rows[1][2].as_number(), cli["window"]["output_tokens_per_s"]["ci95_lo"].get<double>());
    QCOMPARE(static_cast<double>(page.analysis()->kv_tokens), cli["kv_tokens_per_replica"].get<double>());
    QVERIFY(close(panel(page, "weights"), cli["memory_per_gpu_GiB"]["weights"].get<double>()));
    QVERIFY(close(panel(page, "KV cache"), cli["memory_per_gpu_GiB"]["kv_cache"].get<double>()));
    // The verdict in words, with the SLOs judged at the chosen percentile.
    QString verdict = QString::fromStdString(cli["saturation_verdict"].get<std::string>());
    verdict[0] = verdict[0].toUpper();
    QVERIFY2(page.verdict().startsWith(verdict + ":"), qPrintable(page.verdict()));
    QVERIFY(page.verdict().contains("p99 TTFT"));
    // Every chart has data, and a CDF reaches 1.
    for (ChartView* c : page.charts()) QVERIFY2(!c->chart().empty(), c->chart().title.c_str());
    QCOMPARE(page.run()->cdfs.ttft.back().fraction, 1.0);
    QCOMPARE(page.run()->cdfs.ttft.back().value_s, cli["ttft_s"]["max"].get<double>());
  }

  void CancelStopsAMillionRequestRunWithinASecond() {
    ServePage page(*ctx_, nullptr);
    page.open_scenario_file(QString::fromStdString(ctx_->data("../bench/serve_1m.yaml")));
    QVERIFY(page.analysis());
    QSignalSpy stopped(&page, &ServePage::simulation_stopped);
    page.simulate();
    QVERIFY(page.busy());
    QTest::qWait(500);
    QElapsedTimer clock;
    clock.start();
    page.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(stopped.count() == 1, 5000);
    const qint64 ms = clock.elapsed();
    qInfo("cancel to stop: %lld ms", static_cast<long long>(ms));
    QVERIFY2(ms < 1000, qPrintable(QString("took %1 ms").arg(ms)));
    QVERIFY(!page.busy());
    QVERIFY(page.status_text().startsWith("Cancelled: serve: cancelled at"));
    QVERIFY(!page.run());
  }

  void AnErrorAppearsUnderItsField() {
    ServePage page(*ctx_, nullptr);
    page.open_scenario_file(QString::fromStdString(ctx_->data("scenarios/llama3.1-70b-decode-h100.yaml")));
    QVERIFY(page.analysis());
    auto* tp = qobject_cast<QSpinBox*>(page.form()->editor("serve.parallel.tp"));
    tp->setValue(3);
    QVERIFY(!page.analysis());
    QVERIFY2(page.form()->error_text("serve.parallel.tp").contains("divides the 64 attention heads"),
             qPrintable(page.form()->error_text("serve.parallel.tp")));
    QVERIFY(page.form()->form_error().isEmpty());
    QVERIFY(!page.findChild<QPushButton*>("simulate")->isEnabled());
    tp->setValue(4);
    QVERIFY(page.analysis());
    QVERIFY(page.form()->error_text("serve.parallel.tp").isEmpty());
    // An arrival rate out of range lands under the rate, though the edit writes the whole arrival.
    page.open_scenario_file(QString::fromStdString(ctx_->data("scenarios/llama3.1-8b-serve-h100.yaml")));
    auto* process = qobject_cast<QComboBox*>(page.form()->editor("serve.workload.arrival.process"));
    process->setCurrentText("trace");
    QVERIFY(!page.analysis());
    QVERIFY2(!page.form()->error_text("serve.workload.arrival.file").isEmpty() ||
                 !page.form()->error_text("serve.workload.arrival.process").isEmpty(),
             qPrintable(page.form()->form_error()));
    process->setCurrentText("poisson");
    QVERIFY(page.analysis());
  }

  void APlanRowOpensInThePage() {
    ServePage page(*ctx_, nullptr);
    QFile f(QString::fromStdString(ctx_->data("scenarios/llama3.1-8b-trtllm-h200.yaml")));
    QVERIFY(f.open(QIODevice::ReadOnly));
    emit ctx_->open_in_serve(QString::fromUtf8(f.readAll()), "plan: row 1");
    QCOMPARE(page.scenario()->name(), std::string("plan: row 1"));
    QVERIFY(page.analysis());
    QCOMPARE(page.analysis()->engine, std::string("trtllm"));
    // The scenario's own iteration (1,000 sequences at 1,500 tokens) is what the panel prices.
    QCOMPARE(page.analysis()->batch, int64_t{1000});
    QVERIFY(!page.estimate_command().contains("serve.iteration"));
  }

  // 10⁶ samples reduce to at most 1,500 points that keep every peak and the last sample's time.
  void TimeSeriesKeepsItsPeaksInFixedSize() {
    TimeSeriesReducer r(1500);
    for (int i = 1; i <= 1000000; ++i) {
      serve::TimePoint p;
      p.time_s = i;
      p.waiting = i == 123457 ? 5000 : i % 7;
      p.kv_used = i == 999999 ? 0.97 : 0.5;
      p.output_tokens_per_s = 100;
      r.add(p);
    }
    const auto pts = r.points();
    QVERIFY(pts.size() <= 1500 && pts.size() > 700);
    QCOMPARE(r.samples(), int64_t{1000000});
    QCOMPARE(pts.back().time_s, 1e6);
    int64_t waiting = 0;
    double kv = 0;
    for (const auto& p : pts) {
      waiting = std::max(waiting, p.waiting);
      kv = std::max(kv, p.kv_used);
      QCOMPARE(p.output_tokens_per_s, 100.0);  // a bucket's mean rate
    }
    QCOMPARE(waiting, int64_t{5000});
    QCOMPARE(kv, 0.97);
    QCOMPARE(r.samples_per_point(), int64_t{1024});
  }

  void FathomPlotServeDrawsTheCliFiles() {
    QTemporaryDir dir;
    const QString json_path = dir.filePath("r.json"), req = dir.filePath("req.csv"), ts = dir.filePath("ts.csv");
    const Run s = run(FATHOM_BIN, {"serve", QString::fromStdString(ctx_->data("scenarios/llama3.1-8b-serve-h100.yaml")),
                                   "--set", "serve.workload.requests=1000", "--format", "json", "--requests-out", req,
                                   "--timeseries-out", ts, "--output", json_path});
    QCOMPARE(s.code, 0);
    auto plot = [&](const QString& chart, const QString& out, QStringList extra = {}) {
      return run(FATHOM_PLOT_BIN, QStringList{"serve", json_path, "--chart", chart, "--out", out, "--size", "640x400"} + extra);
    };
    for (const QString& chart : QStringList{"percentiles", "interactivity", "memory"}) {
      const QString out = dir.filePath(chart + ".png");
      QCOMPARE(plot(chart, out).code, 0);
      QImage image(out);
      QCOMPARE(image.size(), QSize(640, 400));
    }
    QCOMPARE(plot("cdf", dir.filePath("cdf.svg"), {"--requests", req}).code, 0);
    QCOMPARE(plot("queue", dir.filePath("queue.png"), {"--timeseries", ts}).code, 0);
    QCOMPARE(QImage(dir.filePath("queue.png")).size(), QSize(640, 400));
    QCOMPARE(plot("kv", dir.filePath("kv.svg"), {"--timeseries", ts}).code, 0);
    for (const QString& svg : {dir.filePath("cdf.svg"), dir.filePath("kv.svg")}) {
      QFile f(svg);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray bytes = f.readAll();
      QXmlStreamReader xml(bytes);
      while (!xml.atEnd()) xml.readNext();
      QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
      QSvgRenderer renderer(bytes);
      QVERIFY(renderer.isValid());
      QCOMPARE(renderer.viewBox(), QRect(0, 0, 640, 400));
    }
    // Bad input: one line, exit 2, no file.
    QFile bad(dir.filePath("bad.json"));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("{\"ttft_s\": 3}");
    bad.close();
    const QString out = dir.filePath("never.png");
    auto refuse = [&](const Run& r, const char* what) {
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.startsWith("fathom-plot: ") && r.err.count('\n') == 1, qPrintable(r.err));
      QVERIFY2(r.err.contains(what), qPrintable(r.err));
      QVERIFY(!QFile::exists(out));
    };
    refuse(run(FATHOM_PLOT_BIN, {"serve", dir.filePath("bad.json"), "--chart", "percentiles", "--out", out}), "ttft_s.mean");
    refuse(run(FATHOM_PLOT_BIN, {"serve", req, "--chart", "percentiles", "--out", out}), "not JSON");
    refuse(plot("cdf", out), "--requests");
    refuse(plot("pie", out), "--chart");
    refuse(plot("cdf", out, {"--requests", json_path}), "column");
  }

 private:
  std::unique_ptr<AppContext> ctx_;
};

QTEST_MAIN(ServePageTest)
#include "serve_page_test.moc"
