#include "gui/pages/train_search.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <fmt/format.h>
#include <sstream>

#include "gui/pages/train_views.h"
#include "gui/table/table_model.h"

namespace fathom::gui {

TrainSearchPanel::TrainSearchPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* controls = new QHBoxLayout;
  auto* title = new QLabel("<b>Layout search</b>", this);
  controls->addWidget(title);
  gpus_ = new QLineEdit(this);
  gpus_->setPlaceholderText("train.gpus");
  gpus_->setToolTip("GPU counts to search (--gpus): 64, a range 64-512 (every multiple of the node size) or a list "
                    "64,128; empty: the scenario's train.gpus");
  gpus_->setObjectName("search.gpus");
  auto* gpus_label = new QLabel("&GPUs", this);
  gpus_label->setBuddy(gpus_);
  controls->addWidget(gpus_label);
  controls->addWidget(gpus_, 1);
  rank_ = new QComboBox(this);
  rank_->addItems({"time", "cost", "mfu"});
  rank_->setToolTip("rank by (--rank): time = seconds per token, cost = GPU-seconds per token, mfu = highest MFU");
  auto* rank_label = new QLabel("&Rank by", this);
  rank_label->setBuddy(rank_);
  controls->addWidget(rank_label);
  controls->addWidget(rank_);
  top_ = new QSpinBox(this);
  top_->setRange(1, 100000);
  top_->setValue(50);
  top_->setToolTip("configurations kept in the table, best first (--top)");
  auto* top_label = new QLabel("&Top", this);
  top_label->setBuddy(top_);
  controls->addWidget(top_label);
  controls->addWidget(top_);
  search_ = new QPushButton("&Search", this);
  search_->setShortcut(QKeySequence("Ctrl+R"));
  search_->setToolTip("run train::search on a worker thread (Ctrl+R), as fathom train --search");
  cancel_ = new QPushButton("Cancel", this);
  cancel_->setShortcut(QKeySequence(Qt::Key_Escape));
  cancel_->setEnabled(false);
  controls->addWidget(search_);
  controls->addWidget(cancel_);
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  progress_->setTextVisible(false);
  progress_->setMaximumWidth(160);
  controls->addWidget(progress_);
  layout->addLayout(controls);

  error_ = new QLabel(this);
  error_->setStyleSheet("color: #b00020;");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);
  status_ = new QLabel("Search every layout, microbatch, recomputation and ZeRO stage on the GPU counts; "
                       "double-click a row (or Enter) to make it the scenario.",
                       this);
  status_->setWordWrap(true);
  layout->addWidget(status_);
  command_ = new QLabel(this);
  command_->setStyleSheet("color: #555;");
  command_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  command_->setWordWrap(true);
  layout->addWidget(command_);

  auto* split = new QSplitter(Qt::Horizontal, this);
  table_ = new TableView(true, split);
  rejections_ = new TableView(false, split);
  split->addWidget(table_);
  split->addWidget(rejections_);
  split->setStretchFactor(0, 4);
  split->setStretchFactor(1, 1);
  layout->addWidget(split, 1);

  connect(search_, &QPushButton::clicked, this, &TrainSearchPanel::search_requested);
  connect(gpus_, &QLineEdit::returnPressed, this, &TrainSearchPanel::search_requested);
  connect(cancel_, &QPushButton::clicked, this, &TrainSearchPanel::cancel);
  connect(&task_, &Task::progress, this, [this](double fraction, const QString& text) {
    progress_->setValue(static_cast<int>(1000 * std::clamp(fraction, 0.0, 1.0)));
    status_->setText("Searching: " + text + " (Cancel: Esc)");
  });
  connect(&task_, &Task::finished, this, [this] { set_running(false); });
  connect(&task_, &Task::cancelled, this, [this](const QString& message) {
    set_running(false);
    status_->setText(message + (result_ ? "; the table holds the previous search" : ""));
  });
  connect(&task_, &Task::failed, this, [this](const QString& message) {
    set_running(false);
    show_error(message);
  });
  connect(table_, &TableView::row_activated, this, [this](int row) {
    if (result_ && row >= 0 && static_cast<size_t>(row) < result_->top.size()) emit row_picked(row);
  });
}

