// Placeholder until the page lands (a helper is writing it).
#include <QLabel>
#include <QVBoxLayout>

#include "gui/pages/page.h"

namespace fathom::gui {
namespace {
class ServePage : public Page {
 public:
  ServePage(AppContext& c, QWidget* parent) : Page(c, parent) { (new QVBoxLayout(this))->addWidget(new QLabel("Serve", this)); }
  QString title() const override { return "Serve"; }
};
}  // namespace
Page* make_serve_page(AppContext& context, QWidget* parent) { return new ServePage(context, parent); }
}  // namespace fathom::gui
