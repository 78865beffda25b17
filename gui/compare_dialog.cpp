#include "gui/compare_dialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <cmath>
#include <limits>
#include <optional>

#include "sim/estimate.h"
#include "sim/serve/analytic.h"
#include "gui/table/table_model.h"

namespace fathom::gui {

std::vector<std::pair<std::string, double>> compare_figures(const sim::Scenario& s) {
  std::vector<std::pair<std::string, double>> out;
  if (s.serve) {
    // The scenario's serve.iteration, or the typical batch of its workload (a file with only a
    // workload has no iteration of its own: serve::analyze_serving prices its typical batch).
    const serve::ServeAnalysis a = serve::analyze_serving(s);
    const sim::EstimateResult& r = a.iteration;
    out.emplace_back("serve: iteration time (s)", r.total_s);
    out.emplace_back("serve: tokens/s per replica", r.tokens_per_s);
    out.emplace_back("serve: MFU", r.mfu);
    out.emplace_back("serve: GPUs per replica", r.gpus);
    out.emplace_back("serve: weights per GPU (GB)", r.memory.weights_bytes / 1e9);
    out.emplace_back("serve: KV cache per GPU (GB)", r.memory.kv_cache_bytes / 1e9);
    out.emplace_back("serve: $/M tokens", r.usd_per_million_tokens);
    out.emplace_back("serve: KV cache capacity (tokens per replica)", static_cast<double>(a.kv_tokens));
  }
  if (s.train) {
    const sim::EstimateResult r = sim::estimate(s, sim::EstimateKind::kTrainStep);
    out.emplace_back("train: step time (s)", r.total_s);
    out.emplace_back("train: tokens/s", r.tokens_per_s);
    out.emplace_back("train: MFU", r.mfu);
    out.emplace_back("train: GPUs", r.gpus);
    out.emplace_back("train: weights per GPU (GB)", r.memory.weights_bytes / 1e9);
    if (r.train_time_s > 0) {
      out.emplace_back("train: days to train", r.train_time_s / 86400);
      out.emplace_back("train: GPU-hours", r.gpu_hours);
      out.emplace_back("train: $ to train", r.train_usd);
    }
  }
  return out;
}

Table compare_table(const std::vector<std::pair<std::string, double>>& a,
                    const std::vector<std::pair<std::string, double>>& b) {
  Table t;
  t.columns = {{"figure", "sim::estimate of each scenario (cost chain, docs/cost_model.md)"},
               {"A", "the left scenario"},
               {"B", "the right scenario"},
               {"B − A", "difference"},
               {"(B − A)/A", "relative difference", 3}};
  std::vector<std::string> names;
  for (const auto& [n, v] : a) names.push_back(n);
  for (const auto& [n, v] : b) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  auto find = [](const auto& list, const std::string& n) -> std::optional<double> {
    for (const auto& [k, v] : list) {
      if (k == n) return v;
    }
    return std::nullopt;
  };
  for (const auto& n : names) {
    const auto va = find(a, n), vb = find(b, n);
    std::vector<Cell> row{Cell::text(n)};
    row.push_back(va ? Cell::number(*va) : Cell::text("—"));
    row.push_back(vb ? Cell::number(*vb) : Cell::text("—"));
    if (va && vb) {
      row.push_back(Cell::number(*vb - *va));
      row.push_back(*va != 0 ? Cell::number((*vb - *va) / *va) : Cell::text("—"));
    } else {
      row.push_back(Cell::text("—"));
      row.push_back(Cell::text("—"));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

CompareDialog::CompareDialog(AppContext& context, QWidget* parent) : QDialog(parent), context_(context) {
  setWindowTitle("Compare scenarios");
  resize(820, 520);
  auto* layout = new QVBoxLayout(this);
  auto* grid = new QGridLayout;
  left_name_ = new QLabel("A: (none)", this);
  right_name_ = new QLabel("B: (none)", this);
  auto* pick_left = new QPushButton("Choose A…", this);
  auto* pick_right = new QPushButton("Choose B…", this);
  grid->addWidget(left_name_, 0, 0);
  grid->addWidget(pick_left, 0, 1);
  grid->addWidget(right_name_, 1, 0);
  grid->addWidget(pick_right, 1, 1);
  grid->setColumnStretch(0, 1);
  layout->addLayout(grid);
  error_ = new QLabel(this);
  error_->setStyleSheet("color: #b00020;");
  error_->setWordWrap(true);
  layout->addWidget(error_);
  table_ = new TableView(false, this);
  layout->addWidget(table_, 1);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  const QString dir = QString::fromStdString(context_.data("scenarios"));
  connect(pick_left, &QPushButton::clicked, this, [this, dir] {
    const QString p = QFileDialog::getOpenFileName(this, "Scenario A", dir, "Scenario (*.yaml *.yml)");
    if (!p.isEmpty()) set_left_file(p);
  });
  connect(pick_right, &QPushButton::clicked, this, [this, dir] {
    const QString p = QFileDialog::getOpenFileName(this, "Scenario B", dir, "Scenario (*.yaml *.yml)");
    if (!p.isEmpty()) set_right_file(p);
  });
}

void CompareDialog::set_left(const ScenarioDoc& doc) {
  left_ = doc;
  has_left_ = true;
  refresh();
}

void CompareDialog::set_right(const ScenarioDoc& doc) {
  right_ = doc;
  has_right_ = true;
  refresh();
}

namespace {
// The scenario file at `path`, or its error on `error`.
std::optional<ScenarioDoc> read_doc(const QString& path, QLabel* error) {
  ScenarioDoc d;
  try {
    d.load_file(path.toStdString());
  } catch (const std::exception& e) {
    error->setText(QString::fromStdString(e.what()));
    return std::nullopt;
  }
  return d;
}
}  // namespace

void CompareDialog::set_left_file(const QString& path) {
  if (auto d = read_doc(path, error_)) set_left(*d);
}

void CompareDialog::set_right_file(const QString& path) {
  if (auto d = read_doc(path, error_)) set_right(*d);
}

const Table& CompareDialog::table() const { return table_->table(); }
QString CompareDialog::error() const { return error_->text(); }

void CompareDialog::refresh() {
  error_->clear();
  left_name_->setText("A: " + (has_left_ ? QString::fromStdString(left_.name()) + (left_.edits().empty() ? "" : " (edited)") : "(none)"));
  right_name_->setText("B: " + (has_right_ ? QString::fromStdString(right_.name()) + (right_.edits().empty() ? "" : " (edited)") : "(none)"));
  std::vector<std::pair<std::string, double>> a, b;
  try {
    if (has_left_) a = compare_figures(left_.resolve(context_.hardware(), context_.models()).scenario);
  } catch (const std::exception& e) {
    error_->setText("A: " + QString::fromStdString(e.what()));
  }
  try {
    if (has_right_) b = compare_figures(right_.resolve(context_.hardware(), context_.models()).scenario);
  } catch (const std::exception& e) {
    error_->setText(error_->text() + (error_->text().isEmpty() ? "" : "\n") + "B: " + QString::fromStdString(e.what()));
  }
  table_->set_table(compare_table(a, b));
}

}  // namespace fathom::gui
