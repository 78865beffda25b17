#include "gui/pages/plans_panel.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/yaml.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/plans_run.h"
#include "gui/table/table_model.h"
#include "plan/plan_record.h"

namespace fathom::gui {

namespace fs = std::filesystem;

namespace {

// The planner a plan file is written for, by the keys only one planner's files have
// (docs/planning*.md); the user can pick another, and the planner's own parser judges.
QString planner_of(const std::string& path) {
  try {
    const YamlNode root = parse_yaml(read_input_file(path, InputKind::kStructured, "plan file"), path);
    if (!root.is_map()) return {};
    if (root.has("traffic") || root.has("candidates")) return "serve";
    if (root.has("law") || root.has("target") || root.has("inference")) return "total";
    if (root.has("cluster_sizes") || root.has("tokens")) return "train";
  } catch (const Error&) {
    // The planner reports the error with its file and line when the plan runs.
  }
  return {};
}

bool has_key(const std::string& path, const char* key) {
  try {
    const YamlNode root = parse_yaml(read_input_file(path, InputKind::kStructured, "plan file"), path);
    return root.is_map() && root.has(key);
  } catch (const Error&) {
    return false;
  }
}

// What a run shows: the report with its tables and charts, built on the worker thread.
struct Shown {
  plan::PlanReport report;
  std::vector<Table> tables;
  std::vector<PlanChartData> charts;  // in all_plan_charts() order
};

Shown build_shown(plan::PlanReport r) {
  Shown s;
  for (size_t i = 0; i < r.sections.size(); ++i) s.tables.push_back(plan_table(r, i));
  for (PlanChart c : all_plan_charts()) s.charts.push_back(plan_chart(r, c));
  s.report = std::move(r);
  return s;
}

}  // namespace

PlanPanel::PlanPanel(AppContext& context, QWidget* parent) : QWidget(parent), context_(context), task_(new Task(this)) {
  auto* outer = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  outer->addLayout(form);

  file_ = new QComboBox(this);
  file_->setToolTip("The plan YAML (docs/planning.md); the examples are data/plans/*.yaml");
  std::error_code ec;
  std::vector<fs::path> examples;
  for (const auto& e : fs::directory_iterator(context_.data("plans"), ec)) {
    if (e.path().extension() == ".yaml") examples.push_back(e.path());
  }
  std::sort(examples.begin(), examples.end());
  for (const auto& p : examples) file_->addItem(QString::fromStdString(p.filename().string()) + " (example)", QString::fromStdString(p.string()));
  auto* browse = new QPushButton("Browse…", this);
  auto* file_row = new QHBoxLayout;
  file_row->addWidget(file_, 1);
  file_row->addWidget(browse);
  form->addRow("Plan file", file_row);

  planner_ = new QComboBox(this);
  planner_->addItems({"serve", "train", "total"});
  planner_->setToolTip("fathom plan serve | train | total");
  cost_ = new QComboBox(this);
  cost_->addItems({"usd", "flops"});
  cost_->setToolTip("plan total --cost: usd (real prices) or flops (6ND training, 2N per served token)");
  auto* kind_row = new QHBoxLayout;
  kind_row->addWidget(planner_);
  kind_row->addWidget(new QLabel("cost", this));
  kind_row->addWidget(cost_);
  kind_row->addStretch(1);
  form->addRow("Planner", kind_row);

  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1000000);
  seed_->setSpecialValueText("the plan's");
  seed_->setToolTip("plan serve: --set search.seed=N (the workload's seed); 'the plan's' keeps the file's");
  jobs_ = new QSpinBox(this);
  jobs_->setRange(0, 4096);
  jobs_->setSpecialValueText("every core");
  jobs_->setToolTip("-j: threads; the report is the same for any number");
  profile_ = new QComboBox(this);
  profile_->addItems({"catalog GPUs' own", "defaults"});
  profile_->setToolTip("plan serve --profile: each GPU's calibrated profile in the catalog, or the documented defaults");
  auto* run_row = new QHBoxLayout;
  run_row->addWidget(new QLabel("seed", this));
  run_row->addWidget(seed_);
  run_row->addWidget(new QLabel("threads", this));
  run_row->addWidget(jobs_);
  run_row->addWidget(new QLabel("kernel profile", this));
  run_row->addWidget(profile_);
  run_row->addStretch(1);
  form->addRow("Options", run_row);

