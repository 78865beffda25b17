// Placeholder until the page lands (a helper is writing it).
#include <QLabel>
#include <QVBoxLayout>

#include "gui/pages/page.h"

namespace fathom::gui {
namespace {
class TrainPage : public Page {
 public:
  TrainPage(AppContext& c, QWidget* parent) : Page(c, parent) { (new QVBoxLayout(this))->addWidget(new QLabel("Train", this)); }
  QString title() const override { return "Train"; }
};
}  // namespace
Page* make_train_page(AppContext& context, QWidget* parent) { return new TrainPage(context, parent); }
}  // namespace fathom::gui
