#include "gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTabWidget>
#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "common/input_file.h"
#include "gui/app/export.h"
#include "gui/chart/chart_qt.h"
#include "gui/compare_dialog.h"
#include "gui/pages/page.h"
#include "gui/table/table_model.h"

namespace fathom::gui {

MainWindow::MainWindow(AppContext& context, QWidget* parent) : QMainWindow(parent), context_(context) {
  setWindowTitle("Fathom");
  tabs_ = new QTabWidget(this);
  tabs_->setDocumentMode(true);
  for (auto make : {make_serve_page, make_train_page, make_scaling_page, make_hardware_page, make_plans_page}) {
    Page* p = make(context_, tabs_);
    pages_.push_back(p);
    tabs_->addTab(p, QString(p->title()).replace('&', "&&"));  // "Plans & sweeps": '&' alone marks a mnemonic
  }
  setCentralWidget(tabs_);
  build_menus();
  statusBar()->showMessage("Ready");
  connect(&context_, &AppContext::status, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
  connect(&context_, &AppContext::open_in_serve, this, [this] { show_page(0); });
  connect(&context_, &AppContext::open_in_train, this, [this] { show_page(1); });
  QSettings& s = context_.settings();
  if (s.contains("window/geometry")) restoreGeometry(s.value("window/geometry").toByteArray());
  else resize(1280, 860);
  show_page(s.value("window/page", 0).toInt());
}

MainWindow::~MainWindow() = default;

Page* MainWindow::page(int index) const {
  return index >= 0 && index < page_count() ? pages_[static_cast<size_t>(index)] : nullptr;
}

Page* MainWindow::current_page() const { return page(tabs_->currentIndex()); }

void MainWindow::show_page(int index) {
  if (index >= 0 && index < page_count()) tabs_->setCurrentIndex(index);
}

QString MainWindow::command_line() const {
  Page* p = current_page();
  return p ? p->command_line() : QString();
}

void MainWindow::open_scenario(const QString& path) {
  int target = 0;
  try {
    const std::string text = read_input_file(path.toStdString(), InputKind::kStructured, "scenario");
    const YAML::Node root = YAML::Load(text);
    if (root.IsMap() && root["train"] && !root["serve"]) target = 1;
  } catch (const std::exception&) {
    // The page reports the error next to its form.
  }
  show_page(target);
  pages_[static_cast<size_t>(target)]->open_scenario_file(path);
  context_.add_recent_file(path);
  refresh_recent();
}

void MainWindow::save_scenario(const QString& path) {
  Page* p = current_page();
  ScenarioDoc* doc = p ? p->scenario() : nullptr;
  if (!doc) throw FlagError("Save", "expected the Serve or Train page, found the " + (p ? p->title() : QString()).toStdString() + " page");
  const auto resolved = doc->resolve(context_.hardware(), context_.models());
  write_output(path.toStdString(), resolved.text, "scenario");
  doc->load_file(path.toStdString());
  context_.add_recent_file(path);
  refresh_recent();
  emit p->changed();
}

QStringList MainWindow::export_all(const QString& folder) {
  QStringList written;
  for (Page* p : pages_) {
    const QString stem = p->title().toLower().replace(' ', '-').replace('&', "and");
    int i = 0;
    for (ChartView* c : p->charts()) {
      const QString base = QDir(folder).filePath(QString("%1-chart%2").arg(stem).arg(++i));
      const QSize size(900, 560);
      c->export_png(base + ".png", size);
      c->export_svg(base + ".svg", size);
      written << base + ".png" << base + ".svg";
    }
    i = 0;
    for (TableView* t : p->tables()) {
      const QString file = QDir(folder).filePath(QString("%1-table%2.csv").arg(stem).arg(++i));
      t->export_csv(file);
      written << file;
    }
  }
  return written;
}

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu("&File");
  QAction* open = file->addAction("&Open scenario…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open scenario", QString::fromStdString(context_.data("scenarios")),
                                                      "Scenario (*.yaml *.yml)");
    if (!path.isEmpty()) open_scenario(path);
  });
  open->setShortcut(QKeySequence::Open);
  recent_ = file->addMenu("Open &recent");
  refresh_recent();
  QAction* save = file->addAction("&Save scenario as…", this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, "Save scenario", {}, "Scenario (*.yaml)");
    if (path.isEmpty()) return;
    try {
      save_scenario(path);
      statusBar()->showMessage("Saved " + path, 5000);
    } catch (const std::exception& e) {
      QMessageBox::warning(this, "Save scenario", QString::fromStdString(e.what()));
    }
  });
  save->setShortcut(QKeySequence::Save);
  file->addAction("&Export all charts and tables…", this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, "Export into folder");
    if (dir.isEmpty()) return;
    try {
      const QStringList files = export_all(dir);
      statusBar()->showMessage(QString("Wrote %1 files into %2").arg(files.size()).arg(dir), 8000);
    } catch (const std::exception& e) {
      QMessageBox::warning(this, "Export", QString::fromStdString(e.what()));
    }
  });
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* edit = menuBar()->addMenu("&Edit");
  QAction* copy = edit->addAction("&Copy as command", this, [this] {
    const QString line = command_line();
    if (line.isEmpty()) {
      statusBar()->showMessage("This page has no command line", 5000);
      return;
    }
    QApplication::clipboard()->setText(line);
    statusBar()->showMessage("Copied: " + line, 8000);
  });
  copy->setShortcut(QKeySequence("Ctrl+Shift+C"));

  QMenu* tools = menuBar()->addMenu("&Tools");
  QAction* compare = tools->addAction("C&ompare two scenarios…", this, [this] {
    auto* dialog = new CompareDialog(context_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    Page* p = current_page();
    if (p && p->scenario()) dialog->set_left(*p->scenario());
    dialog->show();
  });
  compare->setShortcut(QKeySequence("Ctrl+D"));

  QMenu* view = menuBar()->addMenu("&View");
  for (int i = 0; i < page_count(); ++i) {
    QAction* a = view->addAction(QString(pages_[static_cast<size_t>(i)]->title()).replace('&', "&&"), this, [this, i] { show_page(i); });
    a->setShortcut(QKeySequence(QString("Ctrl+%1").arg(i + 1)));
  }
}

void MainWindow::refresh_recent() {
  if (!recent_) return;
  recent_->clear();
  const QStringList files = context_.recent_files();
  for (const QString& f : files) recent_->addAction(f, this, [this, f] { open_scenario(f); });
  recent_->setEnabled(!files.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings& s = context_.settings();
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/page", tabs_->currentIndex());
  QMainWindow::closeEvent(event);
}

}  // namespace fathom::gui
