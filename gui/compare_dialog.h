#pragma once
// Compare: two scenarios side by side, each resolved and costed by the library (sim::estimate of
// a serving iteration and of a training step, whichever the scenario has), with the difference
// and the relative difference of every figure.
#include <QDialog>
#include <string>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/app/scenario_doc.h"
#include "gui/table/table.h"

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace fathom::gui {

class TableView;

// The figures of one scenario that Compare shows, by name (with unit), in a fixed order.
std::vector<std::pair<std::string, double>> compare_figures(const sim::Scenario& s);
// The comparison table: figure, A, B, B − A, (B − A)/A. Figures only one side has show "—".
Table compare_table(const std::vector<std::pair<std::string, double>>& a,
                    const std::vector<std::pair<std::string, double>>& b);

class CompareDialog : public QDialog {
  Q_OBJECT
 public:
  CompareDialog(AppContext& context, QWidget* parent = nullptr);
  void set_left(const ScenarioDoc& doc);
  void set_right(const ScenarioDoc& doc);
  void set_left_file(const QString& path);
  void set_right_file(const QString& path);
  const Table& table() const;
  QString error() const;

 private:
  void refresh();
  AppContext& context_;
  ScenarioDoc left_, right_;
  bool has_left_ = false, has_right_ = false;
  QLabel* left_name_;
  QLabel* right_name_;
  QLabel* error_;
  TableView* table_;
};

}  // namespace fathom::gui
