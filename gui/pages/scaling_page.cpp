// The Scaling laws page (docs/gui-scaling.md): a CSV and a law (or a formula) prepared by the
// library as `fathom fit` prepares them (fit::prepare_fit), the fit and its bootstrap on a Task
// with progress and Cancel (fit::FitControl, fit::BootstrapControl), and the results: parameters
// with their intervals, goodness of fit, the points with the fitted curves and bands, residuals,
// and the compute-optimal frontier with its iso-FLOP curves (fit::optimal_allocation).
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>
#include <chrono>
#include <fmt/format.h>
#include <memory>

#include "common/error.h"
#include "fit/fitter.h"
#include "fit/problem.h"
#include "fit/result.h"
#include "gui/app/cpu_state.h"
#include "gui/app/scenario_doc.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/page.h"
#include "gui/pages/scaling_charts.h"
#include "gui/pages/scaling_form.h"
#include "gui/table/table_model.h"

namespace fathom::gui {
namespace {

// A finished fit: the problem it ran on and what the library returned.
struct Outcome {
  fit::FitSpec spec;
  fit::FitProblem problem;
  fit::FitRecord record;
  double fit_s = 0, bootstrap_s = 0;
};

class ScalingPage : public Page {
 public:
  ScalingPage(AppContext& c, QWidget* parent);
  QString title() const override { return "Scaling laws"; }
  QString command_line() const override;
  void load_example() override;
  bool busy() const override { return task_->running(); }
  std::vector<ChartView*> charts() const override { return {fit_view_, residual_view_, frontier_view_}; }
  std::vector<TableView*> tables() const override { return {parameters_, metrics_, optima_}; }

 private:
  void on_edited(const std::string& field);
  void validate();
  void redraw();
  void start_fit();
  void set_running(bool running);

