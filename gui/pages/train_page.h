#pragma once
// The Train page: a training scenario's layout form; on every edit the library's resolution and
// training model (train::TrainModel::evaluate, the call `fathom train SCENARIO` makes) give the
// step-time and memory breakdowns, MFU, tokens/s and the time, GPU-hours, dollars and energy to
// train; the layout search (train::search, `fathom train --search`) runs on a Task, and a picked
// row becomes the scenario. User guide: docs/gui-train.md.
#include <QString>
#include <optional>
#include <string>

#include "gui/pages/page.h"
#include "sim/scenario.h"
#include "sim/train/train.h"

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace fathom::gui {

class FieldForm;
class TrainSearchPanel;

class TrainPage : public Page {
  Q_OBJECT
 public:
  // Shows the built-in example (data/scenarios/llama3.1-70b-train-h100.yaml), no search.
  TrainPage(AppContext& context, QWidget* parent);
  ~TrainPage() override;

  QString title() const override { return "Train"; }
  // `fathom train FILE --set ...`, with `--search --gpus ... --rank ... --top ...` while the
  // search shown is of the scenario on screen.
  QString command_line() const override;
  ScenarioDoc* scenario() override { return &doc_; }
  void open_scenario_file(const QString& path) override;
  void open_scenario_text(const QString& text, const QString& name) override;
  // The example, and a search of it over 64 and 128 GPUs.
  void load_example() override;
  bool busy() const override;
  // Step time, memory per GPU.
  std::vector<ChartView*> charts() const override;
  // Figures, breakdown, search results, rejections.
  std::vector<TableView*> tables() const override;

  FieldForm* form() const { return form_; }
  TrainSearchPanel* search() const { return search_; }
  TableView* figures() const { return figures_; }
  TableView* breakdown() const { return breakdown_; }
  ChartView* step_chart() const { return step_chart_; }
  ChartView* memory_chart() const { return memory_chart_; }
  // The scenario on screen as the library resolved it, and its result; null after an error.
  const sim::ResolvedScenario* resolved() const { return resolved_ ? &*resolved_ : nullptr; }
  const train::TrainResult* result() const { return result_ ? &*result_ : nullptr; }
  // Wall time of the last recompute (resolution, model, evaluation, tables and charts), ms.
  double last_recompute_ms() const { return last_recompute_ms_; }

  // Starts the search of the scenario on screen (the Search button); false when it cannot start.
  bool start_search();
  // Makes row `row` of the search table (best first) the scenario: the search's scenario with
  // that row's layout as --set edits.
  void pick_row(int row);

 signals:
  // The scenario was resolved and evaluated again (after an edit, an open or a picked row), or
  // its error was shown.
  void recomputed();

 private:
  void on_edit(const std::string& path, const std::string& value);
  void recompute();
  void show_results();
  void opened();

  FieldForm* form_;
  QLabel* header_;
  TableView* figures_;
  TableView* breakdown_;
  ChartView* step_chart_;
  ChartView* memory_chart_;
  TrainSearchPanel* search_;
  ScenarioDoc doc_;
  std::optional<sim::ResolvedScenario> resolved_;
  std::optional<train::TrainResult> result_;
  std::string error_;
  double last_recompute_ms_ = 0;
  // The document's version: every edit or open moves it on. The search shown is the scenario on
  // screen while search_generation_ equals it.
  int generation_ = 0;
  int search_generation_ = -1;
  ScenarioDoc search_doc_;    // the document the search ran on (a picked row starts from it)
  std::string search_text_;   // its resolved text
  ScenarioDoc pending_doc_;   // the same of the search running
  std::string pending_text_;
  int pending_generation_ = -1;
  std::string load_error_;    // the file opened last could not be read
};

}  // namespace fathom::gui
