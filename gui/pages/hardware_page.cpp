// Placeholder until the page lands (a helper is writing it).
#include <QLabel>
#include <QVBoxLayout>

#include "gui/pages/page.h"

namespace fathom::gui {
namespace {
class HardwarePage : public Page {
 public:
  HardwarePage(AppContext& c, QWidget* parent) : Page(c, parent) { (new QVBoxLayout(this))->addWidget(new QLabel("Hardware", this)); }
  QString title() const override { return "Hardware"; }
};
}  // namespace
Page* make_hardware_page(AppContext& context, QWidget* parent) { return new HardwarePage(context, parent); }
}  // namespace fathom::gui
