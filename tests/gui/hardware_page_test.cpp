// The Hardware page offscreen, against the real `fathom` binary: the catalog table holds the
// numbers of `fathom catalog gpus --format json`; a price edited in the page is saved to the
// prices file and `fathom plan serve ... --prices FILE` ranks by it; a calibration database's
// roofline points and report are `fathom calib report DB --format json`'s; the provenance table
// is hw::efficiency_provenance's; exports round-trip; the built-in example loads.
#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "gui/app/app_context.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/hardware_page.h"
#include "gui/table/table_model.h"
#include "hw/efficiency_provenance.h"
#include "hw/roofline.h"
#include "plan/plan_report.h"

using namespace fathom;
using namespace fathom::gui;
using json = nlohmann::json;

namespace {

// Runs a command line in bash; its standard output (the test fails on a non-zero status).
std::string run(const QString& line) {
  QProcess p;
  p.start("bash", {"-c", line});
  p.waitForFinished(120000);
  if (p.exitCode() != 0) qWarning() << line << p.readAllStandardError();
  return p.exitCode() == 0 ? p.readAllStandardOutput().toStdString() : std::string();
}

QString fathom_bin() { return QString(FATHOM_BIN); }

// A page's command line run with the real binary in place of the `fathom` on PATH.
QString with_bin(const QString& command_line) {
  return command_line.startsWith("fathom ") ? fathom_bin() + command_line.mid(6) : command_line;
}

// JSON text; a null value when it does not parse (the QVERIFY that follows fails, nothing throws).
json parse(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json() : j;
}

int column(const Table& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].name == name) return static_cast<int>(i);
  return -1;
}

const std::vector<Cell>* row_of(const Table& t, const std::string& first) {
  for (const auto& r : t.rows)
    if (!r.empty() && std::holds_alternative<std::string>(r[0].value) && std::get<std::string>(r[0].value) == first) return &r;
  return nullptr;
}

bool same(double a, double b) { return a == b || std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)); }