  prices_ = new QLineEdit(context_.prices_file(), this);
  prices_->setPlaceholderText("catalog prices");
  prices_->setToolTip("--prices: $/GPU-hour by GPU (usd_per_gpu_hour: {h100-sxm: 2.5}); the Hardware page saves it");
  db_ = new QLineEdit(this);
  db_->setPlaceholderText("none");
  db_->setToolTip("--db: store the plan (and plan serve's simulator runs, so a rerun reuses them) in this database");
  form->addRow("Prices file", prices_);
  // The prices file follows the one the Hardware page saves to, until it is edited here.
  connect(prices_, &QLineEdit::textEdited, this, [this] { prices_edited_ = true; });
  form->addRow("Database", db_);

  auto* buttons = new QHBoxLayout;
  run_ = new QPushButton("Run plan", this);
  cancel_ = new QPushButton("Cancel", this);
  cancel_->setEnabled(false);
  auto* open = new QPushButton("Open results…", this);
  open->setToolTip("A report written by fathom plan ... --format json, or a database of stored plans (the latest)");
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  status_ = new QLabel(this);
  buttons->addWidget(run_);
  buttons->addWidget(cancel_);
  buttons->addWidget(open);
  buttons->addWidget(progress_, 1);
  buttons->addWidget(status_, 1);
  outer->addLayout(buttons);
  error_ = new QLabel(this);
  error_->setStyleSheet("color: #b00020");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  outer->addWidget(error_);

  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* left = new QWidget(split);
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  sections_ = new QComboBox(left);
  sections_->setToolTip("The report's sections: the ranked table, the Pareto fronts, the hourly day, what was dropped");
  table_ = new TableView(true, left);
  table_->setToolTip("Double-click a row (or press Enter) to open its scenario in the Serve or Train page");
  notes_ = new QLabel(left);
  notes_->setWordWrap(true);
  notes_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  left_layout->addWidget(sections_);
  left_layout->addWidget(table_, 1);
  left_layout->addWidget(notes_);
  chart_tabs_ = new QTabWidget(split);
  const char* labels[] = {"Ranked", "Cost vs latency", "Throughput vs interactivity", "Hourly"};
  for (size_t i = 0; i < all_plan_charts().size(); ++i) {
    const PlanChart c = all_plan_charts()[i];
    auto* view = new ChartView(chart_tabs_);
    Chart empty;
    empty.empty_text = "run a plan to see its " + to_string(c) + " chart";
    view->set_chart(empty);
    chart_tabs_->addTab(view, labels[i]);
    charts_.emplace_back(c, view);
    connect(view, &ChartView::point_clicked, this, [this, c](int series, int index) { on_chart_click(c, series, index); });
  }
  chart_rows_.resize(charts_.size());
  split->addWidget(left);
  split->addWidget(chart_tabs_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  outer->addWidget(split, 1);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Plan file", QString::fromStdString(context_.data("plans")),
                                                      "Plan YAML (*.yaml *.yml);;All files (*)");
    if (!path.isEmpty()) set_plan_file(path);
  });
  connect(open, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Plan results", {}, "Plan report (*.json *.sqlite *.db);;All files (*)");
    if (!path.isEmpty()) open_results(path);
  });
  connect(file_, &QComboBox::currentIndexChanged, this, [this] {
    const QString kind = planner_of(plan_file().toStdString());
    if (!kind.isEmpty()) set_planner(kind);
    if (kind == "total") set_cost(has_key(plan_file().toStdString(), "usd") ? "usd" : "flops");
    emit changed();
  });
  connect(planner_, &QComboBox::currentTextChanged, this, [this] {
    cost_->setEnabled(planner() == "total");
    seed_->setEnabled(planner() == "serve");
    profile_->setEnabled(planner() == "serve");
    emit changed();
  });
  for (QComboBox* c : {cost_, profile_}) connect(c, &QComboBox::currentIndexChanged, this, &PlanPanel::changed);
  for (QSpinBox* s : {seed_, jobs_}) connect(s, &QSpinBox::valueChanged, this, &PlanPanel::changed);
  for (QLineEdit* e : {prices_, db_}) connect(e, &QLineEdit::textChanged, this, &PlanPanel::changed);
  connect(run_, &QPushButton::clicked, this, [this] { run(); });
  connect(cancel_, &QPushButton::clicked, this, &PlanPanel::cancel);
  connect(sections_, &QComboBox::currentIndexChanged, this, [this](int i) { show_section(i); });
  connect(table_, &TableView::row_activated, this, [this](int row) { open_row(section(), row); });

  connect(task_, &Task::started, this, [this] {
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setValue(0);
    status_->setText("planning…");
  });
  connect(task_, &Task::progress, this, [this](double f, const QString& text) {
    if (f >= 0) progress_->setValue(static_cast<int>(f * 1000));
    status_->setText(text);
  });
  auto done = [this] {
    run_->setEnabled(true);
    cancel_->setEnabled(false);
  };
  connect(task_, &Task::finished, this, [this, done] {
    done();
    progress_->setValue(1000);
    status_->setText(QString("done in %1 s").arg(task_->last_seconds(), 0, 'f', 2));
  });
  connect(task_, &Task::failed, this, [this, done](const QString& message) {
    done();
    status_->setText("failed");
    show_error(message);
  });
  connect(task_, &Task::cancelled, this, [this, done](const QString& message) {
    done();
    status_->setText(QString("cancelled after %1 s: %2").arg(task_->last_seconds(), 0, 'f', 2).arg(message));
  });

  const QString remembered = context_.settings().value("plans/file").toString();
  if (!remembered.isEmpty() && QFileInfo::exists(remembered)) set_plan_file(remembered);
  else if (file_->count() > 0) {
    const int i = file_->findData(QString::fromStdString(context_.data("plans/llama3.1-70b-40rps.yaml")));
    file_->setCurrentIndex(i >= 0 ? i : 0);
    const QString kind = planner_of(plan_file().toStdString());
    if (!kind.isEmpty()) set_planner(kind);
  }
  cost_->setEnabled(planner() == "total");
  seed_->setEnabled(planner() == "serve");
  profile_->setEnabled(planner() == "serve");
}

