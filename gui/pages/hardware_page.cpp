// The Hardware page (gui/pages/hardware_page.h): layout, the catalog and the user's prices. The
// calibration database, profiles, roofline and provenance are in hardware_calib.cpp; the tables
// and the chart are built in hardware_tables.cpp and hardware_charts.cpp.
#include "gui/pages/hardware_page.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <fmt/format.h>

#include "common/error.h"
#include "gui/app/export.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/hardware_views.h"
#include "gui/table/table_model.h"
#include "plan/plan_report.h"

namespace fathom::gui {

HardwarePage::HardwarePage(AppContext& context, QWidget* parent) : Page(context, parent) {
  task_ = new Task(this);
  auto* layout = new QVBoxLayout(this);

  auto* prices_row = new QWidget(this);
  build_prices_row(prices_row);
  layout->addWidget(prices_row);
  error_ = new QLabel(this);
  error_->setObjectName("error");
  error_->setStyleSheet("color: #c00000");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);

  auto* split = new QSplitter(Qt::Vertical, this);
  layout->addWidget(split, 1);

  // The catalog, and the price editor of the selected GPU under it.
  auto* top = new QWidget(split);
  auto* top_layout = new QVBoxLayout(top);
  top_layout->setContentsMargins(0, 0, 0, 0);
  catalog_ = new TableView(true, top);
  catalog_->setObjectName("catalog");
  top_layout->addWidget(catalog_, 1);
  auto* editor = new QHBoxLayout;
  price_gpu_ = new QLabel(top);
  price_ = new QDoubleSpinBox(top);
  price_->setObjectName("price");
  price_->setRange(0, 100000);
  price_->setDecimals(4);
  price_->setSingleStep(0.1);
  price_->setSpecialValueText("catalog's");
  price_->setSuffix(" $/GPU-hour");
  price_->setKeyboardTracking(false);
  price_->setToolTip("Your $/GPU-hour for the selected GPU, saved at once to the prices file; 0: the catalog's price");
  price_reset_ = new QPushButton("Use the catalog's price", top);
  price_reset_->setObjectName("price_reset");
  editor->addWidget(price_gpu_);
  editor->addWidget(price_);
  editor->addWidget(price_reset_);
  editor->addStretch(1);
  top_layout->addLayout(editor);
  split->addWidget(top);

  // The roofline with its controls, and the provenance and report tables beside it.
  auto* bottom = new QSplitter(Qt::Horizontal, split);
  auto* left = new QWidget(bottom);
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  build_calibration_row(left);
  roofline_ = new ChartView(left);
  roofline_->setObjectName("roofline");
  roofline_->setMinimumHeight(280);
  left_layout->addWidget(roofline_, 1);
  chart_note_ = new QLabel(left);
  chart_note_->setWordWrap(true);
  left_layout->addWidget(chart_note_);
  point_label_ = new QLabel(left);
  point_label_->setObjectName("point");
  point_label_->setWordWrap(true);
  point_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  left_layout->addWidget(point_label_);
  bottom->addWidget(left);
  auto* tabs = new QTabWidget(bottom);
  provenance_ = new TableView(true, tabs);
  provenance_->setObjectName("provenance");
  report_ = new TableView(false, tabs);
  report_->setObjectName("report");
  tabs->addTab(provenance_, "Efficiency provenance");
  tabs->addTab(report_, "Calibration report");
  bottom->addWidget(tabs);
  split->addWidget(bottom);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  bottom->setStretchFactor(0, 3);
  bottom->setStretchFactor(1, 2);
  bottom->setSizes({600, 400});

