#pragma once
// The Plans half of the Plans & sweeps page (docs/gui-plans.md): a plan file, the planner
// (`fathom plan serve|train|total`) and the options the CLI has, run on a Task with the
// planner's progress and cancellation; the report's sections as tables (CSV: plan::section_csv,
// the bytes of `fathom plan ... --format csv`), its charts, and a row or a Pareto point opened
// as its scenario in the Serve or Train page.
#include <QString>
#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/pages/plan_charts.h"
#include "gui/pages/plans_run.h"
#include "gui/table/table.h"
#include "plan/plan_report.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
QT_END_NAMESPACE

namespace fathom::gui {

class ChartView;
class TableView;
class Task;

class PlanPanel : public QWidget {
  Q_OBJECT
 public:
  PlanPanel(AppContext& context, QWidget* parent);
  ~PlanPanel() override;

  // The inputs, as the CLI's: the plan file, planner (serve, train, total), --cost (usd, flops),
  // --set search.seed=N (serve; 0: the plan's), -j, --prices, --profile defaults (serve), --db.
  void set_plan_file(const QString& path);  // also picks the planner the file is written for
  QString plan_file() const;
  void set_planner(const QString& kind);
  QString planner() const;
  void set_cost(const QString& cost);
  void set_seed(int seed);
  void set_jobs(int jobs);
  void set_prices_file(const QString& path);
  void set_profile_defaults(bool defaults);
  void set_database(const QString& path);

  // `fathom plan KIND FILE [--set search.seed=N] [--cost C] [-j N] [--prices F] [--profile defaults] [--db F]`.
  QString command_line() const;
  // Starts the planner on a Task (false when one is running); cancel() stops it within a second.
  bool run();
  void cancel();
  bool busy() const;
  Task* task() const { return task_; }

  // Shows a stored or exported report (a `fathom plan ... --format json` file, or a database and
  // a plan id or name; "" the latest). Errors show on the panel; false then.
  bool open_results(const QString& path, const QString& plan = {});

  // The report shown (null before the first run), and its views.
  const plan::PlanReport* report() const { return report_ ? &*report_ : nullptr; }
  TableView* table() const { return table_; }
  int section() const;  // the section the table shows
  void show_section(int section);
  ChartView* chart(PlanChart c) const;
  std::vector<ChartView*> charts() const;
  std::vector<TableView*> tables() const;
  QString error_text() const;
  QString status_text() const;

  // Opens a row's scenario in the Serve page (serve plans) or the Train page (train plans);
  // false, with the reason on the panel, when the row has no scenario.
  bool open_row(int section, int row);

 signals:
  void changed();

 private:
  // Shows a report with its tables (one per section) and charts (in all_plan_charts() order).
  void present(plan::PlanReport report, std::vector<Table> tables, std::vector<PlanChartData> charts);
  void show_error(const QString& message);
  PlanRequest request() const;
  void on_chart_click(PlanChart c, int series, int index);

  AppContext& context_;
  Task* task_;
  QComboBox* file_;
  QComboBox* planner_;
  QComboBox* cost_;
  QSpinBox* seed_;
  QSpinBox* jobs_;
  QLineEdit* prices_;
  QComboBox* profile_;
  QLineEdit* db_;
  QPushButton* run_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QLabel* error_;
  QComboBox* sections_;
  TableView* table_;
  QLabel* notes_;
  QTabWidget* chart_tabs_;
  std::vector<std::pair<PlanChart, ChartView*>> charts_;
  std::vector<std::vector<std::vector<PlanRowRef>>> chart_rows_;  // by chart, series, point
  std::optional<plan::PlanReport> report_;
  std::vector<Table> tables_;
  bool prices_edited_ = false;
};

}  // namespace fathom::gui
