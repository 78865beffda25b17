// The GUI's responsiveness (issue 19's targets: a live recompute under 50 ms, the UI thread never
// blocked for more than 100 ms), measured on the real pages offscreen:
//   (a) the Serve page's live recompute per edit: the wall time of a form edit from the field's
//       change to the analytic panel redrawn (ScenarioDoc edit, sim::resolve_scenario_text,
//       serve::analyze_serving, the frontier, the form, table and charts), median and maximum
//       over N edits on each scenario;
//   (b) the UI thread's longest block while the page simulates bench/serve_1m.yaml (1,000,000
//       requests) through Simulate: a 1 ms QTimer on the UI thread records the largest gap
//       between its ticks from the click to the results on screen, and the time that takes.
// Run (Release): QT_QPA_PLATFORM=offscreen build/bench/fathom_gui_bench [--edits 200] [--requests N]
// Results: docs/gui-serve.md, "Responsiveness".
#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QSpinBox>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/serve_page.h"

using namespace fathom;
using namespace fathom::gui;

namespace {

struct Stats {
  double median = 0, max = 0, internal_median = 0, cpu_median = 0, cpu_max = 0;
};

// CPU time of the UI thread (ms): on a shared machine a wall-time maximum can be the thread
// waiting for a core, which this tells apart.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// N edits that each change the analysis: precision, scheduler cap, arrival rate, KV fraction and
// (on multi-GPU scenarios) tensor parallelism, in turn.
Stats edits(ServePage& page, int n, bool multi_gpu) {
  FieldForm& f = *page.form();
  auto* weights = qobject_cast<QComboBox*>(f.editor("precision.weights"));
  auto* seqs = qobject_cast<QSpinBox*>(f.editor("serve.scheduler.max_seqs"));
  auto* rate = qobject_cast<QDoubleSpinBox*>(f.editor("serve.workload.arrival.rate_per_s"));
  auto* fraction = qobject_cast<QDoubleSpinBox*>(f.editor("serve.kv_cache.memory_fraction"));
  auto* tp = qobject_cast<QSpinBox*>(f.editor("serve.parallel.tp"));
  std::vector<double> wall, internal, cpu;
  for (int i = 0; i < n; ++i) {
    QElapsedTimer clock;
    clock.start();
    const double cpu0 = thread_cpu_ms();
    switch (i % (multi_gpu ? 5 : 4)) {
      case 0: weights->setCurrentText(weights->currentText() == "fp8" ? "bf16" : "fp8"); break;
      case 1: seqs->setValue(seqs->value() == 256 ? 512 : 256); break;
      case 2: rate->setValue(rate->value() == 8 ? 12 : 8); break;
      case 3: fraction->setValue(fraction->value() > 0.89 ? 0.85 : 0.9); break;
      default: tp->setValue(tp->value() == 8 ? 4 : 8); break;
    }
    QApplication::processEvents();  // the repaint of what changed
    wall.push_back(static_cast<double>(clock.nsecsElapsed()) / 1e6);
    cpu.push_back(thread_cpu_ms() - cpu0);
    internal.push_back(page.last_recompute_ms());
  }
  return {median(wall), *std::max_element(wall.begin(), wall.end()), median(internal), median(cpu),
          *std::max_element(cpu.begin(), cpu.end())};
}

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  int n = 200;
  long long requests = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--edits")) n = std::max(1, std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--requests")) requests = std::atoll(argv[i + 1]);
  }
  QApplication app(argc, argv);
  QApplication::setFont(chart_font(9));
  AppContext context;
  ServePage page(context, nullptr);
  page.resize(1280, 860);
  page.show();
  QApplication::processEvents();

  std::printf("Serve page, live recompute per edit (%d edits each; wall: the edit to the redrawn panel; recompute: the\n"
              "page's own timer; cpu: the UI thread's CPU time of the edit)\n", n);
  std::printf("%-38s %10s %10s %14s %10s %10s\n", "scenario", "median ms", "max ms", "recompute ms", "cpu med", "cpu max");
  const std::pair<const char*, bool> scenarios[] = {{"scenarios/llama3.1-8b-serve-h100.yaml", false},
                                                    {"scenarios/llama3.1-8b-trtllm-h200.yaml", false},
                                                    {"../bench/serve_1m.yaml", false}};
  for (const auto& [file, multi] : scenarios) {
    page.open_scenario_file(QString::fromStdString(context.data(file)));
    const Stats s = edits(page, n, multi);
    std::printf("%-38s %10.2f %10.2f %14.2f %10.2f %10.2f\n", file, s.median, s.max, s.internal_median, s.cpu_median, s.cpu_max);
  }
  // A 70B model on 8 GPUs with a workload added, tensor parallelism among the edits.
  page.open_scenario_file(QString::fromStdString(context.data("scenarios/llama3.1-70b-decode-h100.yaml")));
  qobject_cast<QSpinBox*>(page.form()->editor("serve.workload.requests"))->setValue(1000);
  const Stats big = edits(page, n, true);
  std::printf("%-38s %10.2f %10.2f %14.2f %10.2f %10.2f\n", "llama3.1-70b-decode-h100 + workload", big.median, big.max,
              big.internal_median, big.cpu_median, big.cpu_max);

  // (b) Simulate the 1M-request benchmark scenario with a 1 ms timer on the UI thread.
  page.open_scenario_file(QString::fromStdString(context.data("../bench/serve_1m.yaml")));
  if (requests > 0) qobject_cast<QSpinBox*>(page.form()->editor("serve.workload.requests"))->setValue(static_cast<int>(requests));
  QElapsedTimer since_tick, total;
  double longest = 0, longest_at = 0;
  QTimer ticker;
  ticker.setTimerType(Qt::PreciseTimer);
  ticker.setInterval(1);
  QObject::connect(&ticker, &QTimer::timeout, [&] {
    const double gap = static_cast<double>(since_tick.nsecsElapsed()) / 1e6;
    if (gap > longest) {
      longest = gap;
      longest_at = static_cast<double>(total.nsecsElapsed()) / 1e9;
    }
    since_tick.restart();
  });
  bool done = false;
  double results_at = 0;
  QObject::connect(&page, &ServePage::simulation_finished, [&] {
    results_at = static_cast<double>(total.nsecsElapsed()) / 1e9;
    done = true;
  });
  QObject::connect(&page, &ServePage::simulation_stopped, [&](const QString& why) {
    std::fprintf(stderr, "simulation stopped: %s\n", why.toStdString().c_str());
    done = true;
  });
  total.start();
  since_tick.start();
  ticker.start();
  page.simulate();
  while (!done) QApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
  // The results are drawn by the continuation and the next repaint: keep ticking a little.
  QElapsedTimer tail;
  tail.start();
  while (tail.elapsed() < 300) QApplication::processEvents(QEventLoop::AllEvents, 10);
  ticker.stop();
  if (!page.run()) return 1;
  std::printf("\nServe page, Simulate on %s: %lld requests, %lld events\n", "bench/serve_1m.yaml",
              static_cast<long long>(page.run()->result.requests), static_cast<long long>(page.run()->result.events));
  std::printf("time from Simulate to results on screen: %.2f s\n", results_at);
  std::printf("longest UI-thread block (gap between 1 ms ticks): %.1f ms, at %.2f s\n", longest, longest_at);
  return 0;
}