  connect(catalog_, &TableView::current_row_changed, this, &HardwarePage::on_gpu_changed);
  connect(price_, &QDoubleSpinBox::editingFinished, this, [this] {
    if (!gpu_.empty()) set_price(QString::fromStdString(gpu_), price_->value());
  });
  connect(price_reset_, &QPushButton::clicked, this, [this] {
    if (!gpu_.empty()) set_price(QString::fromStdString(gpu_), 0);
  });
  connect(roofline_, &ChartView::point_clicked, this, [this](int series, int index) {
    if (series < 0 || static_cast<size_t>(series) >= scatter_points_.size()) return;
    const auto& idx = scatter_points_[static_cast<size_t>(series)];
    if (index < 0 || static_cast<size_t>(index) >= idx.size()) return;
    point_label_->setText(QString::fromStdString(hardware::describe_point(points_[idx[static_cast<size_t>(index)]])));
  });
  connect(&context_, &AppContext::hardware_changed, this, [this] {
    show_catalog();
    fill_profiles();
    refresh();
  });

  load_prices();
  show_catalog();
  if (!context_.hardware().gpus().empty()) select_gpu(QString::fromStdString(context_.hardware().gpus().front().name));
}

HardwarePage::~HardwarePage() = default;

void HardwarePage::build_prices_row(QWidget* box) {
  auto* row = new QHBoxLayout(box);
  row->setContentsMargins(0, 0, 0, 0);
  prices_label_ = new QLabel(box);
  prices_label_->setObjectName("prices_file");
  prices_label_->setWordWrap(true);
  prices_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* change = new QPushButton("Prices file…", box);
  change->setToolTip("Choose the file your prices are saved to (an existing one is read)");
  row->addWidget(prices_label_, 1);
  row->addWidget(change);
  connect(change, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Prices file", prices_path(), "YAML (*.yaml *.yml)", nullptr,
                                                      QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty()) use_prices_file(path);
  });
}

QString HardwarePage::prices_path() const {
  const QString set = context_.prices_file();
  return set.isEmpty() ? AppContext::default_prices_file() : set;
}

void HardwarePage::use_prices_file(const QString& path) {
  context_.set_prices_file(path);
  load_prices();
  show_catalog();
  show_price_editor();
}

void HardwarePage::load_prices() {
  prices_.clear();
  extra_prices_.clear();
  prices_ok_ = true;
  error_->hide();
  const QString path = prices_path();
  if (QFileInfo::exists(path)) {
    try {
      const hw::HardwareCatalog& hwc = context_.hardware();
      // As `plan serve --prices` reads it: each GPU takes the first name (in sorted order) that
      // resolves to it; names of no catalog GPU are kept for other catalogs.
      for (const auto& [name, usd] : plan::load_prices(path.toStdString())) {
        const hw::GpuSpec* g = hwc.find_gpu(name);
        if (!g) extra_prices_[name] = usd;
        else if (!prices_.count(g->name)) prices_[g->name] = usd;
      }
    } catch (const std::exception& e) {
      prices_ok_ = false;
      show_error(QString::fromStdString(e.what()) + " — fix the file or choose another one (Prices file…); it is left as it is");
    }
  }
  const QString shown = path.toHtmlEscaped();
  prices_label_->setText(
      QString("<b>Your prices:</b> %1 (%2). <code>fathom plan serve|train|total PLAN.yaml --prices %1</code> ranks by them, "
              "over the plan's <code>prices:</code> and the catalog's. <code>fathom serve|train|estimate</code>, like the Serve and "
              "Train pages, price a scenario at the catalog's $/GPU-hour unless it sets <code>cost.usd_per_gpu_hour</code>.")
          .arg(shown, QFileInfo::exists(path) ? QString("%1 GPUs priced").arg(prices_.size() + extra_prices_.size())
                                              : QString("not written yet: edit a price below")));
  price_->setEnabled(prices_ok_);
  price_reset_->setEnabled(prices_ok_);
}