  ScalingForm* form_;
  Task* task_;
  QPushButton* fit_button_;
  QPushButton* cancel_button_;
  QProgressBar* progress_;
  QLabel* status_;
  ChartView* fit_view_;
  ChartView* residual_view_;
  ChartView* frontier_view_;
  TableView* parameters_;
  TableView* metrics_;
  TableView* optima_;
  std::shared_ptr<const fit::FitProblem> problem_;  // the form's inputs, prepared (null: an error)
  std::shared_ptr<const Outcome> outcome_;          // the fit on screen (null: none since the last edit)
};

ScalingPage::ScalingPage(AppContext& c, QWidget* parent) : Page(c, parent) {
  auto* split = new QSplitter(Qt::Horizontal, this);
  auto* outer = new QVBoxLayout(this);
  outer->addWidget(split);

  auto* left = new QWidget(split);
  auto* lv = new QVBoxLayout(left);
  form_ = new ScalingForm(c, left);
  auto* scroll = new QScrollArea(left);
  scroll->setWidget(form_);
  scroll->setWidgetResizable(true);
  lv->addWidget(scroll, 1);
  auto* buttons = new QHBoxLayout;
  fit_button_ = new QPushButton("Fit", left);
  fit_button_->setObjectName("fit");
  fit_button_->setToolTip("Runs the fit (and the bootstrap) on a worker thread: fathom fit with these flags");
  cancel_button_ = new QPushButton("Cancel", left);
  cancel_button_->setObjectName("cancel");
  cancel_button_->setToolTip("Stops the fit or the bootstrap within a second");
  buttons->addWidget(fit_button_);
  buttons->addWidget(cancel_button_);
  lv->addLayout(buttons);
  progress_ = new QProgressBar(left);
  progress_->setRange(0, 1000);
  lv->addWidget(progress_);
  status_ = new QLabel(left);
  status_->setObjectName("status");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  lv->addWidget(status_);

  auto* right = new QSplitter(Qt::Vertical, split);
  auto* chart_tabs = new QTabWidget(right);
  fit_view_ = new ChartView(chart_tabs);
  residual_view_ = new ChartView(chart_tabs);
  frontier_view_ = new ChartView(chart_tabs);
  chart_tabs->addTab(fit_view_, "Fit");
  chart_tabs->addTab(residual_view_, "Residuals");
  chart_tabs->addTab(frontier_view_, "Frontier and iso-FLOP");
  auto* table_tabs = new QTabWidget(right);
  parameters_ = new TableView(false, table_tabs);
  metrics_ = new TableView(false, table_tabs);
  optima_ = new TableView(false, table_tabs);
  parameters_->setObjectName("parameters");
  metrics_->setObjectName("metrics");
  optima_->setObjectName("optima");
  table_tabs->addTab(parameters_, "Parameters");
  table_tabs->addTab(metrics_, "Goodness of fit");
  table_tabs->addTab(optima_, "Compute-optimal");
  split->setStretchFactor(1, 3);
  split->setSizes({420, 980});
  right->setStretchFactor(0, 3);
  right->setStretchFactor(1, 2);

  task_ = new Task(this);
  connect(fit_button_, &QPushButton::clicked, this, [this] { start_fit(); });
  connect(cancel_button_, &QPushButton::clicked, task_, &Task::cancel);
  connect(task_, &Task::progress, this, [this](double f, const QString& text) {
    progress_->setValue(f < 0 ? 0 : static_cast<int>(1000 * f));
    status_->setText(text);
  });
  connect(task_, &Task::finished, this, [this] { set_running(false); });
  connect(task_, &Task::failed, this, [this](const QString& message) {
    set_running(false);
    form_->show_error(message.toStdString());
    status_->setText("Fit failed: " + message);
  });
  connect(task_, &Task::cancelled, this, [this](const QString& message) {
    set_running(false);
    progress_->setValue(0);
    status_->setText("Cancelled: " + message);
  });
  connect(form_, &ScalingForm::edited, this, [this](const std::string& field) { on_edited(field); });
  set_running(false);
  // The built-in example, prepared and drawn without fitting (a fit takes about a second).
  if (!form_->examples().empty()) form_->load_example(0);
}

void ScalingPage::set_running(bool running) {
  fit_button_->setEnabled(!running);
  cancel_button_->setEnabled(running);
  form_->setEnabled(!running);
}

void ScalingPage::on_edited(const std::string& field) {
  clear_avx_upper_state();  // the library's work below runs on the GUI thread (gui/app/cpu_state.h)
  if (field == "x" || field == "series" || field == "compute" || field == "flops-per-param-token" || field == "at") {
    validate();  // clears the errors an earlier choice left
    redraw();
    emit changed();
    return;
  }
  // Any other field changes the fit: the one on screen no longer matches the command line.
  outcome_.reset();
  status_->setText(field == "example" ? "Example loaded: press Fit" : "Inputs changed: press Fit");
  progress_->setValue(0);
  validate();
  redraw();
  emit changed();
}

void ScalingPage::validate() {
  form_->clear_errors();
  problem_.reset();
  try {
    auto p = std::make_shared<fit::FitProblem>(fit::prepare_fit(form_->spec()));
    fit::check_problem(*p->law, p->data, p->options);
    form_->set_columns(p->columns, default_axes(*p));
    problem_ = std::move(p);
  } catch (const Error& e) {
    form_->show_error(e.what());
  }
}

void ScalingPage::redraw() {
  const fit::FitProblem* p = outcome_ ? &outcome_->problem : problem_.get();
  Frontier frontier;
  if (!p) {
    Chart none;
    none.empty_text = "Fix the inputs to see the data";
    fit_view_->set_chart(none);
    residual_view_->set_chart(residuals_chart(FitPlot{}));
    frontier_view_->set_chart(frontier_chart(frontier, "loss"));
    parameters_->set_table({});
    metrics_->set_table({});
    optima_->set_table({});
    return;
  }
  FitPlot plot;
  plot.problem = p;
  plot.axes = form_->axes();
  try {
    check_axes(*p, plot.axes);
  } catch (const Error& e) {
    form_->show_error(e.what());
    plot.axes = default_axes(*p);
  }
  if (outcome_) {
    const fit::FitResult& r = outcome_->record.result;
    plot.fitted = {p->law.get(), r.params, r.free, r.covariance, outcome_->record.options.space};
    plot.level = form_->level();
  }
  fit_view_->set_chart(fit_chart(plot));
  residual_view_->set_chart(residuals_chart(plot));
  if (!outcome_) {
    frontier_view_->set_chart(frontier_chart(frontier, p->law->response));
    parameters_->set_table({});
    metrics_->set_table({});
    optima_->set_table({});
    return;
  }
  const fit::Law& law = *p->law;
  const fit::FitRecord& rec = outcome_->record;
  parameters_->set_table(parameter_table(law, rec), [out = outcome_] {
    return fit::result_csv(*out->problem.law, out->record);
  });
  metrics_->set_table(metrics_table(law, rec));
  try {
    std::vector<double> budgets = form_->budgets();
    if (budgets.empty()) budgets = default_budgets(*p, form_->flops_per_param_token());
    frontier = compute_frontier(law, rec.result.params, form_->flops_per_param_token(), form_->at(), budgets);
  } catch (const Error& e) {
    frontier.unavailable = e.what();
  }
  if (!frontier.unavailable.empty() && law.variable_index("N") < law.variables.size() &&
      law.variable_index("D") < law.variables.size()) {
    form_->show_error(frontier.unavailable);
  }
  frontier_view_->set_chart(frontier_chart(frontier, law.response));
  const std::string response = law.response;
  optima_->set_table(frontier_table(frontier, response), [optima = frontier.optima, response] {
    return fit::allocations_csv(optima, response);
  });
}

void ScalingPage::start_fit() {
  if (task_->running()) return;
  validate();
  if (!problem_) {
    status_->setText("Fix the inputs marked in red, then Fit");
    return;
  }
  const fit::FitSpec spec = form_->spec();
  const int resamples = form_->bootstrap();
  const double level = form_->level();
  outcome_.reset();
  set_running(true);
  progress_->setValue(0);
  status_->setText("Fitting...");
  task_->start([this, spec, resamples, level](const std::atomic<bool>& cancel, const Task::Progress& report)
                   -> std::function<void()> {
    auto out = std::make_shared<Outcome>();
    out->spec = spec;
    out->problem = fit::prepare_fit(spec);
    const fit::FitProblem& p = out->problem;
    fit::FitRecord& rec = out->record;
    rec.data_file = spec.data;
    rec.points = p.data.size();
    rec.dropped = p.dropped;
    rec.columns = spec.columns;
    rec.options = p.options;
    const double share = resamples > 0 ? 0.5 : 1.0;  // of the progress bar for the multi-start
    fit::FitControl fc;
    fc.cancel = &cancel;
    fc.on_progress = [&](int64_t done, int64_t total) {
      report(share * static_cast<double>(done) / static_cast<double>(total),
             fmt::format("fit: {} of {} starts", done, total));
    };
    auto t0 = std::chrono::steady_clock::now();
    rec.result = fit::fit(*p.law, p.data, p.options, fc);
    out->fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (resamples > 0) {
      fit::BootstrapControl bc;
      bc.cancel = &cancel;
      bc.on_progress = [&](int64_t done, int64_t total) {
        report(0.5 + 0.5 * static_cast<double>(done) / static_cast<double>(total),
               fmt::format("bootstrap: {} of {} resamples", done, total));
      };
      t0 = std::chrono::steady_clock::now();
      rec.boot = fit::bootstrap(*p.law, p.data, p.options, rec.result, resamples, level, bc);
      out->bootstrap_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return [this, out] {
      outcome_ = out;
      const fit::FitResult& r = out->record.result;
      status_->setText(QString::fromStdString(fmt::format(
          "{} law on {} points: objective {:.6g}, {}, R^2 {:.5g}; fit {:.2f} s{}", out->problem.law->name,
          out->record.points, r.objective, r.termination, r.metrics.r2, out->fit_s,
          out->record.boot ? fmt::format(", bootstrap {:.2f} s", out->bootstrap_s) : std::string())));
      progress_->setValue(1000);
      redraw();
      emit changed();
    };
  });
}

QString ScalingPage::command_line() const {
  fit::FitSpec s;
  try {
    s = form_->spec();
  } catch (const Error&) {
    return {};
  }
  std::vector<std::string> w = {"fathom", "fit", s.data};
  auto add = [&](const std::string& flag, const std::string& value) {
    w.push_back(flag);
    w.push_back(value);
  };
  if (!s.law.empty()) add("--law", s.law);
  if (!s.formula.empty()) add("--formula", s.formula);
  if (!s.response.empty()) add("--response", s.response);
  for (const auto& v : s.columns) add("--column", v);
  if (!s.space.empty()) add("--space", s.space);
  if (!s.loss.empty()) add("--loss", s.loss);
  if (!s.method.empty()) add("--method", s.method);
  for (const auto& v : s.fix) add("--fix", v);
  for (const auto& v : s.grid) add("--grid", v);
  for (const auto& v : s.bounds) add("--bounds", v);
  for (const auto& v : s.ranges) add("--range", v);
  if (s.random_starts > 0) add("--random-starts", std::to_string(s.random_starts));
  if (s.drop_highest > 0) add("--drop-highest", std::to_string(s.drop_highest));
  const int resamples = form_->bootstrap();
  if (resamples > 0) {
    add("--bootstrap", std::to_string(resamples));
    if (form_->level() != 0.95) add("--level", fmt::format("{}", form_->level()));
  }
  if (s.seed != 1) add("--seed", std::to_string(s.seed));
  if (s.threads != 0) add("--threads", std::to_string(s.threads));
  // The allocation, where the law has one: `fathom optimal` on the fit's result file.
  const fit::FitProblem* p = outcome_ ? &outcome_->problem : problem_.get();
  std::vector<std::string> opt;
  if (p && p->law->variable_index("N") < p->law->variables.size() && p->law->variable_index("D") < p->law->variables.size()) {
    std::vector<double> budgets;
    try {
      budgets = form_->budgets();
    } catch (const Error&) {
    }
    const double k = form_->flops_per_param_token();
    if (budgets.empty()) budgets = default_budgets(*p, k);
    if (!budgets.empty()) {
      add("--result", "fit.yaml");
      std::string list;
      for (double b : budgets) {
        if (!list.empty()) list += ',';
        list += fmt::format("{}", b);
      }
      opt = {"fathom", "optimal", "fit.yaml", "--compute", list};
      if (k != 6) {
        opt.push_back("--flops-per-param-token");
        opt.push_back(fmt::format("{}", k));
      }
      for (const auto& a : form_->at()) {
        opt.push_back("--at");
        opt.push_back(a);
      }
    }
  }
  std::string line;
  for (const auto& word : w) {
    if (!line.empty()) line += ' ';
    line += shell_quote(word);
  }
  if (!opt.empty()) {
    line += " &&";
    for (const auto& word : opt) {
      line += ' ';
      line += shell_quote(word);
    }
  }
  return QString::fromStdString(line);
}

void ScalingPage::load_example() {
  if (task_->running() || form_->examples().empty()) return;
  form_->load_example(0);
  start_fit();
}

}  // namespace

Page* make_scaling_page(AppContext& context, QWidget* parent) { return new ScalingPage(context, parent); }

}  // namespace fathom::gui
