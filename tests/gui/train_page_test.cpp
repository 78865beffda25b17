// The Train page, offscreen, against the real `fathom` binary: the built-in example shows the
// numbers of `fathom train SCENARIO --format json`; an edit recomputes them as the library says;
// an impossible layout puts its error under the field; the search runs on a Task, its top rows
// and CSV are those of `fathom train --search`, and Cancel stops a larger one within a second; a
// picked row becomes the scenario and the command line reruns it; Plans' open_in_train opens text.
#include <QApplication>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/input_file.h"
#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/train_page.h"
#include "gui/pages/train_search.h"
#include "gui/pages/train_views.h"
#include "gui/table/table_model.h"

using namespace fathom;
using namespace fathom::gui;
using nlohmann::json;

namespace {

std::unique_ptr<QSettings> settings_in(const QTemporaryDir& dir) {
  return std::make_unique<QSettings>(dir.filePath("settings.ini"), QSettings::IniFormat);
}

// Runs a `fathom ...` line (as Copy as command gives it) with the real binary; its stdout, and
// its exit status and stderr where asked.
QByteArray run_line(QString line, int* status = nullptr, QString* err = nullptr) {
  if (line.startsWith("fathom ")) line.replace(0, 6, FATHOM_BIN);
  QProcess p;
  p.start("bash", {"-c", line + " --progress none"});
  p.waitForFinished(120000);
  const QString stderr_text = QString::fromUtf8(p.readAllStandardError());
  if (status) *status = p.exitCode();
  if (err) *err = stderr_text;
  else if (p.exitCode() != 0) qWarning() << line << stderr_text;
  return p.readAllStandardOutput();
}

json run_json(const QString& line) { return json::parse(run_line(line + " --format json").toStdString()); }

double figure(const TableView* t, const std::string& name) {
  const int row = training::figure_row(t->table(), name);
  return row < 0 ? NAN : t->table().rows[static_cast<size_t>(row)][1].as_number();
}

double cell(const Table& t, size_t row, const std::string& column) {
  const int c = training::search_column(t, column);
  return c < 0 ? NAN : t.rows[row][static_cast<size_t>(c)].as_number();
}

double stacked_sum(const Chart& c) {
  double sum = 0;
  for (const auto& s : c.series) sum += s.y.at(0);
  return sum;
}

template <class W>
W* editor(TrainPage& page, const std::string& path) {
  W* w = qobject_cast<W*>(page.form()->editor(path));
  if (!w) qFatal("no editor for %s", path.c_str());
  return w;
}

}  // namespace

class TrainPageTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<AppContext> ctx_;
  QString example_;

 private slots:
  void initTestCase() {
    ctx_ = std::make_unique<AppContext>(std::string(), settings_in(dir_));
    example_ = QString::fromStdString(ctx_->data("scenarios/llama3.1-70b-train-h100.yaml"));
  }

  // The constructor shows the example; its figures are the CLI's for the same file.
  void ShowsTheNumbersOfFathomTrain() {
    TrainPage page(*ctx_, nullptr);
    QVERIFY(page.result());
    QCOMPARE(page.command_line(), "fathom train " + example_);
    const json j = run_json(page.command_line())["result"];
    const train::TrainResult& r = *page.result();
    QCOMPARE(r.time.step, j["time_s"]["step"].get<double>());
    QCOMPARE(figure(page.figures(), "step"), j["time_s"]["step"].get<double>());
    QCOMPARE(figure(page.figures(), "tokens/s"), j["tokens_per_s"].get<double>());
    QCOMPARE(figure(page.figures(), "MFU"), 100 * j["mfu"].get<double>());
    QCOMPARE(figure(page.figures(), "memory per GPU"), j["memory_bytes"]["total"].get<double>() / training::kGiB);
    QCOMPARE(figure(page.figures(), "GPU memory"), j["memory_bytes"]["capacity"].get<double>() / training::kGiB);
    QCOMPARE(figure(page.figures(), "time to train"), j["train"]["time_s"].get<double>() / training::kDay_s);
    QCOMPARE(figure(page.figures(), "GPU-hours"), j["train"]["gpu_hours"].get<double>());
    QCOMPARE(figure(page.figures(), "cost"), j["train"]["usd"].get<double>());
    QCOMPARE(figure(page.figures(), "energy"), j["train"]["kwh"].get<double>());
    // The stacked bars are the breakdowns: their parts add up to the step and to the memory total
    // (the docs' claim; 1e-12 relative is rounding of the sum), the HBM line is the capacity.
    const Chart& step = page.step_chart()->chart();
    QVERIFY(std::abs(stacked_sum(step) - r.time.step) < 1e-12 * r.time.step);
    QVERIFY(step.series.size() >= 5);  // forward, backward, TP, PP, bubble, DP, optimizer for this layout
    const Chart& mem = page.memory_chart()->chart();
    QVERIFY(std::abs(stacked_sum(mem) - r.memory.total / training::kGiB) < 1e-12 * r.memory.total);
    QCOMPARE(mem.lines.at(0).value, r.memory.capacity / training::kGiB);
    // Every figure carries its provenance.
    for (const auto& row : page.figures()->table().rows) QVERIFY(!row[1].tip.empty());
    QVERIFY(page.figures()->table().rows[0][1].tip.find("documented defaults") != std::string::npos);
    QCOMPARE(page.charts().size(), size_t{2});
    QCOMPARE(page.tables().size(), size_t{4});
  }

  // An edit is a --set edit, recomputed at once; the numbers are the CLI's for that line.
  void AnEditRecomputesAsTheLibrarySays() {
    TrainPage page(*ctx_, nullptr);
    const double before = page.result()->time.step;
    QSignalSpy spy(&page, &TrainPage::recomputed);
    editor<QSpinBox>(page, "train.parallel.virtual_stages")->setValue(4);
    QCOMPARE(spy.count(), 1);
    QVERIFY2(page.result() && page.result()->feasible(), qPrintable(page.form()->form_error()));
    QVERIFY(page.command_line().endsWith("--set train.parallel.virtual_stages=4"));
    const json j = run_json(page.command_line())["result"];
    QCOMPARE(j["config"]["virtual_stages"].get<int>(), 4);
    QCOMPARE(page.result()->time.step, j["time_s"]["step"].get<double>());
    QCOMPARE(page.result()->time.bubble, j["time_s"]["bubble"].get<double>());
    QCOMPARE(page.result()->memory.total, j["memory_bytes"]["total"].get<double>());
    QVERIFY(page.result()->time.step != before);
    // Three more: dp auto, full recomputation, then tp 4 (dp = 64 / (4 × 4) = 4).
    editor<QSpinBox>(page, "train.parallel.dp")->setValue(0);
    editor<QComboBox>(page, "train.recompute")->setCurrentText("full");
    editor<QSpinBox>(page, "train.parallel.tp")->setValue(4);
    QCOMPARE(spy.count(), 4);
    QVERIFY2(page.result(), qPrintable(page.form()->form_error()));
    QCOMPARE(page.result()->config.layout.dp, 4);
    QVERIFY(page.command_line().contains("--set train.parallel.dp=null"));
    const json k = run_json(page.command_line())["result"];
    QCOMPARE(page.result()->time.step, k["time_s"]["step"].get<double>());
    QCOMPARE(figure(page.figures(), "MFU"), 100 * k["mfu"].get<double>());
    // The live recompute stays on the UI thread: resolution, model, tables and charts.
    std::vector<double> ms;
    for (int v : {1, 2, 4, 5, 2, 1, 4}) {
      editor<QSpinBox>(page, "train.parallel.virtual_stages")->setValue(v);
      ms.push_back(page.last_recompute_ms());
    }
    std::sort(ms.begin(), ms.end());
    qInfo("live recompute: median %.1f ms, max %.1f ms", ms[ms.size() / 2], ms.back());
  }

  // Over the GPU's memory: the numbers stay on screen with `fathom train`'s reason under the form.
  void AConfigurationOverMemoryKeepsItsNumbersAndSaysWhy() {
    TrainPage page(*ctx_, nullptr);
    editor<QSpinBox>(page, "train.microbatch")->setValue(2);
    QVERIFY(page.result());
    QVERIFY(!page.result()->feasible());
    QVERIFY2(page.form()->form_error().contains("'train.memory': expected at most 80.0 GiB per GPU, found 91.3 GiB"),
             qPrintable(page.form()->form_error()));
    QVERIFY(page.memory_chart()->chart().title.find("does not fit") != std::string::npos);
    QVERIFY(stacked_sum(page.memory_chart()->chart()) > page.memory_chart()->chart().lines.at(0).value);
    int status = 0;
    QString err;
    run_line(page.command_line(), &status, &err);
    QCOMPARE(status, 2);  // `fathom train` refuses it with the same reason
    QVERIFY2(err.contains("'train.memory': expected at most 80.0 GiB per GPU, found 91.3 GiB"), qPrintable(err));
  }

  void AnImpossibleLayoutShowsItsErrorUnderItsField() {
    TrainPage page(*ctx_, nullptr);
    editor<QSpinBox>(page, "train.parallel.tp")->setValue(3);
    QVERIFY(!page.result());
    QVERIFY2(page.form()->error_text("train.parallel.tp").contains("divides the 64 attention heads"),
             qPrintable(page.form()->error_text("train.parallel.tp") + " | " + page.form()->form_error()));
    QVERIFY(page.figures()->table().rows.empty());
    QVERIFY(!page.step_chart()->chart().empty_text.empty());
    QVERIFY(!page.start_search());
    QVERIFY(!page.search()->error_text().isEmpty());
    editor<QSpinBox>(page, "train.parallel.tp")->setValue(8);
    QVERIFY(page.result());
    QVERIFY(page.form()->error_text("train.parallel.tp").isEmpty());
  }

  // The search on the Task gives the CLI's ranking; the table exports the CLI's CSV.
  void SearchEqualsTheCliAndItsCsvRoundTrips() {
    TrainPage page(*ctx_, nullptr);
    TrainSearchPanel* search = page.search();
    search->gpus_edit()->setText("2048");
    QVERIFY(!page.start_search());
    QCOMPARE(search->error_text(), QString("GPUs: expected at most the 1016 GPUs of dgx-h100-superpod, found 2048"));
    search->gpus_edit()->setText("32,64");
    search->rank_box()->setCurrentText("cost");
    search->top_box()->setValue(20);
    QSignalSpy finished(search, &TrainSearchPanel::finished);
    // The UI thread keeps turning while the search runs and its table is built: the longest gap
    // between ticks of a 5 ms timer.
    QElapsedTimer clock;
    qint64 last = 0, longest = 0;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&] {
      longest = std::max(longest, clock.elapsed() - last);
      last = clock.elapsed();
    });
    clock.start();
    tick.start(5);
    QVERIFY(page.start_search());
    QVERIFY(page.busy());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 30000);
    tick.stop();
    QVERIFY(!page.busy());
    qInfo("search %.3f s; longest UI block %lld ms", search->task().last_seconds(), static_cast<long long>(longest));
    const QString line = page.command_line();
    QVERIFY(line.endsWith("--search --gpus 32,64 --rank cost --top 20"));
    const json j = run_json(line)["search"];
    const train::SearchResult& res = *search->result();
    const Table& t = search->table()->table();
    QCOMPARE(t.rows.size(), j["top"].size());
    QCOMPARE(res.evaluated, j["evaluated"].get<int64_t>());
    QCOMPARE(res.rejected_total, j["rejected_total"].get<int64_t>());
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const json& row = j["top"][i];
      QCOMPARE(cell(t, i, "GPUs"), row["config"]["gpus"].get<double>());
      QCOMPARE(cell(t, i, "tp"), row["config"]["tp"].get<double>());
      QCOMPARE(cell(t, i, "pp"), row["config"]["pp"].get<double>());
      QCOMPARE(cell(t, i, "dp"), row["config"]["dp"].get<double>());
      QCOMPARE(cell(t, i, "cp"), row["config"]["cp"].get<double>());
      QCOMPARE(cell(t, i, "microbatch"), row["config"]["microbatch"].get<double>());
      QCOMPARE(cell(t, i, "ZeRO"), row["config"]["zero"].get<double>());
      QCOMPARE(cell(t, i, "step (s)"), row["time_s"]["step"].get<double>());
      QCOMPARE(cell(t, i, "cost ($)"), row["train"]["usd"].get<double>());
    }
    const Table& rej = search->rejections()->table();
    QCOMPARE(rej.rows.size(), j["rejected"].size());
    for (const auto& r : rej.rows) {
      QCOMPARE(r[1].as_number(), j["rejected"][std::get<std::string>(r[0].value)]["count"].get<double>());
    }
    // Export: the CLI's CSV byte for byte, and it reads back to the table's numbers.
    const QString file = dir_.filePath("search.csv");
    search->table()->export_csv(file);
    const std::string exported = read_input_file(file.toStdString(), InputKind::kTable, "CSV");
    QCOMPARE(QString::fromStdString(exported), QString::fromUtf8(run_line(line + " --format csv")));
    const CsvTable csv = CsvTable::parse(exported, "search.csv");
    QCOMPARE(csv.rows(), t.rows.size());
    for (size_t i = 0; i < csv.rows(); ++i) {
      // 9 significant digits in the CSV (the CLI's format).
      const double step = csv.number(i, csv.column("step_s")), usd = csv.number(i, csv.column("usd"));
      QVERIFY(std::abs(step - cell(t, i, "step (s)")) <= 1e-8 * step);
      QVERIFY(std::abs(usd - cell(t, i, "cost ($)")) <= 1e-8 * usd);
      QCOMPARE(csv.number(i, csv.column("tp")), cell(t, i, "tp"));
    }
  }

  // Enter on a row makes it the scenario; the command line reruns it to the row's numbers.
  void PickingARowMakesItTheScenario() {
    TrainPage page(*ctx_, nullptr);
    page.show();
    TrainSearchPanel* search = page.search();
    search->gpus_edit()->setText("64");
    QSignalSpy finished(search, &TrainSearchPanel::finished);
    QVERIFY(page.start_search());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 30000);
    const train::TrainResult row = search->result()->top.at(2);
    QSignalSpy spy(&page, &TrainPage::recomputed);
    QTableView* view = search->table()->view();
    view->setFocus();
    view->setCurrentIndex(view->model()->index(2, 0));
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(spy.count(), 1);
    QVERIFY(page.result());
    QCOMPARE(train::layout_label(page.result()->config), train::layout_label(row.config));
    QCOMPARE(page.result()->time.step, row.time.step);
    QCOMPARE(stacked_sum(page.step_chart()->chart()), stacked_sum(training::step_time_chart(&row, {})));
    QCOMPARE(editor<QSpinBox>(page, "train.parallel.tp")->value(), row.config.layout.tp);
    const QString line = page.command_line();
    QVERIFY(!line.contains("--search"));
    QVERIFY(line.contains("--set train."));
    const json j = run_json(line)["result"];
    QCOMPARE(j["time_s"]["step"].get<double>(), row.time.step);
    QCOMPARE(j["memory_bytes"]["total"].get<double>(), row.memory.total);
    QCOMPARE(j["config"]["zero"].get<int>(), row.config.zero);
  }

  // GPT-3 175B on every multiple of 8 GPUs up to 2,048 (about 800,000 candidates, seconds).
  void CancelStopsALargerSearchWithinASecond() {
    TrainPage page(*ctx_, nullptr);
    page.open_scenario_file(QString::fromStdString(ctx_->data("scenarios/gpt3-175b-train-a100.yaml")));
    QVERIFY(page.result());
    page.search()->gpus_edit()->setText("8-2048");
    QSignalSpy progress(&page.search()->task(), &Task::progress);
    QSignalSpy cancelled(&page.search()->task(), &Task::cancelled);
    QSignalSpy finished(page.search(), &TrainSearchPanel::finished);
    QVERIFY(page.start_search());
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() >= 2, 20000);
    QElapsedTimer clock;
    clock.start();
    page.search()->cancel_button()->click();
    QVERIFY(cancelled.count() == 1 || cancelled.wait(5000));  // returns as the signal comes
    const double ms = static_cast<double>(clock.nsecsElapsed()) * 1e-6;
    qInfo("search cancel to stop: %.2f ms (progress %.3f)", ms, progress.last().at(0).toDouble());
    QVERIFY2(ms < 1000, qPrintable(QString("took %1 ms").arg(ms)));
    QCOMPARE(finished.count(), 0);
    QVERIFY(!page.busy());
    QVERIFY(page.search()->status_text().contains("cancelled after"));
    QVERIFY(!page.command_line().contains("--search"));
  }

  void OpenInTrainOpensTheText() {
    TrainPage page(*ctx_, nullptr);
    QFile f(QString::fromStdString(ctx_->data("scenarios/gpt3-175b-train-a100.yaml")));
    QVERIFY(f.open(QIODevice::ReadOnly));
    emit ctx_->open_in_train(QString::fromUtf8(f.readAll()), "plan train row 1");
    QCOMPARE(QString::fromStdString(page.scenario()->name()), QString("plan train row 1"));
    QVERIFY(page.result());
    QCOMPARE(page.result()->config.gpus(), int64_t{1024});
    QCOMPARE(page.command_line(), QString("fathom train 'plan train row 1'"));
    QCOMPARE(editor<QComboBox>(page, "hardware.cluster")->currentText(), QString("dgx-a100-selene"));
  }

  void LoadExampleStartsASmallSearch() {
    TrainPage page(*ctx_, nullptr);
    page.load_example();
    QVERIFY(page.busy());
    QTRY_VERIFY_WITH_TIMEOUT(!page.busy(), 30000);
    QVERIFY(page.search()->result());
    QVERIFY(!page.search()->table()->table().rows.empty());
    QVERIFY(page.command_line().endsWith("--search --gpus 64,128 --rank time --top 50"));
  }

  void ABadFileShowsTheLibrarysMessage() {
    TrainPage page(*ctx_, nullptr);
    page.open_scenario_file(dir_.filePath("missing.yaml"));
    QVERIFY(!page.result());
    QVERIFY2(page.form()->form_error().contains("missing.yaml"), qPrintable(page.form()->form_error()));
  }
};

QTEST_MAIN(TrainPageTest)
#include "train_page_test.moc"
