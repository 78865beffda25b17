#include "gui/chart/chart_qt.h"

#include <QBuffer>
#include <QChart>
#include <QChartView>
#include <QContextMenuEvent>
#include <QFileDialog>
#include <QGraphicsScene>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QSvgGenerator>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtCharts/QAreaSeries>
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QStackedBarSeries>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "gui/app/export.h"

namespace fathom::gui {

namespace {

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v, bool log) {
    if (!std::isfinite(v) || (log && v <= 0)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool valid() const { return lo <= hi; }
};

bool keep(double x, double y, const Chart& c) {
  return std::isfinite(x) && std::isfinite(y) && !(c.x.log && x <= 0) && !(c.y.log && y <= 0);
}

QAbstractAxis* make_axis(const Axis& a, Range r, bool categories, const QFont& font) {
  if (categories) {
    auto* axis = new QBarCategoryAxis;
    // Qt Charts draws axis labels as rich text: a category's lines ('\n') become <br>, the rest is escaped.
    for (const auto& c : a.categories) {
      axis->append(QString::fromStdString(c).toHtmlEscaped().replace(QLatin1Char('\n'), QLatin1String("<br>")));
    }
    axis->setTitleText(QString::fromStdString(a.title));
    axis->setTitleFont(font);
    axis->setLabelsFont(font);
    return axis;
  }
  if (!r.valid()) r = {a.log ? 1.0 : 0.0, a.log ? 10.0 : 1.0};
  double lo = a.min.value_or(r.lo), hi = a.max.value_or(r.hi);
  if (a.log) {
    if (!a.min) lo = std::pow(10.0, std::floor(std::log10(lo)));
    if (!a.max) hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
    auto* axis = new QLogValueAxis;
    axis->setBase(10);
    axis->setRange(lo, hi);
    axis->setLabelFormat("%g");
    axis->setTitleText(QString::fromStdString(a.title));
    axis->setTitleFont(font);
    axis->setLabelsFont(font);
    return axis;
  }
  if (hi <= lo) {
    hi = lo == 0 ? 1 : lo + std::abs(lo) * 0.1;
    if (!a.min) lo = lo - (hi - lo);
  }
  const double pad = (hi - lo) * 0.04;
  if (!a.min) lo = (lo >= 0 && lo - pad < 0) ? 0 : lo - pad;
  if (!a.max) hi += pad;
  auto* axis = new QValueAxis;
  axis->setRange(lo, hi);
  axis->setLabelFormat("%g");
  axis->setTitleText(QString::fromStdString(a.title));
  axis->setTitleFont(font);
  axis->setLabelsFont(font);
  axis->applyNiceNumbers();
  return axis;
}

// Builds the QChart of `c`. `on_hover`/`on_click` hook read-outs up (on screen only).
QChart* build(const Chart& c, QObject* receiver, ChartView* clicks) {
  const QFont font = chart_font();
  auto* chart = new QChart;
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setTitle(QString::fromStdString(c.title));
  chart->setTitleFont(chart_font(10));
  chart->legend()->setFont(font);
  chart->legend()->setAlignment(c.legend_right ? Qt::AlignRight : Qt::AlignBottom);
  chart->setBackgroundRoundness(0);

  const bool bars = !c.x.categories.empty();
  Range xr, yr;
  for (const auto& s : c.series) {
    if (s.kind == SeriesKind::kStackedBar) continue;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (i < s.y.size() && keep(s.x[i], s.y[i], c)) {
        xr.add(s.x[i], c.x.log);
        yr.add(s.y[i], c.y.log);
      }
      if (i < s.y_lo.size() && i < s.y_hi.size()) {
        xr.add(s.x[i], c.x.log);
        yr.add(s.y_lo[i], c.y.log);
        yr.add(s.y_hi[i], c.y.log);
      }
    }
  }
  if (bars) {
    std::vector<double> pos(c.x.categories.size(), 0), neg(c.x.categories.size(), 0);
    for (const auto& s : c.series) {
      if (s.kind != SeriesKind::kStackedBar) continue;
      for (size_t i = 0; i < s.y.size() && i < pos.size(); ++i) (s.y[i] >= 0 ? pos[i] : neg[i]) += s.y[i];
    }
    yr.add(0, false);
    for (double v : pos) yr.add(v, false);
    for (double v : neg) yr.add(v, false);
  }
  for (const auto& l : c.lines) (l.horizontal ? yr : xr).add(l.value, l.horizontal ? c.y.log : c.x.log);

  QAbstractAxis* ax = make_axis(c.x, xr, bars, font);
  QAbstractAxis* ay = make_axis(c.y, yr, false, font);
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);

