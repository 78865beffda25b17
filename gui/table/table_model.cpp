#include "gui/table/table_model.h"

#include <QColor>
#include <QContextMenuEvent>
#include <QFont>
#include <QFileDialog>
#include <QHeaderView>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QTableView>
#include <QVBoxLayout>
#include <fmt/format.h>

#include "common/csv.h"
#include "gui/app/export.h"

namespace fathom::gui {

void TableModel::set_table(Table table) {
  beginResetModel();
  table_ = std::move(table);
  endResetModel();
}

int TableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(table_.rows.size());
}

int TableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(table_.columns.size());
}

QVariant TableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) return {};
  const auto& row = table_.rows[static_cast<size_t>(index.row())];
  if (static_cast<size_t>(index.column()) >= row.size()) return {};
  const Cell& cell = row[static_cast<size_t>(index.column())];
  const Column& col = table_.columns[static_cast<size_t>(index.column())];
  switch (role) {
    case Qt::DisplayRole:
      return QString::fromStdString(cell.display(col.digits));
    case Qt::ToolTipRole: {
      const std::string& tip = cell.tip.empty() ? col.tip : cell.tip;
      if (cell.is_number()) {
        return QString::fromStdString(fmt::format("{} = {}{}", col.name, cell.csv(), tip.empty() ? "" : "\n" + tip));
      }
      return tip.empty() ? QVariant() : QString::fromStdString(tip);
    }
    case Qt::TextAlignmentRole:
      return cell.is_number() ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::BackgroundRole:
      return col.highlight ? QVariant(QColor(255, 244, 204)) : QVariant();
    case Qt::FontRole:
      if (col.highlight) {
        QFont f;
        f.setBold(true);
        return f;
      }
      return {};
    case kSortRole:
      if (cell.is_number()) return cell.as_number();
      return QString::fromStdString(cell.display(col.digits));
    default:
      return {};
  }
}

QVariant TableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return {};
  const Column& col = table_.columns[static_cast<size_t>(section)];
  if (role == Qt::DisplayRole) return QString::fromStdString(col.name);
  if (role == Qt::ToolTipRole && !col.tip.empty()) return QString::fromStdString(col.tip);
  if (role == Qt::FontRole && col.highlight) {
    QFont f;
    f.setBold(true);
    return f;
  }
  return {};
}

TableView::TableView(bool filter, QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  model_ = new TableModel(this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setSortRole(TableModel::kSortRole);
  proxy_->setFilterKeyColumn(-1);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  if (filter) {
    filter_ = new QLineEdit(this);
    filter_->setPlaceholderText("Filter rows (text in any column)");
    filter_->setClearButtonEnabled(true);
    connect(filter_, &QLineEdit::textChanged, this, &TableView::set_filter);
    layout->addWidget(filter_);
  }
  view_ = new QTableView(this);
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(-1, Qt::AscendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setAlternatingRowColors(true);
  view_->verticalHeader()->setVisible(false);
  view_->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(view_);
  connect(view_, &QTableView::activated, this, [this](const QModelIndex& i) { emit row_activated(source_row(i.row())); });
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& i) { emit current_row_changed(i.isValid() ? source_row(i.row()) : -1); });
}

void TableView::set_table(Table table, std::function<std::string()> csv) {
  model_->set_table(std::move(table));
  csv_ = std::move(csv);
  view_->resizeColumnsToContents();
}

void TableView::set_filter(const QString& text) {
  if (filter_ && filter_->text() != text) filter_->setText(text);
  proxy_->setFilterFixedString(text);
}

int TableView::source_row(int view_row) const {
  if (view_row < 0 || view_row >= proxy_->rowCount()) return -1;
  return proxy_->mapToSource(proxy_->index(view_row, 0)).row();
}

std::string TableView::csv() const {
  if (csv_) return csv_();
  const Table& t = model_->table();
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c) out += ',';
    out += csv_field(t.columns[c].name);
  }
  out += "\n";
  for (int r = 0; r < proxy_->rowCount(); ++r) {
    const auto& row = t.rows[static_cast<size_t>(source_row(r))];
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      out += row[c].csv();
    }
    out += "\n";
  }
  return out;
}

void TableView::export_csv(const QString& path) const { write_output(path.toStdString(), csv(), "CSV file"); }

void TableView::contextMenuEvent(QContextMenuEvent* event) {
  QMenu menu(this);
  QAction* csv = menu.addAction("Export CSV…");
  if (menu.exec(event->globalPos()) != csv) return;
  const QString path = QFileDialog::getSaveFileName(this, "Export CSV", {}, "CSV (*.csv)");
  if (path.isEmpty()) return;
  try {
    export_csv(path);
  } catch (const std::exception& e) {
    QMessageBox::warning(this, "Export", QString::fromStdString(e.what()));
  }
}

}  // namespace fathom::gui
