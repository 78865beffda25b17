#include "gui/pages/sweep_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "gui/app/scenario_doc.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/sweep_charts.h"
#include "gui/table/table_model.h"
#include "plan/sweep_export.h"

namespace fathom::gui {

namespace fs = std::filesystem;

namespace {
const QString kAll = "(all)";
const QString kNone = "(none)";

// Refills a combo box with `items`, keeping its choice when it is still there, else `fallback`.
void refill(QComboBox* box, const QStringList& items, const QString& fallback) {
  const QString keep = box->currentText();
  QStringList now;
  for (int i = 0; i < box->count(); ++i) now << box->itemText(i);
  if (now != items) {
    const QSignalBlocker block(box);
    box->clear();
    box->addItems(items);
  }
  const QString want = items.contains(keep) && !keep.isEmpty() ? keep : fallback;
  const QSignalBlocker block(box);
  box->setCurrentText(want);
}

QStringList to_list(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromStdString(s);
  return out;
}
}  // namespace

SweepPanel::SweepPanel(AppContext& context, QWidget* parent) : QWidget(parent), context_(context), reader_(new Task(this)) {
  auto* outer = new QVBoxLayout(this);
  auto* file_row = new QHBoxLayout;
  path_ = new QLineEdit(this);
  path_->setPlaceholderText("a sweep database (fathom sweep SPEC --db FILE)");
  path_->setToolTip("Opened read-only: nothing in or beside the file changes; it may still be written by fathom sweep");
  auto* browse = new QPushButton("Open…", this);
  refresh_ = new QPushButton("Refresh", this);
  follow_ = new QCheckBox("Follow", this);
  follow_->setToolTip("Read the file again every second (a sweep still running adds a batch about every half second)");
  file_row->addWidget(new QLabel("Database", this));
  file_row->addWidget(path_, 1);
  file_row->addWidget(browse);
  file_row->addWidget(refresh_);
  file_row->addWidget(follow_);
  outer->addLayout(file_row);

  auto* pick = new QHBoxLayout;
  sweeps_ = new QComboBox(this);
  sweeps_->setToolTip("The sweeps the file holds (one per spec)");
  x_ = new QComboBox(this);
  x_->setToolTip("The axis on x (any axis path of the spec)");
  y_ = new QComboBox(this);
  y_->setToolTip("The metric on y (docs/sweeps.md lists each command's metrics)");
  series_ = new QComboBox(this);
  series_->setToolTip("One series per value of this axis");
  logx_ = new QCheckBox("log x", this);
  logy_ = new QCheckBox("log y", this);
  for (auto [label, w] : std::initializer_list<std::pair<const char*, QWidget*>>{
           {"Sweep", sweeps_}, {"x", x_}, {"y", y_}, {"series", series_}}) {
    pick->addWidget(new QLabel(label, this));
    pick->addWidget(w, 1);
  }
  pick->addWidget(logx_);
  pick->addWidget(logy_);
  outer->addLayout(pick);
  auto* filters = new QGroupBox("Other axes: keep the points with", this);
  filters_form_ = new QFormLayout(filters);
  outer->addWidget(filters);

  status_ = new QLabel(this);
  error_ = new QLabel(this);
  error_->setStyleSheet("color: #b00020");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  outer->addWidget(status_);
  outer->addWidget(error_);
  auto* split = new QSplitter(Qt::Vertical, this);
  chart_ = new ChartView(split);
  Chart empty;
  empty.empty_text = "open a sweep database to plot its metrics";
  chart_->set_chart(empty);
  view_ = new TableView(true, split);
  split->addWidget(chart_);
  split->addWidget(view_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  outer->addWidget(split, 1);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, "Sweep database", {}, "Fathom database (*.sqlite *.db);;All files (*)");
    if (!p.isEmpty()) open_database(p);
  });
  connect(path_, &QLineEdit::returnPressed, this, [this] { open_database(database()); });
  connect(refresh_, &QPushButton::clicked, this, &SweepPanel::refresh);
  connect(follow_, &QCheckBox::toggled, this, [this](bool on) { set_follow(on, timer_.interval() > 0 ? timer_.interval() : 1000); });
  connect(&timer_, &QTimer::timeout, this, &SweepPanel::refresh);
  connect(sweeps_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (building_ || i < 0) return;
    which_ = sweeps_->itemData(i).toString().toStdString();
    table_.reset();
    refresh();
  });
  for (QComboBox* box : {x_, y_, series_}) {
    connect(box, &QComboBox::currentTextChanged, this, [this] {
      if (!building_) rebuild_choices();
    });
  }
  for (QCheckBox* box : {logx_, logy_}) connect(box, &QCheckBox::toggled, this, [this] { redraw(); });

  connect(reader_, &Task::failed, this, [this](const QString& message) {
    error_->setText(message);  // the last table stays on screen; Follow tries again
    status_->setText(QString("read failed at %1").arg(QDateTime::currentDateTime().toString("HH:mm:ss")));
  });
  timer_.setInterval(1000);
  const QString remembered = context_.settings().value("sweeps/database").toString();
  if (!remembered.isEmpty()) path_->setText(remembered);
}