  QStackedBarSeries* stack = nullptr;
  for (size_t si = 0; si < c.series.size(); ++si) {
    const Series& s = c.series[si];
    const QString name = QString::fromStdString(s.name);
    QAbstractSeries* added = nullptr;
    if (s.kind == SeriesKind::kStackedBar) {
      if (!stack) {
        stack = new QStackedBarSeries;
        chart->addSeries(stack);
        stack->attachAxis(ax);
        stack->attachAxis(ay);
        if (receiver) {
          // Bars have no points to hover: the read-out names the part, its category and value.
          const std::vector<std::string> categories = c.x.categories;
          const std::string yt = c.y.title;
          QObject::connect(stack, &QStackedBarSeries::hovered, receiver,
                           [categories, yt](bool state, int index, QBarSet* set) {
                             if (!state || !set || index < 0) return;
                             const QString category = static_cast<size_t>(index) < categories.size()
                                                          ? QString::fromStdString(categories[static_cast<size_t>(index)])
                                                          : QString::number(index);
                             QToolTip::showText(QCursor::pos(), QString("%1 — %2\n%3 = %4")
                                                                    .arg(set->label(), category, QString::fromStdString(yt))
                                                                    .arg(set->at(index), 0, 'g', 6));
                           });
        }
      }
      auto* set = new QBarSet(name);
      for (double v : s.y) *set << v;
      if (!s.color.empty()) set->setColor(QColor(QString::fromStdString(s.color)));
      stack->append(set);
      continue;
    }
    if (s.kind == SeriesKind::kBand) {
      auto* upper = new QLineSeries;
      auto* lower = new QLineSeries;
      for (size_t i = 0; i < s.x.size() && i < s.y_lo.size() && i < s.y_hi.size(); ++i) {
        if (!keep(s.x[i], s.y_lo[i], c) || !keep(s.x[i], s.y_hi[i], c)) continue;
        upper->append(s.x[i], s.y_hi[i]);
        lower->append(s.x[i], s.y_lo[i]);
      }
      auto* area = new QAreaSeries(upper, lower);
      // The area series does not own its boundary series (Qt Charts' QAreaSeries): parent them.
      upper->setParent(area);
      lower->setParent(area);
      area->setName(name);
      QColor col = s.color.empty() ? QColor(70, 130, 180) : QColor(QString::fromStdString(s.color));
      col.setAlpha(60);
      area->setBrush(col);
      area->setPen(Qt::NoPen);
      added = area;
    } else {
      QXYSeries* xy = s.kind == SeriesKind::kScatter ? static_cast<QXYSeries*>(new QScatterSeries)
                                                     : static_cast<QXYSeries*>(new QLineSeries);
      if (auto* sc = dynamic_cast<QScatterSeries*>(xy)) sc->setMarkerSize(8);
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (keep(s.x[i], s.y[i], c)) xy->append(s.x[i], s.y[i]);
      }
      xy->setName(name);
      if (!s.color.empty()) xy->setColor(QColor(QString::fromStdString(s.color)));
      if (receiver) {
        const std::string xt = c.x.title, yt = c.y.title;
        QObject::connect(xy, &QXYSeries::hovered, receiver, [name, xt, yt](const QPointF& p, bool state) {
          if (state) {
            QToolTip::showText(QCursor::pos(), QString("%1\n%2 = %3\n%4 = %5")
                                                   .arg(name, QString::fromStdString(xt)).arg(p.x(), 0, 'g', 6)
                                                   .arg(QString::fromStdString(yt)).arg(p.y(), 0, 'g', 6));
          }
        });
      }
      if (clicks) {
        const int series_index = static_cast<int>(si);
        QObject::connect(xy, &QXYSeries::clicked, clicks, [clicks, xy, series_index](const QPointF& p) {
          int best = -1;
          double bd = std::numeric_limits<double>::infinity();
          const auto pts = xy->points();
          for (int i = 0; i < pts.size(); ++i) {
            const double d = std::hypot(pts[i].x() - p.x(), pts[i].y() - p.y());
            if (d < bd) {
              bd = d;
              best = i;
            }
          }
          if (best >= 0) emit clicks->point_clicked(series_index, best);
        });
      }
      added = xy;
    }
    chart->addSeries(added);
    added->attachAxis(ax);
    added->attachAxis(ay);
    // A series without a name stays out of the legend (a fitted curve per group, named once).
    if (s.name.empty())
      for (auto* marker : chart->legend()->markers(added)) marker->setVisible(false);
  }
  for (const auto& l : c.lines) {
    auto* line = new QLineSeries;
    const auto* range_axis = static_cast<const QAbstractAxis*>(l.horizontal ? ax : ay);
    double lo = 0, hi = 1;
    if (auto* v = qobject_cast<const QValueAxis*>(range_axis)) {
      lo = v->min();
      hi = v->max();
    } else if (auto* g = qobject_cast<const QLogValueAxis*>(range_axis)) {
      lo = g->min();
      hi = g->max();
    } else if (bars) {
      lo = -0.5;
      hi = static_cast<double>(c.x.categories.size()) - 0.5;
    }
    if (l.horizontal) {
      line->append(lo, l.value);
      line->append(hi, l.value);
    } else {
      line->append(l.value, lo);
      line->append(l.value, hi);
    }
    line->setName(QString::fromStdString(l.label));
    QPen pen(QColor(200, 40, 40));
    pen.setStyle(Qt::DashLine);
    pen.setWidthF(1.5);
    line->setPen(pen);
    chart->addSeries(line);
    line->attachAxis(ax);
    line->attachAxis(ay);
  }
  return chart;
}

