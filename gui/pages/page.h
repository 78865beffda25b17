#pragma once
// A page of the main window. Pages are presentation only: they read their inputs into a
// ScenarioDoc (or the library's own input types), call the library, often on a Task, and show
// the result through TableView and ChartView.
#include <QString>
#include <QWidget>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/app/scenario_doc.h"

namespace fathom::gui {

class ChartView;
class TableView;

class Page : public QWidget {
  Q_OBJECT
 public:
  Page(AppContext& context, QWidget* parent) : QWidget(parent), context_(context) {}

  virtual QString title() const = 0;
  // The `fathom ...` command line that reproduces what the page shows; empty when none applies.
  virtual QString command_line() const { return {}; }
  // The scenario the page edits (Serve, Train), or null.
  virtual ScenarioDoc* scenario() { return nullptr; }
  // Opens a scenario file or text in the page (Serve, Train); errors show on the page.
  virtual void open_scenario_file(const QString& path) { (void)path; }
  virtual void open_scenario_text(const QString& text, const QString& name) {
    (void)text;
    (void)name;
  }
  // A page shows a built-in example from its construction on (cheap: no long call). This starts
  // the example's long computations (simulation, fit, plan) too, for screenshots and tours.
  virtual void load_example() {}
  // A long call (simulation, fit, plan) is running.
  virtual bool busy() const { return false; }
  // The charts and tables on the page (export all, screenshots, tests).
  virtual std::vector<ChartView*> charts() const { return {}; }
  virtual std::vector<TableView*> tables() const { return {}; }

 signals:
  // The page's command line or scenario changed (the window's title and Copy as command follow).
  void changed();

 protected:
  AppContext& context_;
};

Page* make_serve_page(AppContext& context, QWidget* parent);
Page* make_train_page(AppContext& context, QWidget* parent);
Page* make_scaling_page(AppContext& context, QWidget* parent);
Page* make_hardware_page(AppContext& context, QWidget* parent);
Page* make_plans_page(AppContext& context, QWidget* parent);

}  // namespace fathom::gui
