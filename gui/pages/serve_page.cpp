#include "gui/pages/serve_page.h"

#include <QComboBox>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <fmt/format.h>

#include "common/error.h"
#include "gui/app/field_form.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/serve_form.h"
#include "gui/table/table_model.h"
#include "sim/serve/latency_cdf.h"

namespace fathom::gui {

namespace {

constexpr const char* kExample = "scenarios/llama3.1-8b-serve-h100.yaml";

QLabel* wrapped_label(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setWordWrap(true);
  l->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return l;
}

}  // namespace

ServePage::ServePage(AppContext& context, QWidget* parent) : Page(context, parent) {
  build();
  connect(&context_, &AppContext::open_in_serve, this,
          [this](const QString& text, const QString& name) { open_scenario_text(text, name); });
  connect(&context_, &AppContext::hardware_changed, this, [this] { recompute(); });
  open_scenario_file(QString::fromStdString(context_.data(kExample)));
}

ServePage::~ServePage() = default;

void ServePage::build() {
  auto* outer = new QHBoxLayout(this);
  auto* split = new QSplitter(Qt::Horizontal, this);
  outer->addWidget(split);

  // Left: the scenario form, the SLO percentile, Simulate and Cancel.
  auto* left = new QWidget(split);
  auto* lv = new QVBoxLayout(left);
  lv->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea(left);
  scroll->setWidgetResizable(true);
  form_ = new FieldForm(scroll);
  form_->setObjectName("serve.form");
  add_serve_fields(*form_, context_);
  scroll->setWidget(form_);
  lv->addWidget(scroll, 1);
  auto* stat_row = new QHBoxLayout;
  auto* stat_label = new QLabel("SLO percentile", left);
  stat_ = new QComboBox(left);
  for (const auto& s : slo_stats()) stat_->addItem(QString::fromStdString(s));
  stat_->setCurrentText(context_.settings().value("serve/slo_stat", "p99").toString());
  stat_->setToolTip("the statistic the SLOs are judged at: highlighted in the percentile table, drawn on the CDFs and on "
                    "throughput against interactivity (fathom plan serve names objectives the same way: ttft_p99_s)");
  stat_label->setBuddy(stat_);
  stat_row->addWidget(stat_label);
  stat_row->addWidget(stat_, 1);
  lv->addLayout(stat_row);
  auto* buttons = new QHBoxLayout;
  simulate_ = new QPushButton("&Simulate", left);
  simulate_->setObjectName("simulate");
  simulate_->setToolTip("serve::simulate on a worker thread (the command: Copy as command)");
  cancel_ = new QPushButton("Cancel", left);
  cancel_->setObjectName("cancel");
  cancel_->setEnabled(false);
  buttons->addWidget(simulate_);
  buttons->addWidget(cancel_);
  lv->addLayout(buttons);
  progress_ = new QProgressBar(left);
  progress_->setRange(0, 1000);
  progress_->setTextVisible(true);
  progress_->setFormat("");
  lv->addWidget(progress_);
  status_ = wrapped_label(left);
  lv->addWidget(status_);
  left->setMinimumWidth(410);

  // Right: the live analysis and the results.
  right_ = new QTabWidget(split);
  auto* analysis = new QWidget(right_);
  auto* av = new QVBoxLayout(analysis);
  binding_ = wrapped_label(analysis);
  binding_->setObjectName("binding");
  av->addWidget(binding_);
  auto* asplit = new QSplitter(Qt::Vertical, analysis);
  analytic_ = new TableView(false, asplit);
  analytic_->setObjectName("analytic");
  auto* acharts = new QWidget(asplit);
  auto* ah = new QHBoxLayout(acharts);
  ah->setContentsMargins(0, 0, 0, 0);
  memory_ = new ChartView(acharts);
  roofline_ = new ChartView(acharts);
  ah->addWidget(memory_);
  ah->addWidget(roofline_);
  av->addWidget(asplit, 1);
  right_->addTab(analysis, "Live analysis");

  auto* results = new QWidget(right_);
  auto* rv = new QVBoxLayout(results);
  stale_ = wrapped_label(results);
  stale_->setStyleSheet("color: #8a5a00;");
  stale_->setText("These results are of the scenario before your last edits: press Simulate to update them.");
  stale_->hide();
  rv->addWidget(stale_);
  verdict_ = wrapped_label(results);
  verdict_->setObjectName("verdict");
  verdict_->setText("Press Simulate to run the workload through the event simulator.");
  rv->addWidget(verdict_);
  auto* rsplit = new QSplitter(Qt::Vertical, results);
  auto* rtables = new QWidget(rsplit);
  auto* rt = new QHBoxLayout(rtables);
  rt->setContentsMargins(0, 0, 0, 0);
  percentiles_ = new TableView(false, rtables);
  percentiles_->setObjectName("percentiles");
  throughput_ = new TableView(false, rtables);
  throughput_->setObjectName("throughput");
  rt->addWidget(percentiles_, 3);
  rt->addWidget(throughput_, 2);
  auto* chart_tabs = new QTabWidget(rsplit);
  cdf_ = new ChartView(chart_tabs);
  pct_chart_ = new ChartView(chart_tabs);
  interactivity_ = new ChartView(chart_tabs);
  queue_ = new ChartView(chart_tabs);
  kv_ = new ChartView(chart_tabs);
  chart_tabs->addTab(cdf_, "Latency CDFs");
  chart_tabs->addTab(pct_chart_, "Percentiles");
  chart_tabs->addTab(interactivity_, "Throughput vs interactivity");
  chart_tabs->addTab(queue_, "Queue over time");
  chart_tabs->addTab(kv_, "KV cache over time");
  rsplit->setStretchFactor(1, 2);
  rv->addWidget(rsplit, 1);
  right_->addTab(results, "Simulation results");
  split->setStretchFactor(1, 3);
  split->setSizes({430, 850});

  task_ = new Task(this);
  connect(form_, &FieldForm::edited, this, &ServePage::on_edited);
  connect(simulate_, &QPushButton::clicked, this, &ServePage::simulate);
  connect(cancel_, &QPushButton::clicked, this, &ServePage::cancel);
  connect(stat_, &QComboBox::currentTextChanged, this, [this](const QString& s) {
    context_.settings().setValue("serve/slo_stat", s);
    show_results();
  });
  connect(task_, &Task::started, this, [this] {
    simulate_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setValue(0);
    progress_->setFormat("starting");
  });
  connect(task_, &Task::progress, this, [this](double f, const QString& text) {
    if (f >= 0) progress_->setValue(static_cast<int>(f * 1000));
    progress_->setFormat(text);
  });
  auto stopped = [this](const QString& why, bool failed) {
    progress_->setFormat(failed ? "failed" : "cancelled");
    status_->setText(why);
    if (failed) form_->show_error(place_error(*form_, ScenarioDoc::locate(why.toStdString())));
    cancel_->setEnabled(false);
    simulate_->setEnabled(resolved_.has_value());
    emit simulation_stopped(why);
  };
  connect(task_, &Task::cancelled, this, [stopped](const QString& m) { stopped("Cancelled: " + m, false); });
  connect(task_, &Task::failed, this, [stopped](const QString& m) { stopped(m, true); });
  connect(task_, &Task::finished, this, [this] {
    cancel_->setEnabled(false);
    simulate_->setEnabled(resolved_.has_value());
    progress_->setValue(1000);
    progress_->setFormat("done");
    if (run_) {
      status_->setText(QString::fromStdString(fmt::format("Simulated {} requests ({} events) in {:.2f} s of wall time.",
                                                          run_->result.requests, run_->result.events, task_->last_seconds())));
    }
  });
  clear_results();
}

QString ServePage::command_line() const { return QString::fromStdString(doc_.command_line("serve")); }

QString ServePage::estimate_command() const {
  if (!analysis_ || !resolved_) return {};
  std::vector<std::string> extra;
  if (resolved_->scenario.train) extra = {"--phase", "serve"};
  if (!analysis_->scenario_iteration) {
    extra.push_back("--set");
    extra.push_back("serve.iteration=" + analysis_->iteration_yaml);
  }
  extra.push_back("--format");
  extra.push_back("json");
  return QString::fromStdString(doc_.command_line("estimate", extra));
}

bool ServePage::busy() const { return task_->running(); }

std::vector<ChartView*> ServePage::charts() const { return {memory_, roofline_, cdf_, pct_chart_, interactivity_, queue_, kv_}; }

std::vector<TableView*> ServePage::tables() const { return {analytic_, percentiles_, throughput_}; }

QString ServePage::verdict() const { return verdict_->text(); }
QString ServePage::status_text() const { return status_->text(); }
QString ServePage::slo_stat() const { return stat_->currentText(); }
void ServePage::set_slo_stat(const QString& stat) { stat_->setCurrentText(stat); }

void ServePage::reset_to(const std::function<void()>& load) {
  if (task_->running()) task_->cancel();
  try {
    load();
  } catch (const std::exception& e) {
    form_->clear_errors();
    form_->show_error({"", e.what()});
    status_->setText(QString::fromStdString(e.what()));
    return;
  }
  run_.reset();
  clear_results();
  recompute();
}

void ServePage::open_scenario_file(const QString& path) {
  reset_to([&] { doc_.load_file(path.toStdString()); });
}

void ServePage::open_scenario_text(const QString& text, const QString& name) {
  reset_to([&] { doc_.load_text(text.toStdString(), name.toStdString()); });
}

void ServePage::load_example() {
  open_scenario_file(QString::fromStdString(context_.data(kExample)));
  simulate();
}

void ServePage::on_edited(const std::string& path, const std::string& value) {
  const bool has_workload = resolved_ && resolved_->scenario.serve && resolved_->scenario.serve->sim;
  if (path == "serve.workload.arrival.process") enable_arrival_fields(*form_, value);
  const auto [p, v] = serve_edit(*form_, path, value, has_workload);
  doc_.set(p, v);
  if (run_) stale_run_ = true;
  recompute();
}

void ServePage::recompute() {
  QElapsedTimer clock;
  clock.start();
  form_->clear_errors();
  try {
    sim::ResolvedScenario r = doc_.resolve(context_.hardware(), context_.models());
    serve::ServeAnalysis a = serve::analyze_serving(r.scenario);
    frontier_ = serve::interactivity_frontier(r.scenario, a);
    resolved_ = std::move(r);
    analysis_ = std::move(a);
    show_serve_scenario(*form_, *resolved_);
  } catch (const std::exception& e) {
    resolved_.reset();
    analysis_.reset();
    frontier_.clear();
    form_->show_error(place_error(*form_, ScenarioDoc::locate(e.what())));
  }
  show_analysis();
  show_interactivity();
  stale_->setVisible(run_ && stale_run_);
  simulate_->setEnabled(resolved_.has_value() && !task_->running());
  last_recompute_ms_ = static_cast<double>(clock.nsecsElapsed()) / 1e6;
  emit recomputed(last_recompute_ms_);
  emit changed();
}

void ServePage::show_analysis() {
  if (!analysis_) {
    binding_->setText("The scenario does not resolve: the library's message is in red next to the field it concerns.");
    analytic_->set_table(Table{});
    Chart none;
    none.empty_text = "the scenario does not resolve";
    memory_->set_chart(none);
    roofline_->set_chart(none);
    return;
  }
  const std::string provenance = sim::efficiency_source(resolved_->scenario);
  std::string text = "Binding: " + analysis_->binding + ".";
  for (const auto& n : analysis_->notes) text += "\nNote: " + n + ".";
  binding_->setText(QString::fromStdString(text));
  binding_->setToolTip(QString::fromStdString("serve::analyze_serving; kernels priced by " + provenance));
  analytic_->set_table(analytic_table(*analysis_, provenance, estimate_command().toStdString()));
  memory_->set_chart(memory_chart(memory_bars(*analysis_)));
  roofline_->set_chart(roofline_chart(*analysis_, provenance));
}

void ServePage::show_interactivity() {
  const bool current = run_ && !stale_run_;
  const serve::Slo slo = resolved_ && resolved_->scenario.serve && resolved_->scenario.serve->sim
                             ? resolved_->scenario.serve->sim->slo
                             : (run_ ? run_->slo : serve::Slo{});
  interactivity_->set_chart(interactivity_chart(frontier_, current ? &run_->result : nullptr, current ? run_->gpus : 0, slo,
                                                stat_->currentText().toStdString()));
}

void ServePage::clear_results() {
  ++results_generation_;
  stale_run_ = false;
  stale_->hide();
  verdict_->setText("Press Simulate to run the workload through the event simulator.");
  percentiles_->set_table(Table{});
  throughput_->set_table(Table{});
  const ServeViews empty = serve_views(ServeRun{}, stat_->currentText().toStdString());
  cdf_->set_chart(empty.cdf);
  pct_chart_->set_chart(empty.percentiles_chart);
  queue_->set_chart(empty.queue);
  kv_->set_chart(empty.kv);
  show_interactivity();
}

void ServePage::show_results(bool announce) {
  show_interactivity();
  if (!run_) return;
  auto v = std::make_shared<const ServeViews>(serve_views(*run_, stat_->currentText().toStdString()));
  percentiles_->set_table(v->percentiles);
  throughput_->set_table(v->throughput);
  verdict_->setText(QString::fromStdString(v->verdict));
  // One chart per turn of the event loop: each is a QChart built from up to 1,500 points a
  // series, and together they would hold the UI thread longest (docs/gui-serve.md).
  const int generation = ++results_generation_;
  auto steps = std::make_shared<std::vector<std::function<void()>>>(std::vector<std::function<void()>>{
      [this, v] { cdf_->set_chart(v->cdf); }, [this, v] { pct_chart_->set_chart(v->percentiles_chart); },
      [this, v] { queue_->set_chart(v->queue); }, [this, v] { kv_->set_chart(v->kv); }});
  auto next = std::make_shared<std::function<void(size_t)>>();
  *next = [this, steps, generation, announce, weak = std::weak_ptr<std::function<void(size_t)>>(next)](size_t i) {
    if (generation != results_generation_) return;  // newer results replaced these
    (*steps)[i]();
    if (i + 1 < steps->size()) {
      if (auto n = weak.lock()) QTimer::singleShot(0, this, [n, i] { (*n)(i + 1); });
    } else if (announce) {
      emit simulation_finished();
    }
  };
  // The chain keeps itself alive through the queued calls.
  QTimer::singleShot(0, this, [next] { (*next)(0); });
}

void ServePage::simulate() {
  if (!resolved_ || task_->running()) return;
  const sim::Scenario s = resolved_->scenario;
  if (!s.serve || !s.serve->sim) {
    status_->setText("This scenario has no serve.workload: fill in the workload fields to simulate it.");
    return;
  }
  std::vector<serve::FrontierPoint> frontier = frontier_;
  status_->setText("Simulating…");
  task_->start([this, s, frontier](const std::atomic<bool>& cancel, const Task::Progress& report) {
    serve::ServeOptions o;
    o.cancel = &cancel;
    o.on_progress = [&report](int64_t done, int64_t total) {
      report(total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1.0,
             fmt::format("{} of {} requests", done, total));
    };
    // Per-request latencies stream into three histograms and the time series into at most
    // 1,500 points, so that memory stays fixed whatever the number of requests (docs/gui-serve.md).
    serve::LatencyDistributions latencies;
    TimeSeriesReducer series(1500);
    o.on_request_done = [&latencies](int64_t, const serve::RequestRecord& r) { latencies.add(r); };
    o.on_timepoint = [&series](const serve::TimePoint& p) { series.add(p); };
    auto run = std::make_shared<ServeRun>();
    run->result = serve::simulate(s, o);
    report(1.0, "drawing");
    run->slo = s.serve->sim->slo;
    run->cdfs = make_cdfs(latencies);
    run->timeseries = series.points();
    run->samples_per_point = series.samples_per_point();
    run->interval_s = s.serve->sim->timeseries_interval_s;
    run->frontier = frontier;
    run->gpus = run->result.gpus;
    return std::function<void()>([this, run] {
      run_ = run;
      stale_run_ = false;
      stale_->hide();
      show_results(true);
      right_->setCurrentIndex(1);
    });
  });
}

void ServePage::cancel() { task_->cancel(); }

Page* make_serve_page(AppContext& context, QWidget* parent) { return new ServePage(context, parent); }

}  // namespace fathom::gui