PlanPanel::~PlanPanel() = default;

void PlanPanel::set_plan_file(const QString& path) {
  const QString abs = QFileInfo(path).absoluteFilePath();
  int i = file_->findData(abs);
  if (i < 0) {
    file_->addItem(abs, abs);
    i = file_->count() - 1;
  }
  if (file_->currentIndex() == i) {  // the same item: the planner follows the file all the same
    const QString kind = planner_of(abs.toStdString());
    if (!kind.isEmpty()) set_planner(kind);
  }
  file_->setCurrentIndex(i);
}

QString PlanPanel::plan_file() const { return file_->currentData().toString(); }
void PlanPanel::set_planner(const QString& kind) { planner_->setCurrentText(kind); }
QString PlanPanel::planner() const { return planner_->currentText(); }
void PlanPanel::set_cost(const QString& cost) { cost_->setCurrentText(cost); }
void PlanPanel::set_seed(int seed) { seed_->setValue(seed); }
void PlanPanel::set_jobs(int jobs) { jobs_->setValue(jobs); }
void PlanPanel::set_prices_file(const QString& path) {
  prices_edited_ = true;
  prices_->setText(path);
}
void PlanPanel::set_profile_defaults(bool defaults) { profile_->setCurrentIndex(defaults ? 1 : 0); }
void PlanPanel::set_database(const QString& path) { db_->setText(path); }
bool PlanPanel::busy() const { return task_->running(); }
void PlanPanel::cancel() { task_->cancel(); }
QString PlanPanel::error_text() const { return error_->isVisible() || !error_->text().isEmpty() ? error_->text() : QString(); }
QString PlanPanel::status_text() const { return status_->text(); }
int PlanPanel::section() const { return sections_->currentIndex(); }

PlanRequest PlanPanel::request() const {
  PlanRequest r;
  r.file = plan_file().toStdString();
  r.kind = planner().toStdString();
  r.cost = cost_->currentText().toStdString();
  r.seed = seed_->value();
  r.jobs = jobs_->value();
  // Until edited here, the prices file is the one the Hardware page saves to (AppContext).
  r.prices_file = (prices_edited_ ? prices_->text().trimmed() : context_.prices_file()).toStdString();
  r.profile_defaults = profile_->currentIndex() == 1;
  r.database = db_->text().trimmed().toStdString();
  return r;
}

QString PlanPanel::command_line() const { return QString::fromStdString(plan_command_line(request())); }

