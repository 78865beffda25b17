#include "gui/app/field_form.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>
#include <yaml-cpp/yaml.h>

#include "common/yaml.h"

namespace fathom::gui {

namespace {

// The scalar at a dotted path ("a.b.c"), or none.
std::optional<std::string> scalar_at(const YAML::Node& root, const std::string& path) {
  YAML::Node cur = YAML::Clone(root);
  size_t i = 0;
  while (i <= path.size()) {
    const size_t dot = path.find('.', i);
    const std::string key = path.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (!cur.IsMap() || !cur[key]) return std::nullopt;
    cur = cur[key];
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  if (cur.IsScalar()) return cur.Scalar();
  if (cur.IsSequence() || cur.IsMap()) {
    YAML::Emitter e;
    e << YAML::Flow << cur;
    return std::string(e.c_str());
  }
  return std::nullopt;
}

}  // namespace

FieldForm::FieldForm(QWidget* parent) : QWidget(parent) {
  auto* outer = new QVBoxLayout(this);
  layout_ = new QFormLayout;
  layout_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  outer->addLayout(layout_);
  form_error_ = new QLabel(this);
  form_error_->setStyleSheet("color: #b00020;");
  form_error_->setWordWrap(true);
  form_error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form_error_->hide();
  outer->addWidget(form_error_);
  outer->addStretch(1);
}

void FieldForm::add_section(const QString& title) {
  auto* label = new QLabel("<b>" + title + "</b>", this);
  layout_->addRow(label);
}

void FieldForm::add_row(const std::string& path, const QString& label, QWidget* editor, const QString& tip) {
  auto* box = new QWidget(this);
  auto* v = new QVBoxLayout(box);
  v->setContentsMargins(0, 0, 0, 0);
  v->setSpacing(1);
  v->addWidget(editor);
  auto* error = new QLabel(box);
  error->setStyleSheet("color: #b00020;");
  error->setWordWrap(true);
  error->hide();
  v->addWidget(error);
  const QString full_tip = tip + (tip.isEmpty() ? "" : "\n") + "YAML: " + QString::fromStdString(path);
  editor->setToolTip(full_tip);
  editor->setObjectName(QString::fromStdString(path));
  auto* name = new QLabel(label, this);
  name->setToolTip(full_tip);
  name->setBuddy(editor);
  layout_->addRow(name, box);
  fields_[path] = {editor, error};
  order_.push_back(path);
}

QComboBox* FieldForm::add_choice(const std::string& path, const QString& label, const QStringList& options,
                                 const QString& tip, bool editable) {
  auto* c = new QComboBox(this);
  c->setEditable(editable);
  c->addItems(options);
  c->setCurrentIndex(-1);
  add_row(path, label, c, tip);
  connect(c, &QComboBox::currentTextChanged, this, [this, path] { emit_edit(path); });
  return c;
}

QSpinBox* FieldForm::add_int(const std::string& path, const QString& label, int min, int max, const QString& tip) {
  auto* s = new QSpinBox(this);
  s->setRange(min, max);
  add_row(path, label, s, tip);
  connect(s, &QSpinBox::valueChanged, this, [this, path] { emit_edit(path); });
  return s;
}

QDoubleSpinBox* FieldForm::add_number(const std::string& path, const QString& label, double min, double max,
                                      int decimals, const QString& tip, const QString& suffix) {
  auto* s = new QDoubleSpinBox(this);
  s->setRange(min, max);
  s->setDecimals(decimals);
  if (!suffix.isEmpty()) s->setSuffix(" " + suffix);
  add_row(path, label, s, tip);
  connect(s, &QDoubleSpinBox::valueChanged, this, [this, path] { emit_edit(path); });
  return s;
}

QLineEdit* FieldForm::add_text(const std::string& path, const QString& label, const QString& tip) {
  auto* e = new QLineEdit(this);
  add_row(path, label, e, tip);
  connect(e, &QLineEdit::editingFinished, this, [this, path] { emit_edit(path); });
  return e;
}

void FieldForm::emit_edit(const std::string& path) {
  if (loading_) return;
  emit edited(path, value(path));
}

QWidget* FieldForm::editor(const std::string& path) const {
  auto it = fields_.find(path);
  return it == fields_.end() ? nullptr : it->second.editor;
}

std::vector<std::string> FieldForm::paths() const { return order_; }

std::string FieldForm::value(const std::string& path) const {
  QWidget* w = editor(path);
  if (auto* c = qobject_cast<QComboBox*>(w)) return c->currentText().trimmed().toStdString();
  if (auto* s = qobject_cast<QSpinBox*>(w)) return std::to_string(s->value());
  if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) return yaml_number(d->value());
  if (auto* e = qobject_cast<QLineEdit*>(w)) return e->text().trimmed().toStdString();
  return {};
}

void FieldForm::set_value(const std::string& path, const std::string& text) {
  QWidget* w = editor(path);
  if (!w) return;
  const bool was = loading_;
  loading_ = true;
  const QString t = QString::fromStdString(text);
  if (auto* c = qobject_cast<QComboBox*>(w)) {
    int i = c->findText(t);
    if (i < 0 && !t.isEmpty()) {
      c->addItem(t);
      i = c->count() - 1;
    }
    c->setCurrentIndex(i);
  } else if (auto* s = qobject_cast<QSpinBox*>(w)) {
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (ok && std::isfinite(v)) s->setValue(static_cast<int>(std::clamp(v, double(s->minimum()), double(s->maximum()))));
  } else if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) {
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (ok) d->setValue(v);
  } else if (auto* e = qobject_cast<QLineEdit*>(w)) {
    e->setText(t);
  }
  loading_ = was;
}

void FieldForm::load(const YAML::Node& root) {
  for (const auto& path : order_) {
    if (auto v = scalar_at(root, path)) set_value(path, *v);
  }
}

void FieldForm::show_error(const FieldError& e) {
  auto it = fields_.find(e.field);
  if (it != fields_.end()) {
    it->second.error->setText(QString::fromStdString(e.message));
    it->second.error->show();
  } else {
    form_error_->setText(QString::fromStdString(e.field.empty() ? e.message : e.field + ": " + e.message));
    form_error_->show();
  }
}

void FieldForm::clear_errors() {
  for (auto& [p, f] : fields_) {
    f.error->clear();
    f.error->hide();
  }
  form_error_->clear();
  form_error_->hide();
}

QString FieldForm::error_text(const std::string& path) const {
  auto it = fields_.find(path);
  return it == fields_.end() ? QString() : it->second.error->text();
}

QString FieldForm::form_error() const { return form_error_->text(); }

}  // namespace fathom::gui
