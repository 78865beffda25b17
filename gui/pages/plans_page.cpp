// Placeholder until the page lands (a helper is writing it).
#include <QLabel>
#include <QVBoxLayout>

#include "gui/pages/page.h"

namespace fathom::gui {
namespace {
class PlansPage : public Page {
 public:
  PlansPage(AppContext& c, QWidget* parent) : Page(c, parent) { (new QVBoxLayout(this))->addWidget(new QLabel("Plans & sweeps", this)); }
  QString title() const override { return "Plans & sweeps"; }
};
}  // namespace
Page* make_plans_page(AppContext& context, QWidget* parent) { return new PlansPage(context, parent); }
}  // namespace fathom::gui