SweepPanel::~SweepPanel() = default;

QString SweepPanel::database() const { return path_->text().trimmed(); }
bool SweepPanel::busy() const { return reader_->running(); }
bool SweepPanel::following() const { return timer_.isActive(); }
QString SweepPanel::status_text() const { return status_->text(); }
QString SweepPanel::error_text() const { return error_->text(); }

void SweepPanel::open_database(const QString& path, const QString& sweep) {
  path_->setText(path);
  which_ = sweep.toStdString();
  table_.reset();
  view_->set_table(Table{});
  context_.settings().setValue("sweeps/database", path);
  refresh();
  emit changed();
}

void SweepPanel::set_follow(bool on, int interval_ms) {
  {
    const QSignalBlocker block(follow_);
    follow_->setChecked(on);
  }
  timer_.setInterval(interval_ms);
  if (on) timer_.start();
  else timer_.stop();
}

void SweepPanel::refresh() {
  if (reader_->running() || database().isEmpty()) return;
  const std::string path = database().toStdString();
  const std::string which = which_;
  reader_->start([this, path, which](const std::atomic<bool>&, const Task::Progress&) -> std::function<void()> {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw InputError(path, "expected a sweep database, found no such file (yet)");
    const store::SweepStore db = store::SweepStore::open(path, false);
    auto sweeps = db.sweeps();
    if (sweeps.empty()) throw InputError(path, "expected a database holding a sweep, found none (yet)");
    // Several sweeps and none asked for: the first, and the others in the Sweep box.
    const store::SweepInfo info = which.empty() && sweeps.size() > 1 ? sweeps.front() : plan::pick_sweep(db, which, path);
    auto table = std::make_shared<plan::SweepTable>(plan::read_sweep_table(db, info));
    auto shown = std::make_shared<Table>(sweep_table(*table));  // built here: a large sweep's is not cheap
    return [this, table, shown, sweeps] { show_table(std::move(*table), std::move(*shown), sweeps); };
  });
}

void SweepPanel::show_table(plan::SweepTable t, Table shown, std::vector<store::SweepInfo> sweeps) {
  error_->clear();
  building_ = true;
  {
    const QSignalBlocker block(sweeps_);
    sweeps_->clear();
    for (const auto& s : sweeps) {
      sweeps_->addItem(QString::fromStdString(fmt::format("{} ({}, {} points)", s.name, s.command, s.points)),
                       QString::fromStdString(s.spec_hash));
      if (s.spec_hash == t.sweep.spec_hash) sweeps_->setCurrentIndex(sweeps_->count() - 1);
    }
  }
  building_ = false;
  const bool same = table_ && table_->sweep.spec_hash == t.sweep.spec_hash && table_->rows.size() == t.rows.size();
  table_ = std::move(t);
  if (!same) view_->set_table(std::move(shown), [this] { return plan::sweep_table_csv(*table_); });
  status_->setText(QString::fromStdString(fmt::format("{} of {} points stored in sweep '{}' ({}, spec {}); read at {} in {:.0f} ms",
                                                      table_->rows.size(), table_->sweep.points, table_->sweep.name,
                                                      table_->sweep.command, table_->sweep.spec_hash.substr(0, 12),
                                                      QDateTime::currentDateTime().toString("HH:mm:ss").toStdString(),
                                                      reader_->last_seconds() * 1000)));
  // Every point of the spec is stored: nothing more will come, so following stops.
  if (timer_.isActive() && static_cast<int64_t>(table_->rows.size()) >= table_->sweep.points) {
    set_follow(false);
    status_->setText(status_->text() + "; complete, no longer following");
  }
  rebuild_choices();
  emit refreshed(static_cast<int>(table_->rows.size()));
}

