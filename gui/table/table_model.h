#pragma once
// A gui::Table behind a Qt table view: sorting by number where a column holds numbers, a filter
// on any column's text, tooltips with each cell's provenance, and CSV export of what is shown.
#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QWidget>
#include <functional>

#include "gui/table/table.h"

QT_BEGIN_NAMESPACE
class QTableView;
class QLineEdit;
QT_END_NAMESPACE

namespace fathom::gui {

class TableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  using QAbstractTableModel::QAbstractTableModel;
  void set_table(Table table);
  const Table& table() const { return table_; }
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  static constexpr int kSortRole = Qt::UserRole + 1;

 private:
  Table table_;
};

// A table view with an optional filter box, sortable columns and "Export CSV…" in its context
// menu. `csv` replaces the table's own CSV where the library has the canonical one (a plan's
// section as `fathom plan export` writes it).
class TableView : public QWidget {
  Q_OBJECT
 public:
  explicit TableView(bool filter = false, QWidget* parent = nullptr);
  void set_table(Table table, std::function<std::string()> csv = nullptr);
  const Table& table() const { return model_->table(); }
  QTableView* view() const { return view_; }
  // The CSV export: the library's where given, else the rows shown (filtered, sorted).
  std::string csv() const;
  void export_csv(const QString& path) const;
  // The source row of a view row (after sorting and filtering); -1 when none.
  int source_row(int view_row) const;
  void set_filter(const QString& text);

 signals:
  // A row was activated (double-click or Enter): its index in the Table.
  void row_activated(int row);
  void current_row_changed(int row);

 protected:
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  TableModel* model_;
  QSortFilterProxyModel* proxy_;
  QTableView* view_;
  QLineEdit* filter_ = nullptr;
  std::function<std::string()> csv_;
};

}  // namespace fathom::gui