const Series* series(const Chart& c, const std::string& name) {
  for (const auto& s : c.series)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

class HardwarePageTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  QString db_, profile_;

  std::unique_ptr<AppContext> context(const QString& settings = "settings.ini") {
    return std::make_unique<AppContext>(std::string{}, std::make_unique<QSettings>(dir_.filePath(settings), QSettings::IniFormat));
  }

  std::unique_ptr<HardwarePage> open_db(AppContext& ctx) {
    auto page = std::make_unique<HardwarePage>(ctx, nullptr);
    page->open_database(db_);
    [&] { QTRY_VERIFY_WITH_TIMEOUT(!page->busy(), 20000); }();
    return page;
  }

 private slots:
  void initTestCase() {
    // Prices go to $HOME/.config/fathom/prices.yaml by default: never the user's own.
    qputenv("HOME", dir_.filePath("home").toUtf8());
    QVERIFY(dir_.isValid());
    // A calibration database without a GPU: synthetic measurements and the profile fitted to them.
    db_ = dir_.filePath("synth.sqlite");
    profile_ = dir_.filePath("synth.yaml");
    run(QString("%1 calib synth --quick --db %2 && %1 calib fit %2 --out %3").arg(fathom_bin(), db_, profile_));
    QVERIFY(QFileInfo::exists(db_) && QFileInfo::exists(profile_));
  }

  void CatalogShowsTheNumbersOfCatalogGpus() {
    auto ctx = context();
    HardwarePage page(*ctx, nullptr);
    const Table& t = page.tables().at(0)->table();
    const json cli = parse(run(fathom_bin() + " catalog gpus --format json"));
    QVERIFY(cli.is_object());
    QCOMPARE(t.rows.size(), cli["gpus"].size());
    int checked = 0;
    for (const json& g : cli["gpus"]) {
      const auto* row = row_of(t, g["name"].get<std::string>());
      QVERIFY2(row, g["name"].get<std::string>().c_str());
      auto cell = [&](const std::string& col) { return (*row)[static_cast<size_t>(column(t, col))]; };
      QVERIFY(same(cell("memory (GiB)").as_number() * 1073741824.0, g["memory_bytes"].get<double>()));
      QVERIFY(same(cell("bandwidth (TB/s)").as_number() * 1e12, g["memory_bandwidth_Bps"].get<double>()));
      for (DType d : kAllDTypes) {
        const std::string name = to_string(d);
        const int c = column(t, name + " (TFLOP/s)");
        if (c < 0) {
          QVERIFY(!g["peak_flops"].contains(name));
          continue;
        }
        const Cell& x = (*row)[static_cast<size_t>(c)];
        if (g["peak_flops"].contains(name)) {
          QVERIFY2(same(x.as_number() * 1e12, g["peak_flops"][name].get<double>()), (g["name"].get<std::string>() + " " + name).c_str());
          ++checked;
        } else {
          QVERIFY(!x.is_number());
        }
      }
      QVERIFY(same(cell("link (GB/s)").as_number() * 1e9, g["intra_node"]["bandwidth_per_direction_Bps"].get<double>()));
      QCOMPARE(cell("GPUs/node").as_number(), g["intra_node"]["gpus_per_node"].get<double>());
      QCOMPARE(std::get<std::string>(cell("link").value), g["intra_node"]["kind"].get<std::string>());
      const double net = g["network_bandwidth_per_gpu_Bps"].get<double>();
      QVERIFY(net > 0 ? same(cell("network (GB/s)").as_number() * 1e9, net) : !cell("network (GB/s)").is_number());
      const double usd = g["usd_per_gpu_hour"].get<double>();
      QVERIFY(usd > 0 ? cell("catalog $/GPU-h").as_number() == usd : !cell("catalog $/GPU-h").is_number());
      QVERIFY(!cell("memory (GiB)").tip.empty());  // the GPU file's source
    }
    QVERIFY(checked > 50);
    QCOMPARE(page.command_line(), QString("fathom catalog gpus"));
  }

  void AnEditedPriceIsSavedAndPlanServeUsesIt() {
    auto ctx = context("prices.ini");
    const QString file = AppContext::default_prices_file();
    QFile::remove(file);
    {
      HardwarePage page(*ctx, nullptr);
      QCOMPARE(page.prices_path(), file);
      QVERIFY(page.select_gpu("h100"));  // an alias
      QCOMPARE(page.selected_gpu(), QString("h100-sxm"));
      auto* spin = page.findChild<QDoubleSpinBox*>("price");
      QVERIFY(spin && spin->isEnabled());
      spin->setValue(1.25);
      emit spin->editingFinished();
      QVERIFY(QFileInfo::exists(file));
      const auto saved = plan::load_prices(file.toStdString());
      QCOMPARE(saved.size(), size_t{1});
      QCOMPARE(saved.at("h100-sxm"), 1.25);
      const Table& t = page.tables().at(0)->table();
      QCOMPARE((*row_of(t, "h100-sxm"))[static_cast<size_t>(column(t, "your $/GPU-h"))].as_number(), 1.25);
      QVERIFY(page.findChild<QLabel*>("prices_file")->text().contains("--prices " + file));
    }
    // The CLI ranks by it: each ranked fleet costs 1.25 $ per GPU-hour.
    const json plan = parse(run(QString("%1 plan serve %2/plans/serve_tiny.yaml --prices %3 --format json")
                                          .arg(fathom_bin(), FATHOM_TEST_DATA_DIR, file)));
    QVERIFY(plan.is_object());
    int rows = 0;
    for (const json& r : plan["sections"][0]["rows"]) {
      QCOMPARE(r["usd_per_hour"].get<double>(), 1.25 * r["gpus"].get<double>());
      ++rows;
    }
    QVERIFY(rows > 0);
    {
      // Loaded back by a new page; the catalog's price again removes the only entry, and the file.
      HardwarePage page(*ctx, nullptr);
      const Table& t = page.tables().at(0)->table();
      QCOMPARE((*row_of(t, "h100-sxm"))[static_cast<size_t>(column(t, "your $/GPU-h"))].as_number(), 1.25);
      QVERIFY(page.set_price("b200", 5.5));
      QCOMPARE(plan::load_prices(file.toStdString()).size(), size_t{2});
      page.select_gpu("h100-sxm");
      page.findChild<QPushButton*>("price_reset")->click();
      QCOMPARE(plan::load_prices(file.toStdString()), (std::map<std::string, double>{{"b200", 5.5}}));
      QVERIFY(page.set_price("b200", 0));
      QVERIFY(!QFileInfo::exists(file));
    }
    // A malformed file: the library's message on the page, editing off, the file untouched.
    const QString bad = dir_.filePath("bad_prices.yaml");
    {
      std::ofstream f(bad.toStdString());
      f << "usd_per_gpu_hour:\n  h100-sxm: cheap\n";
    }
    HardwarePage page(*ctx, nullptr);
    page.use_prices_file(bad);
    QVERIFY2(page.error_text().contains("bad_prices.yaml:2"), qPrintable("the page says: " + page.error_text()));
    QVERIFY(!page.findChild<QDoubleSpinBox*>("price")->isEnabled());
    QVERIFY(!page.set_price("h100-sxm", 2));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("usd_per_gpu_hour:\n  h100-sxm: cheap\n"));
  }

  void RooflinePointsAndReportAreCalibReports() {
    auto ctx = context();
    auto page = open_db(*ctx);
    QCOMPARE(page->error_text(), QString());
    QCOMPARE(page->selected_gpu(), QString("h200-sxm"));
    QCOMPARE(page->command_line(), "fathom calib report " + db_);
    const json cli = parse(run(with_bin(page->command_line()) + " --format json"));
    QVERIFY(cli.is_object());
    const Chart& chart = page->charts().at(0)->chart();
    int flops_groups = 0;
    for (const json& row : cli["rows"]) {
      const std::string group = row["group"].get<std::string>();
      const Series* s = series(chart, group);
      if (row.contains("best_flops_per_s")) {
        QVERIFY2(s, group.c_str());
        QCOMPARE(s->y.size(), row["points"].get<size_t>());
        const double best = *std::max_element(s->y.begin(), s->y.end());
        QVERIFY2(same(best * 1e12, row["best_flops_per_s"].get<double>()), group.c_str());
        ++flops_groups;
      } else if (s) {
        QVERIFY(s->y.size() <= row["points"].get<size_t>());
      }
    }
    QVERIFY(flops_groups >= 3);  // gemm bf16, gemm fp8, attention

    // The report table holds the CLI's numbers, row by row.
    const Table& rep = page->tables().at(2)->table();
    QCOMPARE(rep.rows.size(), cli["rows"].size());
    for (const json& row : cli["rows"]) {
      const auto* r = row_of(rep, row["group"].get<std::string>());
      QVERIFY(r);
      auto check = [&](const char* col, const char* key) {
        const Cell& c = (*r)[static_cast<size_t>(column(rep, col))];
        if (!row.contains(key) || row[key].is_null()) return !c.is_number();
        return c.as_number() == row[key].get<double>();
      };
      QVERIFY(check("points", "points"));
      QVERIFY(check("measured median (s)", "measured_median_s"));
      QVERIFY(check("default median err", "default_median"));
      QVERIFY(check("default p90 err", "default_p90"));
      QVERIFY(check("calibrated median err", "calibrated_median"));
      QVERIFY(check("calibrated p90 err", "calibrated_p90"));
      QVERIFY(check("held-out median err", "heldout_median"));
      QVERIFY(check("best rate", row.contains("best_flops_per_s") ? "best_flops_per_s" : "best_bytes_per_s"));
    }

    // The lines: the profile's bf16 roofline is hw::gemm_roofline's, with the fitted fraction.
    const auto prof = page->profile();
    QVERIFY(prof);
    const hw::CalibratedProfile fitted = hw::load_profile(profile_.toStdString());
    QCOMPARE(prof->gemm.at("bf16").peak_fraction, fitted.gemm.at("bf16").peak_fraction);
    const hw::GpuSpec& h200 = *ctx->hardware().find_gpu("h200-sxm");
    const Series* line = series(chart, "bf16 profile");
    QVERIFY(line);
    const hw::CalibratedEfficiencyModel model(prof);
    QCOMPARE(line->y.back() * 1e12, hw::gemm_roofline(h200, DType::kBf16, model).peak_flops);
    const Series* sheet = series(chart, "bf16 datasheet");
    QVERIFY(sheet);
    QCOMPARE(sheet->y.back() * 1e12, h200.peak(DType::kBf16));
  }

  void ProvenanceIsTheLibrarys() {
    auto ctx = context();
    auto page = open_db(*ctx);
    const Table& t = page->tables().at(1)->table();
    const auto prof = page->profile();
    QVERIFY(prof);
    const auto lib = hw::efficiency_provenance(*ctx->hardware().find_gpu("h200-sxm"), {}, prof.get());
    QCOMPARE(t.rows.size(), lib.size());
    std::map<std::string, int> origins;
    for (size_t i = 0; i < lib.size(); ++i) {
      QCOMPARE(std::get<std::string>(t.rows[i][0].value), lib[i].applies_to);
      QCOMPARE(std::get<std::string>(t.rows[i][1].value), lib[i].parameter);
      QCOMPARE(t.rows[i][2].as_number(), lib[i].value);
      QCOMPARE(std::get<std::string>(t.rows[i][4].value), hw::to_string(lib[i].origin));
      ++origins[hw::to_string(lib[i].origin)];
    }
    const hw::CalibratedProfile fitted = hw::load_profile(profile_.toStdString());
    auto find = [&](const std::string& applies, const std::string& parameter) -> const std::vector<Cell>& {
      for (const auto& r : t.rows)
        if (std::get<std::string>(r[0].value) == applies && std::get<std::string>(r[1].value) == parameter) return r;
      return t.rows.front();
    };
    QCOMPARE(std::get<std::string>(find("gemm bf16", "compute fraction")[4].value), std::string("fitted"));
    QCOMPARE(find("gemm bf16", "compute fraction")[2].as_number(), fitted.gemm.at("bf16").peak_fraction);
    QCOMPARE(find("gemm bf16", "compute fraction")[5].as_number(), fitted.gemm.at("bf16").quality.heldout_median);
    QCOMPARE(std::get<std::string>(find("every kernel", "launch gap")[4].value), std::string("measured"));
    QCOMPARE(find("every kernel", "launch gap")[2].as_number(), *fitted.launch_gap_s);
    QCOMPARE(std::get<std::string>(find("gemm (every type)", "output tile rows")[4].value), std::string("default"));
    QVERIFY(origins["fitted"] > 0 && origins["measured"] == 1 && origins["default"] > 0 && origins["published"] > 0);

    // The documented defaults chosen instead: nothing fitted or measured is left.
    auto* box = page->findChild<QComboBox*>("profile");
    QVERIFY(box);
    box->setCurrentText("documented defaults");
    QVERIFY(!page->profile());
    for (const auto& r : page->tables().at(1)->table().rows) {
      const std::string o = std::get<std::string>(r[4].value);
      QVERIFY(o == "default" || o == "published");
    }
    // A GPU without the database: H100's bf16 GEMM fraction is its file's published MAMF rate.
    QVERIFY(page->select_gpu("h100-sxm"));
    QCOMPARE(page->command_line(), QString("fathom catalog gpus"));
    QVERIFY(page->points().size() > 0);  // still open, shown for h200-sxm only
    const Table& h100 = page->tables().at(1)->table();
    const auto lib100 = hw::efficiency_provenance(*ctx->hardware().find_gpu("h100-sxm"), {}, nullptr);
    QCOMPARE(h100.rows.size(), lib100.size());
    QCOMPARE(std::get<std::string>(h100.rows[0][0].value), lib100[0].applies_to);
    for (const auto& s : page->charts().at(0)->chart().series) QVERIFY(s.kind == SeriesKind::kLine);
  }

  void ExportsRoundTrip() {
    auto ctx = context();
    auto page = open_db(*ctx);
    // Catalog CSV: every number reads back to the cell's double.
    TableView* catalog = page->tables().at(0);
    const QString csv = dir_.filePath("catalog.csv");
    catalog->export_csv(csv);
    const CsvTable back = CsvTable::load(csv.toStdString());
    const Table& t = catalog->table();
    QCOMPARE(back.rows(), t.rows.size());
    QCOMPARE(back.header().size(), t.columns.size());
    int numbers = 0;
    for (size_t r = 0; r < back.rows(); ++r) {
      const int src = catalog->source_row(static_cast<int>(r));
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const Cell& cell = t.rows[static_cast<size_t>(src)][c];
        if (cell.is_number()) {
          QCOMPARE(back.number(r, c), cell.as_number());
          ++numbers;
        } else if (std::holds_alternative<std::string>(cell.value)) {
          QCOMPARE(back.cell(r, c), std::get<std::string>(cell.value));
        }
      }
    }
    QVERIFY(numbers > 100);
    // The report and provenance tables, and the chart's data.
    for (TableView* v : {page->tables().at(1), page->tables().at(2)}) {
      const QString p = dir_.filePath("t.csv");
      v->export_csv(p);
      QFile f(p);
      QVERIFY(f.open(QIODevice::ReadOnly));
      QCOMPARE(f.readAll().toStdString(), v->table().csv());
    }
    ChartView* roofline = page->charts().at(0);
    roofline->export_csv(dir_.filePath("roofline.csv"));
    QFile f(dir_.filePath("roofline.csv"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll().toStdString(), roofline->chart().csv());
    roofline->export_png(dir_.filePath("roofline.png"), QSize(800, 500));
    QCOMPARE(QImage(dir_.filePath("roofline.png")).size(), QSize(800, 500));
  }

  void TheExampleLoadsAMeasuredOrSyntheticDatabase() {
    auto ctx = context();
    HardwarePage page(*ctx, nullptr);
    page.load_example();
    QTRY_VERIFY_WITH_TIMEOUT(!page.busy(), 30000);
    QCOMPARE(page.error_text(), QString());
    QVERIFY(!page.points().empty());
    QVERIFY(page.profile());
    QVERIFY(page.command_line().startsWith("fathom calib report "));
    const json cli = parse(run(with_bin(page.command_line()) + " --format json"));
    QVERIFY(cli.is_object());
    QCOMPARE(page.tables().at(2)->table().rows.size(), cli["rows"].size());
  }

  void ABadDatabaseIsAMessageOnThePage() {
    auto ctx = context();
    HardwarePage page(*ctx, nullptr);
    const QString bad = dir_.filePath("not_a_db.sqlite");
    {
      std::ofstream f(bad.toStdString());
      f << "this is not SQLite\n";
    }
    page.open_database(bad);
    QTRY_VERIFY_WITH_TIMEOUT(!page.busy(), 10000);
    QVERIFY2(page.error_text().contains("not_a_db.sqlite"), qPrintable(page.error_text()));
    QCOMPARE(page.command_line(), QString("fathom catalog gpus"));
    QVERIFY(!page.open_profile(dir_.filePath("missing.yaml")));
    QVERIFY(page.error_text().contains("missing.yaml"));
  }
};

QTEST_MAIN(HardwarePageTest)
#include "hardware_page_test.moc"
