// Placeholder until the page lands (a helper is writing it).
#include <QLabel>
#include <QVBoxLayout>

#include "gui/pages/page.h"

namespace fathom::gui {
namespace {
class ScalingPage : public Page {
 public:
  ScalingPage(AppContext& c, QWidget* parent) : Page(c, parent) { (new QVBoxLayout(this))->addWidget(new QLabel("Scaling laws", this)); }
  QString title() const override { return "Scaling laws"; }
};
}  // namespace
Page* make_scaling_page(AppContext& context, QWidget* parent) { return new ScalingPage(context, parent); }
}  // namespace fathom::gui
