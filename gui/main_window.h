#pragma once
// The main window: the five pages as tabs (Serve, Train, Scaling laws, Hardware, Plans & sweeps),
// open/save of scenario YAML (the same files as the CLI), recent files, Copy as command, Compare,
// export of every chart and table, and settings remembered across sessions.
#include <QMainWindow>
#include <vector>

#include "gui/app/app_context.h"

QT_BEGIN_NAMESPACE
class QTabWidget;
class QMenu;
QT_END_NAMESPACE

namespace fathom::gui {

class Page;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(AppContext& context, QWidget* parent = nullptr);
  ~MainWindow() override;

  Page* page(int index) const;
  Page* current_page() const;
  int page_count() const { return static_cast<int>(pages_.size()); }
  void show_page(int index);
  // The current page's command line (what Copy as command puts on the clipboard).
  QString command_line() const;

  // Opens a scenario file: in the Train page when it has a train section and no serve section,
  // else in the Serve page. Errors appear on that page.
  void open_scenario(const QString& path);
  // Saves the current page's scenario (resolved) to `path`; throws fathom::Error.
  void save_scenario(const QString& path);
  // Writes every chart of every page as PNG and SVG, and every table as CSV, into `folder`.
  // Returns the files written.
  QStringList export_all(const QString& folder);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void build_menus();
  void refresh_recent();

  AppContext& context_;
  QTabWidget* tabs_;
  std::vector<Page*> pages_;
  QMenu* recent_ = nullptr;
};

}  // namespace fathom::gui