void draw(const Chart& c, QPainter& painter, QSize size) {
  QGraphicsScene scene;
  QChart* chart = build(c, nullptr, nullptr);
  scene.addItem(chart);
  chart->setGeometry(0, 0, size.width(), size.height());
  scene.setSceneRect(0, 0, size.width(), size.height());
  if (c.empty() && !c.empty_text.empty()) {
    auto* text = scene.addText(QString::fromStdString(c.empty_text), chart_font(10));
    text->setPos(size.width() / 2.0 - text->boundingRect().width() / 2, size.height() / 2.0);
  }
  scene.render(&painter, QRectF(0, 0, size.width(), size.height()), QRectF(0, 0, size.width(), size.height()));
}

}  // namespace

QFont chart_font(int point_size) {
  QFont f("DejaVu Sans", point_size);
  f.setStyleHint(QFont::SansSerif);
  return f;
}

QImage render_image(const Chart& chart, QSize size) {
  QImage image(size, QImage::Format_ARGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  draw(chart, painter, size);
  painter.end();
  return image;
}

QByteArray render_png(const Chart& chart, QSize size) {
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  render_image(chart, size).save(&buffer, "PNG");
  return bytes;
}

QByteArray render_svg(const Chart& chart, QSize size) {
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator svg;
  svg.setOutputDevice(&buffer);
  svg.setSize(size);
  svg.setViewBox(QRect(QPoint(0, 0), size));
  svg.setResolution(96);  // CSS pixels: browsers show the SVG at `size`
  svg.setTitle(QString::fromStdString(chart.title));
  svg.setDescription("Fathom chart");
  QPainter painter(&svg);
  draw(chart, painter, size);
  painter.end();
  return bytes;
}

ChartView::ChartView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  view_ = new QChartView(this);
  view_->setRenderHint(QPainter::Antialiasing);
  view_->setMinimumSize(320, 220);
  layout->addWidget(view_);
  set_chart(Chart{});
}

void ChartView::set_chart(const Chart& chart) {
  chart_ = chart;
  QChart* old = view_->chart();
  view_->setChart(build(chart_, this, this));
  delete old;
  if (chart_.empty() && !chart_.empty_text.empty()) view_->setToolTip(QString::fromStdString(chart_.empty_text));
  else view_->setToolTip({});
}

void ChartView::export_png(const QString& path, QSize size) const {
  if (size.isEmpty()) size = view_->size();
  write_output(path.toStdString(), render_png(chart_, size).toStdString(), "PNG file");
}

void ChartView::export_svg(const QString& path, QSize size) const {
  if (size.isEmpty()) size = view_->size();
  write_output(path.toStdString(), render_svg(chart_, size).toStdString(), "SVG file");
}

void ChartView::export_csv(const QString& path) const { write_output(path.toStdString(), chart_.csv(), "CSV file"); }

void ChartView::contextMenuEvent(QContextMenuEvent* event) {
  QMenu menu(this);
  QAction* png = menu.addAction("Export PNG…");
  QAction* svg = menu.addAction("Export SVG…");
  menu.addAction("Export data as CSV…");
  QAction* chosen = menu.exec(event->globalPos());
  if (!chosen) return;
  const QString filter = chosen == png ? "PNG image (*.png)" : chosen == svg ? "SVG image (*.svg)" : "CSV (*.csv)";
  const QString path = QFileDialog::getSaveFileName(this, chosen->text(), {}, filter);
  if (path.isEmpty()) return;
  try {
    if (chosen == png) export_png(path);
    else if (chosen == svg) export_svg(path);
    else export_csv(path);
  } catch (const std::exception& e) {
    QMessageBox::warning(this, "Export", QString::fromStdString(e.what()));
  }
}

}  // namespace fathom::gui