void SweepPanel::rebuild_choices() {
  if (!table_) return;
  building_ = true;
  const QStringList axes = to_list(table_->axes), metrics = to_list(table_->metrics);
  refill(x_, axes, axes.isEmpty() ? QString() : axes.back());  // the last axis varies fastest: a curve
  const QString y_default = metrics.contains("ttft_p99_s") ? "ttft_p99_s" : metrics.isEmpty() ? QString() : metrics.front();
  refill(y_, metrics, y_default);
  QStringList series = {kNone};
  QString series_default = kNone;
  for (const auto& a : axes) {
    series << a;
    if (series_default == kNone && a != x_->currentText()) series_default = a;
  }
  refill(series_, series, series_default);
  if (series_->currentText() == x_->currentText()) {
    const QSignalBlocker block(series_);
    series_->setCurrentText(kNone);
  }
  // One filter per axis; those on x and in the series are not filters.
  for (auto it = filters_.begin(); it != filters_.end();) {
    if (!axes.contains(QString::fromStdString(it->first))) {
      filters_form_->removeRow(it->second);
      it = filters_.erase(it);
    } else {
      ++it;
    }
  }
  for (size_t a = 0; a < table_->axes.size(); ++a) {
    const std::string& axis = table_->axes[a];
    QComboBox*& box = filters_[axis];
    if (box == nullptr) {
      box = new QComboBox(this);
      box->setToolTip(QString::fromStdString("the values of " + axis + " among the stored points"));
      filters_form_->addRow(QString::fromStdString(axis), box);
      connect(box, &QComboBox::currentTextChanged, this, [this] {
        if (!building_) redraw();
      });
    }
    refill(box, QStringList{kAll} + to_list(table_->axis_values[a]), kAll);
    const bool used = QString::fromStdString(axis) == x_->currentText() || QString::fromStdString(axis) == series_->currentText();
    box->setEnabled(!used);
  }
  building_ = false;
  redraw();
}

plan::SweepSelection SweepPanel::selection() const {
  plan::SweepSelection s;
  s.x = x_->currentText().toStdString();
  s.y = y_->currentText().toStdString();
  s.series = series_->currentText() == kNone ? std::string() : series_->currentText().toStdString();
  if (!table_) return s;
  for (const auto& axis : table_->axes) {  // in the spec's order
    const auto it = filters_.find(axis);
    if (it == filters_.end() || axis == s.x || axis == s.series || it->second->currentText() == kAll) continue;
    s.where.emplace_back(axis, it->second->currentText().toStdString());
  }
  return s;
}

void SweepPanel::set_x(const QString& axis) { x_->setCurrentText(axis); }
void SweepPanel::set_y(const QString& metric) { y_->setCurrentText(metric); }
void SweepPanel::set_series(const QString& axis) { series_->setCurrentText(axis.isEmpty() ? kNone : axis); }
void SweepPanel::set_filter(const QString& axis, const QString& value) {
  const auto it = filters_.find(axis.toStdString());
  if (it != filters_.end()) it->second->setCurrentText(value.isEmpty() ? kAll : value);
}
void SweepPanel::set_log(bool x, bool y) {
  logx_->setChecked(x);
  logy_->setChecked(y);
}

void SweepPanel::redraw() {
  if (!table_) return;
  const plan::SweepSelection s = selection();
  Chart c;
  if (s.x.empty() || s.y.empty()) {
    c.empty_text = table_->rows.empty() ? "no point stored yet" : "pick an axis and a metric";
  } else {
    try {
      c = sweep_chart(*table_, s, plan::select_sweep(*table_, s), logx_->isChecked(), logy_->isChecked());
    } catch (const Error& e) {
      c.empty_text = e.what();
    }
  }
  chart_->set_chart(c);
  emit changed();
}

QString SweepPanel::command_line() const {
  if (database().isEmpty()) return {};
  const plan::SweepSelection s = selection();
  std::string line = "fathom-plot sweep " + shell_quote(database().toStdString());
  if (sweeps_->count() > 1 && table_) line += " --sweep " + shell_quote(table_->sweep.name);
  line += " --x " + shell_quote(s.x) + " --y " + shell_quote(s.y);
  if (!s.series.empty()) line += " --series " + shell_quote(s.series);
  for (const auto& [axis, value] : s.where) line += " --where " + shell_quote(axis + "=" + value);
  if (logx_->isChecked()) line += " --logx 1";
  if (logy_->isChecked()) line += " --logy 1";
  line += " --out sweep.png";
  return QString::fromStdString(line);
}

}  // namespace fathom::gui