bool PlanPanel::run() {
  if (task_->running()) return false;
  error_->clear();
  error_->hide();
  if (!prices_edited_) prices_->setText(context_.prices_file());
  const PlanRequest request = this->request();
  context_.settings().setValue("plans/file", plan_file());
  // Copies: the worker reads them while the UI may replace the context's (prices edited).
  auto hwc = std::make_shared<const hw::HardwareCatalog>(context_.hardware());
  auto mc = std::make_shared<const model::ModelCatalog>(context_.models());
  return task_->start([this, request, hwc, mc](const std::atomic<bool>& stop, const Task::Progress& report) -> std::function<void()> {
    auto shown = std::make_shared<Shown>(build_shown(run_plan(request, *hwc, *mc, stop, report)));
    return [this, shown] { present(std::move(shown->report), std::move(shown->tables), std::move(shown->charts)); };
  });
}

void PlanPanel::present(plan::PlanReport report, std::vector<Table> tables, std::vector<PlanChartData> charts) {
  report_ = std::move(report);
  tables_ = std::move(tables);
  for (size_t i = 0; i < charts_.size() && i < charts.size(); ++i) {
    charts_[i].second->set_chart(charts[i].chart);
    chart_rows_[i] = std::move(charts[i].rows);
  }
  {
    const QSignalBlocker block(sections_);
    sections_->clear();
    for (const auto& s : report_->sections) {
      sections_->addItem(QString::fromStdString(fmt::format("{} ({} rows) — {}", s.name, s.rows.size(), s.title)));
    }
  }
  std::string notes;
  for (const auto& n : report_->notes) notes += "• " + n + "\n";
  notes_->setText(QString::fromStdString(notes).trimmed());
  show_section(0);
  emit changed();
}

void PlanPanel::show_section(int section) {
  if (!report_ || section < 0 || static_cast<size_t>(section) >= report_->sections.size()) {
    table_->set_table(Table{});
    return;
  }
  if (sections_->currentIndex() != section) {
    const QSignalBlocker block(sections_);
    sections_->setCurrentIndex(section);
  }
  const plan::PlanSection* s = &report_->sections[static_cast<size_t>(section)];
  table_->set_table(tables_[static_cast<size_t>(section)], [s] { return plan::section_csv(*s); });
}

ChartView* PlanPanel::chart(PlanChart c) const {
  for (const auto& [kind, view] : charts_) {
    if (kind == c) return view;
  }
  return nullptr;
}

std::vector<ChartView*> PlanPanel::charts() const {
  std::vector<ChartView*> out;
  for (const auto& [kind, view] : charts_) out.push_back(view);
  return out;
}

std::vector<TableView*> PlanPanel::tables() const { return {table_}; }

void PlanPanel::show_error(const QString& message) {
  error_->setText(message);
  error_->show();
}

bool PlanPanel::open_row(int section, int row) {
  if (!report_ || section < 0 || static_cast<size_t>(section) >= report_->sections.size()) return false;
  const plan::PlanSection& s = report_->sections[static_cast<size_t>(section)];
  if (row < 0 || static_cast<size_t>(row) >= s.rows.size()) return false;
  const plan::PlanRow& r = s.rows[static_cast<size_t>(row)];
  if (r.scenario_text.empty() || (report_->kind != "serve" && report_->kind != "train")) {
    status_->setText(QString::fromStdString(fmt::format("row {} of {} has no scenario to open", row + 1, s.name)));
    return false;
  }
  const QString name = QString::fromStdString(fmt::format("plan {} {}, row {}", report_->name, s.name, row + 1));
  if (report_->kind == "serve") emit context_.open_in_serve(QString::fromStdString(r.scenario_text), name);
  else emit context_.open_in_train(QString::fromStdString(r.scenario_text), name);
  emit context_.status("opened " + name);
  return true;
}

void PlanPanel::on_chart_click(PlanChart c, int series, int index) {
  for (size_t i = 0; i < charts_.size(); ++i) {
    if (charts_[i].first != c) continue;
    const auto& rows = chart_rows_[i];
    if (series < 0 || static_cast<size_t>(series) >= rows.size()) return;
    const auto& refs = rows[static_cast<size_t>(series)];
    if (index < 0 || static_cast<size_t>(index) >= refs.size()) return;
    open_row(refs[static_cast<size_t>(index)].section, refs[static_cast<size_t>(index)].row);
  }
}

bool PlanPanel::open_results(const QString& path, const QString& which) {
  error_->clear();
  error_->hide();
  try {
    plan::PlanReport r = plan::load_plan_report(path.toStdString(), which.toStdString());
    Shown shown = build_shown(std::move(r));
    present(std::move(shown.report), std::move(shown.tables), std::move(shown.charts));
    status_->setText("opened " + path);
    return true;
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
}

}  // namespace fathom::gui
