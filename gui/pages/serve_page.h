#pragma once
// The Serve page (docs/gui-serve.md): a scenario form, a live analytic panel recomputed on every
// edit (serve::analyze_serving, on the UI thread: a resolve and a few sim::estimate calls), and
// Simulate, which runs serve::simulate on a Task with progress and Cancel and shows the
// percentiles with their intervals, the latency CDFs, throughput against interactivity, the
// queue and KV cache over time and the saturation verdict.
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "gui/pages/page.h"
#include "gui/pages/serve_charts.h"
#include "sim/serve/analytic.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTabWidget;
QT_END_NAMESPACE

namespace fathom::gui {

class FieldForm;
class Task;

class ServePage : public Page {
  Q_OBJECT
 public:
  ServePage(AppContext& context, QWidget* parent);
  ~ServePage() override;

  QString title() const override { return "Serve"; }
  // `fathom serve FILE --set PATH=VALUE ...` for the scenario on screen.
  QString command_line() const override;
  ScenarioDoc* scenario() override { return &doc_; }
  void open_scenario_file(const QString& path) override;
  void open_scenario_text(const QString& text, const QString& name) override;
  // The built-in example (data/scenarios/llama3.1-8b-serve-h100.yaml), simulated.
  void load_example() override;
  bool busy() const override;
  // Memory, roofline, CDF, percentiles, throughput against interactivity, queue, KV cache.
  std::vector<ChartView*> charts() const override;
  // The analytic panel, the percentile table, the throughput table.
  std::vector<TableView*> tables() const override;

  // What tests and the benchmark read.
  FieldForm* form() const { return form_; }
  const serve::ServeAnalysis* analysis() const { return analysis_ ? &*analysis_ : nullptr; }
  const ServeRun* run() const { return run_.get(); }
  double last_recompute_ms() const { return last_recompute_ms_; }
  QString verdict() const;
  QString status_text() const;
  QString slo_stat() const;
  void set_slo_stat(const QString& stat);
  // The `fathom estimate ...` line that prices the analytic panel's iteration.
  QString estimate_command() const;

 public slots:
  void simulate();
  void cancel();

 signals:
  // After every live recompute (the scenario resolved or not), with its time in milliseconds.
  void recomputed(double ms);
  // Simulate's results are on screen, every chart drawn.
  void simulation_finished();
  // Simulate stopped: cancelled, or the library's error.
  void simulation_stopped(const QString& why);

 private:
  void build();
  void on_edited(const std::string& path, const std::string& value);
  void recompute();
  void show_analysis();
  // The tables and verdict now, the charts one per event-loop turn; `announce`: emit
  // simulation_finished once the last chart is drawn.
  void show_results(bool announce = false);
  void show_interactivity();
  void clear_results();
  void reset_to(const std::function<void()>& load);

  ScenarioDoc doc_;
  FieldForm* form_ = nullptr;
  QComboBox* stat_ = nullptr;
  QPushButton* simulate_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* binding_ = nullptr;
  QLabel* verdict_ = nullptr;
  QLabel* stale_ = nullptr;
  QTabWidget* right_ = nullptr;
  TableView* analytic_ = nullptr;
  TableView* percentiles_ = nullptr;
  TableView* throughput_ = nullptr;
  ChartView* memory_ = nullptr;
  ChartView* roofline_ = nullptr;
  ChartView* cdf_ = nullptr;
  ChartView* pct_chart_ = nullptr;
  ChartView* interactivity_ = nullptr;
  ChartView* queue_ = nullptr;
  ChartView* kv_ = nullptr;
  Task* task_ = nullptr;

  std::optional<sim::ResolvedScenario> resolved_;
  std::optional<serve::ServeAnalysis> analysis_;
  std::vector<serve::FrontierPoint> frontier_;
  std::shared_ptr<const ServeRun> run_;
  bool stale_run_ = false;
  int results_generation_ = 0;
  double last_recompute_ms_ = 0;
};

}  // namespace fathom::gui