std::vector<std::string> TrainSearchPanel::pending_flags(const sim::Scenario& s) const {
  std::string gpus = gpus_->text().trimmed().toStdString();
  if (gpus.empty() && s.train) gpus = std::to_string(s.train->gpus);
  return {"--search", "--gpus", gpus, "--rank", rank_->currentText().toStdString(), "--top", std::to_string(top_->value())};
}

bool TrainSearchPanel::start(const sim::Scenario& s, const std::string& command) {
  error_->hide();
  if (task_.running()) return false;
  if (!s.train) {
    show_error("expected a 'train' section in the scenario, found none");
    return false;
  }
  train::SearchOptions o;
  const std::string text = gpus_->text().trimmed().toStdString();
  try {
    o.gpu_counts = text.empty() ? std::vector<int64_t>{s.train->gpus} : train::parse_gpu_counts(text, s.cluster, "GPUs");
    o.rank_by = train::parse_rank_by(rank_->currentText().toStdString());
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
  o.top = static_cast<size_t>(top_->value());
  const std::vector<std::string> flags = pending_flags(s);
  const int run = ++run_;
  set_running(true);
  status_->setText("Searching…");
  task_.start([this, s, o, flags, command, run](const std::atomic<bool>& cancel, const Task::Progress& report) {
    const train::TrainModel model(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo,
                                  s.usd_per_gpu_hour, s.profile);
    train::SearchOptions options = o;
    options.cancel = &cancel;
    options.on_progress = [&report](int64_t done, int64_t total) {
      report(total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0,
             fmt::format("{} of {} candidate configurations", done, total));
    };
    auto res = std::make_shared<const train::SearchResult>(train::search(model, *s.train, options, s.train->tokens));
    return std::function<void()>([this, s, o, flags, command, run, res] {
      if (run != run_) return;
      result_ = res;
      scenario_ = s;
      flags_ = flags;
      rank_by_ = o.rank_by;
      command_text_ = QString::fromStdString("Searched: " + command);
      command_->setText(command_text_);
      show_result();
      emit finished();
    });
  });
  return true;
}

void TrainSearchPanel::show_result() {
  const auto res = result_;
  table_->set_table(training::search_table(scenario_, *res, rank_by_), [res] {
    std::ostringstream os;
    train::write_search_csv(os, *res);
    return os.str();
  });
  rejections_->set_table(training::rejections_table(*res));
  status_->setText(QString::fromStdString(fmt::format("{} in {:.2f} s{}", training::search_summary(*res), task_.last_seconds(),
                                                      res->top.empty() ? "; no configuration fits" : "")));
  progress_->setValue(1000);
}

void TrainSearchPanel::cancel() { task_.cancel(); }

void TrainSearchPanel::set_running(bool running) {
  search_->setEnabled(!running);
  cancel_->setEnabled(running);
  if (running) progress_->setValue(0);
}

void TrainSearchPanel::clear() {
  ++run_;
  task_.cancel();
  result_.reset();
  flags_.clear();
  command_text_.clear();
  table_->set_table({});
  rejections_->set_table({});
  command_->clear();
  error_->hide();
  progress_->setValue(0);
}

void TrainSearchPanel::set_stale(bool stale) {
  if (!result_) return;
  command_->setText(stale ? command_text_ + " (the scenario has changed since; a picked row starts from the searched one)"
                          : command_text_);
}

void TrainSearchPanel::show_error(const QString& message) {
  error_->setText(message);
  error_->show();
}

QString TrainSearchPanel::error_text() const { return error_->isHidden() ? QString() : error_->text(); }

QString TrainSearchPanel::status_text() const { return status_->text(); }

}  // namespace fathom::gui
