#pragma once
// The Plans & sweeps page (docs/gui-plans.md): a Plans tab (gui/pages/plans_panel.h) and a
// Sweeps tab (gui/pages/sweep_panel.h). Copy as command gives the tab's command line.
#include "gui/pages/page.h"

QT_BEGIN_NAMESPACE
class QTabWidget;
QT_END_NAMESPACE

namespace fathom::gui {

class PlanPanel;
class SweepPanel;

class PlansPage : public Page {
  Q_OBJECT
 public:
  PlansPage(AppContext& context, QWidget* parent);
  QString title() const override { return "Plans & sweeps"; }
  // The Plans tab: `fathom plan KIND FILE ...`; the Sweeps tab: `fathom-plot sweep DB ...`.
  QString command_line() const override;
  // Runs the built-in serve plan (data/plans/llama3.1-70b-40rps.yaml).
  void load_example() override;
  bool busy() const override;
  std::vector<ChartView*> charts() const override;
  std::vector<TableView*> tables() const override;

  PlanPanel* plans() const { return plans_; }
  SweepPanel* sweeps() const { return sweeps_; }
  void show_sweeps(bool sweeps);

 private:
  QTabWidget* tabs_;
  PlanPanel* plans_;
  SweepPanel* sweeps_;
};

}  // namespace fathom::gui
