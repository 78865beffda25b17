#include "gui/pages/plans_page.h"

#include <QTabWidget>
#include <QVBoxLayout>

#include "gui/chart/chart_qt.h"
#include "gui/pages/plans_panel.h"
#include "gui/pages/sweep_panel.h"
#include "gui/table/table_model.h"

namespace fathom::gui {

PlansPage::PlansPage(AppContext& context, QWidget* parent) : Page(context, parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  tabs_ = new QTabWidget(this);
  plans_ = new PlanPanel(context, tabs_);
  sweeps_ = new SweepPanel(context, tabs_);
  tabs_->addTab(plans_, "Plans");
  tabs_->addTab(sweeps_, "Sweeps");
  layout->addWidget(tabs_);
  connect(plans_, &PlanPanel::changed, this, &Page::changed);
  connect(sweeps_, &SweepPanel::changed, this, &Page::changed);
  connect(tabs_, &QTabWidget::currentChanged, this, &Page::changed);
}

QString PlansPage::command_line() const {
  return tabs_->currentWidget() == sweeps_ ? sweeps_->command_line() : plans_->command_line();
}

void PlansPage::show_sweeps(bool sweeps) { tabs_->setCurrentWidget(sweeps ? static_cast<QWidget*>(sweeps_) : plans_); }

void PlansPage::load_example() {
  show_sweeps(false);
  plans_->set_plan_file(QString::fromStdString(context_.data("plans/llama3.1-70b-40rps.yaml")));
  plans_->run();
}

bool PlansPage::busy() const { return plans_->busy() || sweeps_->busy(); }

std::vector<ChartView*> PlansPage::charts() const {
  std::vector<ChartView*> out = plans_->charts();
  out.push_back(sweeps_->chart());
  return out;
}

std::vector<TableView*> PlansPage::tables() const {
  std::vector<TableView*> out = plans_->tables();
  out.push_back(sweeps_->table());
  return out;
}

Page* make_plans_page(AppContext& context, QWidget* parent) { return new PlansPage(context, parent); }

}  // namespace fathom::gui
