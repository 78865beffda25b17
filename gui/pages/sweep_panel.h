#pragma once
// The Sweeps half of the Plans & sweeps page (docs/gui-plans.md): a sweep database opened
// read-only, also while `fathom sweep` is still writing it (SQLite WAL: each read sees the
// batches committed so far), re-read by Refresh or every second while "Follow" is on, on a
// Task; any metric against any axis, the other axes filtered by their values, series by a third
// axis (plan::select_sweep); the chart and the tidy table (CSV: the bytes of `fathom sweep export`).
#include <QString>
#include <QTimer>
#include <QWidget>
#include <map>
#include <optional>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/table/table.h"
#include "plan/sweep_table.h"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
QT_END_NAMESPACE

namespace fathom::gui {

class ChartView;
class TableView;
class Task;

class SweepPanel : public QWidget {
  Q_OBJECT
 public:
  SweepPanel(AppContext& context, QWidget* parent);
  ~SweepPanel() override;

  // Opens the database and reads it on a Task (the file may not exist yet: with Follow on, the
  // panel waits for it). `sweep`: a sweep's name or spec-hash prefix; "" the only one.
  void open_database(const QString& path, const QString& sweep = {});
  QString database() const;
  // Reads the file again (nothing when a read is under way).
  void refresh();
  // Re-reads every `interval_ms` while on; stops by itself once every point of the spec is stored.
  void set_follow(bool on, int interval_ms = 1000);
  bool following() const;

  // The selection (names as the sweep stores them); "" series: one series; "" filter value: all.
  void set_x(const QString& axis);
  void set_y(const QString& metric);
  void set_series(const QString& axis);
  void set_filter(const QString& axis, const QString& value);
  void set_log(bool x, bool y);
  plan::SweepSelection selection() const;

  // `fathom-plot sweep DB --x AXIS --y METRIC [--series AXIS] [--where AXIS=VALUE]... [--logx 1]
  // [--logy 1] --out sweep.png`: the chart on screen from the command line.
  QString command_line() const;
  bool busy() const;
  // The table read last (null before the first read), and what shows it.
  const plan::SweepTable* data() const { return table_ ? &*table_ : nullptr; }
  TableView* table() const { return view_; }
  ChartView* chart() const { return chart_; }
  QString status_text() const;
  QString error_text() const;

 signals:
  // A read was shown: the points stored so far.
  void refreshed(int points);
  void changed();

 private:
  void read();
  void show_table(plan::SweepTable t, Table shown, std::vector<store::SweepInfo> sweeps);
  void rebuild_choices();
  void redraw();

  AppContext& context_;
  Task* reader_;
  QTimer timer_;
  QLineEdit* path_;
  QComboBox* sweeps_;
  QPushButton* refresh_;
  QCheckBox* follow_;
  QComboBox* x_;
  QComboBox* y_;
  QComboBox* series_;
  QCheckBox* logx_;
  QCheckBox* logy_;
  QFormLayout* filters_form_;
  std::map<std::string, QComboBox*> filters_;
  QLabel* status_;
  QLabel* error_;
  ChartView* chart_;
  TableView* view_;
  std::optional<plan::SweepTable> table_;
  std::string which_;  // the sweep asked for
  bool building_ = false;  // combo boxes being refilled: no redraw per change
};

}  // namespace fathom::gui
