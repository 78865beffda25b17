// The Train page (gui/pages/train_page.h): layout, the live recompute and the link between the
// form, the search and the scenario. The form's fields are in train_form.cpp, the search panel in
// train_search.cpp, the tables and charts in train_tables.cpp and train_charts.cpp.
#include "gui/pages/train_page.h"

#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <fmt/format.h>
#include <stdexcept>
#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "gui/app/field_form.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/train_form.h"
#include "gui/pages/train_search.h"
#include "gui/pages/train_views.h"
#include "gui/table/table_model.h"

namespace fathom::gui {

namespace {
const char* const kExample = "scenarios/llama3.1-70b-train-h100.yaml";
}

TrainPage::TrainPage(AppContext& context, QWidget* parent) : Page(context, parent) {
  auto* layout = new QHBoxLayout(this);
  form_ = new FieldForm(this);
  training::build_form(*form_, context_);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(form_);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(340);
  scroll->setMaximumWidth(420);
  layout->addWidget(scroll);

  auto* split = new QSplitter(Qt::Vertical, this);
  layout->addWidget(split, 1);
  auto* results = new QWidget(split);
  auto* rl = new QVBoxLayout(results);
  rl->setContentsMargins(0, 0, 0, 0);
  header_ = new QLabel(results);
  header_->setWordWrap(true);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  rl->addWidget(header_);
  auto* row = new QHBoxLayout;
  auto* tabs = new QTabWidget(results);
  figures_ = new TableView(false, tabs);
  figures_->setObjectName("figures");
  breakdown_ = new TableView(true, tabs);
  breakdown_->setObjectName("breakdown");
  tabs->addTab(figures_, "Figures");
  tabs->addTab(breakdown_, "Breakdown");
  row->addWidget(tabs, 3);
  step_chart_ = new ChartView(results);
  memory_chart_ = new ChartView(results);
  row->addWidget(step_chart_, 3);
  row->addWidget(memory_chart_, 3);
  rl->addLayout(row, 1);
  split->addWidget(results);
  search_ = new TrainSearchPanel(split);
  split->addWidget(search_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  connect(form_, &FieldForm::edited, this, &TrainPage::on_edit);
  connect(search_, &TrainSearchPanel::search_requested, this, [this] { start_search(); });
  connect(search_, &TrainSearchPanel::row_picked, this, &TrainPage::pick_row);
  connect(search_, &TrainSearchPanel::finished, this, [this] {
    search_doc_ = pending_doc_;
    search_text_ = pending_text_;
    search_generation_ = pending_generation_;
    search_->set_stale(search_generation_ != generation_);
    if (search_->result()) {
      emit context_.status(QString::fromStdString("Train search: " + training::search_summary(*search_->result())));
    }
    emit changed();
  });
  connect(&search_->task(), &Task::cancelled, this, [this] { emit changed(); });
  connect(&context_, &AppContext::open_in_train, this, &TrainPage::open_scenario_text);
  connect(&context_, &AppContext::hardware_changed, this, [this] { recompute(); });

  try {
    doc_.load_file(context_.data(kExample));
  } catch (const std::exception& e) {
    doc_.load_text("", kExample);
  }
  opened();
}

TrainPage::~TrainPage() = default;

void TrainPage::open_scenario_file(const QString& path) {
  try {
    doc_.load_file(path.toStdString());
  } catch (const std::exception& e) {
    // The page keeps the file's name so that Copy as command names it, and shows why it failed.
    doc_.load_text("", path.toStdString());
    opened();
    load_error_ = e.what();
    recompute();
    return;
  }
  opened();
}

void TrainPage::open_scenario_text(const QString& text, const QString& name) {
  doc_.load_text(text.toStdString(), name.toStdString());
  opened();
}

void TrainPage::opened() {
  load_error_.clear();
  ++generation_;
  search_->clear();
  search_->gpus_edit()->clear();
  recompute();
}

void TrainPage::load_example() {
  doc_.load_file(context_.data(kExample));
  opened();
  search_->gpus_edit()->setText("64,128");
  start_search();
}

bool TrainPage::busy() const { return search_->running(); }

std::vector<ChartView*> TrainPage::charts() const { return {step_chart_, memory_chart_}; }

std::vector<TableView*> TrainPage::tables() const { return {figures_, breakdown_, search_->table(), search_->rejections()}; }

QString TrainPage::command_line() const {
  if (search_->result() && search_generation_ == generation_) {
    return QString::fromStdString(doc_.command_line("train", search_->flags()));
  }
  return QString::fromStdString(doc_.command_line("train"));
}

void TrainPage::on_edit(const std::string& path, const std::string& value) {
  YAML::Node root;
  if (resolved_) root = YAML::Load(resolved_->text);
  for (const auto& [p, v] : training::edits_for(*form_, path, value, root)) doc_.set(p, v);
  ++generation_;
  recompute();
}

void TrainPage::recompute() {
  QElapsedTimer clock;
  clock.start();
  form_->clear_errors();
  resolved_.reset();
  result_.reset();
  error_.clear();
  try {
    if (!load_error_.empty()) throw std::runtime_error(load_error_);
    resolved_ = doc_.resolve(context_.hardware(), context_.models());
    const sim::Scenario& s = resolved_->scenario;
    if (!s.train) throw ConfigError(doc_.name(), "expected a 'train' section for the Train page, found none");
    const train::TrainModel model(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo,
                                  s.usd_per_gpu_hour, s.profile);
    result_ = model.evaluate(*s.train, s.train->tokens);
    training::fill_form(*form_, *resolved_);
    if (!result_->feasible()) {
      // Memory over the GPU's: the numbers are still shown (the chart has the parts), the error
      // is named as `fathom train` names it.
      const std::string field = "train." + result_->infeasible->field;
      form_->show_error(form_->has_field(field) ? FieldError{field, result_->infeasible->reason}
                                                : FieldError{"", "'" + field + "': " + result_->infeasible->reason});
    }
  } catch (const std::exception& e) {
    if (!result_) resolved_.reset();
    error_ = e.what();
    form_->show_error(ScenarioDoc::locate(error_));
  }
  show_results();
  search_->set_stale(search_generation_ != generation_);
  last_recompute_ms_ = static_cast<double>(clock.nsecsElapsed()) * 1e-6;
  emit recomputed();
  emit changed();
}

void TrainPage::show_results() {
  const train::TrainResult* r = result();
  if (r == nullptr) {
    const std::string why = error_.empty() ? "no result" : "The scenario has an error (see the form): no result";
    header_->setText(QString::fromStdString(why));
    header_->setToolTip(QString::fromStdString(error_));
    figures_->set_table({});
    breakdown_->set_table({});
    step_chart_->set_chart(training::step_time_chart(nullptr, why));
    memory_chart_->set_chart(training::memory_chart(nullptr, why));
    return;
  }
  const sim::Scenario& s = resolved_->scenario;
  const auto& c = r->config;
  header_->setText(QString::fromStdString(
      fmt::format("<b>{}</b> — {} on {} GPUs of {} ({}); {}; seq {}, global batch {}, microbatch {} × {}; recompute {}; "
                  "ZeRO {}{}",
                  s.name, s.model.name, c.gpus(), s.gpu.name, s.cluster.name, train::layout_label(c), c.seq_len,
                  c.global_batch, c.microbatch, c.microbatches(), train::recompute_label(c), c.zero,
                  r->feasible() ? "" : " — <span style='color:#b00020'>does not fit in memory</span>")));
  header_->setToolTip(QString::fromStdString(training::priced_by(s) + "\nscenario SHA-256 " + resolved_->hash));
  figures_->set_table(training::figures_table(s, *r));
  breakdown_->set_table(training::breakdown_table(s, *r));
  step_chart_->set_chart(training::step_time_chart(r, {}));
  memory_chart_->set_chart(training::memory_chart(r, {}));
}

bool TrainPage::start_search() {
  if (!resolved_ || !resolved_->scenario.train) {
    search_->show_error("The scenario has an error (see the form); fix it to search.");
    return false;
  }
  const ScenarioDoc doc = doc_;
  const std::string command = doc.command_line("train", search_->pending_flags(resolved_->scenario));
  if (!search_->start(resolved_->scenario, command)) return false;
  pending_doc_ = doc;
  pending_text_ = resolved_->text;
  pending_generation_ = generation_;
  return true;
}

void TrainPage::pick_row(int row) {
  const train::SearchResult* res = search_->result();
  const sim::Scenario* searched = search_->scenario();
  if (!res || !searched || !searched->train || row < 0 || static_cast<size_t>(row) >= res->top.size()) return;
  const train::TrainConfig config = res->top[static_cast<size_t>(row)].config;
  doc_ = search_doc_;
  const YAML::Node root = YAML::Load(search_text_);
  for (const auto& o : sim::train_layout_overrides(*searched->train, config)) {
    for (const auto& [p, v] : training::edits_for(*form_, o.path, o.value, root)) doc_.set(p, v);
  }
  ++generation_;
  recompute();
  emit context_.status(QString::fromStdString("Train: row " + std::to_string(row + 1) + " (" +
                                              train::layout_label(config) + ") is the scenario"));
}

Page* make_train_page(AppContext& context, QWidget* parent) { return new TrainPage(context, parent); }

}  // namespace fathom::gui
