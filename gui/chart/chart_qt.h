#pragma once
// The one adapter between gui::Chart and Qt Charts (BUILD_NOTES.md): a widget that shows a Chart
// with hover read-outs and an export menu (PNG, SVG, the data as CSV), and the same drawing
// rendered without a window, for `fathom-plot`, tests and screenshots.
#include <QByteArray>
#include <QImage>
#include <QSize>
#include <QWidget>

#include "gui/chart/chart.h"

QT_BEGIN_NAMESPACE
class QChartView;
class QLabel;
QT_END_NAMESPACE

namespace fathom::gui {

class ChartView : public QWidget {
  Q_OBJECT
 public:
  explicit ChartView(QWidget* parent = nullptr);
  void set_chart(const Chart& chart);
  const Chart& chart() const { return chart_; }
  // Writes the chart as shown (PNG, SVG) or its data (CSV); throws fathom::Error.
  void export_png(const QString& path, QSize size = {}) const;
  void export_svg(const QString& path, QSize size = {}) const;
  void export_csv(const QString& path) const;

 signals:
  // A point of a line or scatter series was clicked: its series and index in gui::Chart.
  void point_clicked(int series, int index);

 protected:
  void contextMenuEvent(QContextMenuEvent* event) override;

 private:
  Chart chart_;
  QChartView* view_ = nullptr;
};

// The chart drawn at `size` pixels (PNG: an ARGB image; SVG: the document's bytes), with the
// fixed font (DejaVu Sans), so that the same chart gives the same picture on any machine.
QImage render_image(const Chart& chart, QSize size);
QByteArray render_png(const Chart& chart, QSize size);
QByteArray render_svg(const Chart& chart, QSize size);

// The font every chart and screenshot uses.
QFont chart_font(int point_size = 9);

}  // namespace fathom::gui