bool HardwarePage::save_prices() {
  if (!prices_ok_) return false;
  std::map<std::string, double> all = extra_prices_;
  for (const auto& [k, v] : prices_) all[k] = v;
  const QString path = prices_path();
  try {
    if (all.empty()) {
      // load_prices refuses a file without prices: with none left there is no file.
      if (QFileInfo(path).isFile() && !QFile::remove(path)) throw Error(path.toStdString() + ": could not remove the prices file");
    } else {
      QDir().mkpath(QFileInfo(path).absolutePath());
      write_output(path.toStdString(), plan::prices_yaml(all), "prices file");
    }
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
  error_->hide();
  emit context_.status(QString("Prices saved to %1 (fathom plan ... --prices %1)").arg(path));
  return true;
}

bool HardwarePage::set_price(const QString& gpu, double usd) {
  const hw::GpuSpec* g = context_.hardware().find_gpu(gpu.toStdString());
  if (!g) {
    show_error(QString("expected a GPU of the catalog (fathom catalog gpus), found '%1'").arg(gpu));
    return false;
  }
  if (!prices_ok_) return false;
  const std::map<std::string, double> before = prices_;
  if (usd > 0) prices_[g->name] = usd;
  else prices_.erase(g->name);
  if (!save_prices()) {
    prices_ = before;
    return false;
  }
  load_prices();  // what the file now says, as the CLI will read it
  show_catalog();
  show_price_editor();
  return true;
}

void HardwarePage::show_catalog() {
  const std::string keep = gpu_;
  catalog_->set_table(hardware::catalog_table(context_.hardware(), prices_, prices_path().toStdString()));
  if (!keep.empty()) select_gpu(QString::fromStdString(keep));
}

void HardwarePage::show_price_editor() {
  const hw::GpuSpec* g = current_gpu();
  price_->setEnabled(g && prices_ok_);
  price_reset_->setEnabled(g && prices_ok_);
  if (!g) return;
  auto it = prices_.find(g->name);
  const QSignalBlocker block(price_);
  price_->setValue(it == prices_.end() ? 0 : it->second);
  price_gpu_->setText(QString("%1: your price").arg(QString::fromStdString(g->name)));
  price_->setToolTip(QString::fromStdString(fmt::format(
      "Your $/GPU-hour for {}, saved at once to the prices file; 0: the catalog's price ({})", g->name,
      g->usd_per_gpu_hour > 0 ? fmt::format("${:.2f}", g->usd_per_gpu_hour) : std::string("none"))));
}

bool HardwarePage::select_gpu(const QString& name) {
  const hw::GpuSpec* g = context_.hardware().find_gpu(name.toStdString());
  if (!g) return false;
  const auto& gpus = context_.hardware().gpus();
  int row = -1;
  for (size_t i = 0; i < gpus.size(); ++i)
    if (gpus[i].name == g->name) row = static_cast<int>(i);
  QTableView* view = catalog_->view();
  for (int r = 0; r < view->model()->rowCount(); ++r) {
    if (catalog_->source_row(r) == row) {
      view->selectRow(r);
      view->setCurrentIndex(view->model()->index(r, 0));
      break;
    }
  }
  if (gpu_ != g->name) on_gpu_changed(row);  // the row may be hidden by the filter
  return true;
}

QString HardwarePage::selected_gpu() const { return QString::fromStdString(gpu_); }

const hw::GpuSpec* HardwarePage::current_gpu() const {
  if (gpu_.empty()) return nullptr;
  if (database_is_current()) return &db_gpu_;
  return context_.hardware().find_gpu(gpu_);
}

void HardwarePage::on_gpu_changed(int row) {
  const auto& gpus = context_.hardware().gpus();
  if (row < 0 || static_cast<size_t>(row) >= gpus.size()) return;
  if (gpus[static_cast<size_t>(row)].name == gpu_) return;
  gpu_ = gpus[static_cast<size_t>(row)].name;
  point_label_->clear();
  show_price_editor();
  fill_profiles();
  refresh();
  emit changed();
}

void HardwarePage::show_error(const QString& message) {
  error_->setText(message);
  error_->setVisible(!message.isEmpty());
}

QString HardwarePage::error_text() const { return error_->isHidden() ? QString() : error_->text(); }

bool HardwarePage::busy() const { return task_->running(); }

std::vector<ChartView*> HardwarePage::charts() const { return {roofline_}; }

std::vector<TableView*> HardwarePage::tables() const { return {catalog_, provenance_, report_}; }

Page* make_hardware_page(AppContext& context, QWidget* parent) { return new HardwarePage(context, parent); }

}  // namespace fathom::gui
