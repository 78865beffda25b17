#pragma once
// The Train page's configuration search: the GPU counts, ranking and table size of
// `fathom train --search`, train::search run on a Task (progress, Cancel within a second), and
// the ranked layouts and rejection counts as tables. Presentation only: the page gives it the
// resolved scenario and decides what a picked row does.
#include <QWidget>
#include <memory>
#include <string>
#include <vector>

#include "gui/app/task.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
QT_END_NAMESPACE

namespace fathom::gui {

class TableView;

class TrainSearchPanel : public QWidget {
  Q_OBJECT
 public:
  explicit TrainSearchPanel(QWidget* parent = nullptr);

  // Starts train::search over `s`'s training configuration with the panel's GPU counts (empty:
  // train.gpus), ranking and size. False, with the error under the GPU counts, when they are not
  // valid for the scenario's hardware or a search is running. `command` is the line that
  // reproduces the search (shown above the results).
  bool start(const sim::Scenario& s, const std::string& command);
  void cancel();
  bool running() const { return task_.running(); }
  Task& task() { return task_; }

  // The last finished search, or null; its scenario and its flags (--search --gpus ... --rank
  // ... --top ...), the words `fathom train` needs to run it again.
  const train::SearchResult* result() const { return result_.get(); }
  const sim::Scenario* scenario() const { return result_ ? &scenario_ : nullptr; }
  std::vector<std::string> flags() const { return flags_; }
  // The flags the controls give now (for the next search).
  std::vector<std::string> pending_flags(const sim::Scenario& s) const;

  // Forgets the results (a new scenario was opened); a running search is cancelled.
  void clear();
  // Notes under the results that the scenario on screen is no longer the one searched.
  void set_stale(bool stale);
  // Shows a problem on the panel (the scenario does not resolve).
  void show_error(const QString& message);
  QString error_text() const;
  QString status_text() const;

  QLineEdit* gpus_edit() const { return gpus_; }
  QComboBox* rank_box() const { return rank_; }
  QSpinBox* top_box() const { return top_; }
  QPushButton* search_button() const { return search_; }
  QPushButton* cancel_button() const { return cancel_; }
  TableView* table() const { return table_; }
  TableView* rejections() const { return rejections_; }

 signals:
  // The Search button (or Ctrl+R): the page starts the search with its scenario.
  void search_requested();
  // A search's results are shown.
  void finished();
  // A row of result()->top was activated (double-click, Enter).
  void row_picked(int row);

 private:
  void show_result();
  void set_running(bool running);

  Task task_;
  QLineEdit* gpus_;
  QComboBox* rank_;
  QSpinBox* top_;
  QPushButton* search_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QLabel* error_;
  QLabel* command_;
  TableView* table_;
  TableView* rejections_;
  std::shared_ptr<const train::SearchResult> result_;
  sim::Scenario scenario_;
  std::vector<std::string> flags_;
  QString command_text_;  // "Searched: fathom train ..."
  train::RankBy rank_by_ = train::RankBy::kTime;
  int run_ = 0;  // the search whose results may still be shown (clear() moves on)
};

}  // namespace fathom::gui
