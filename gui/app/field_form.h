#pragma once
// A form whose every field is bound to a path of the scenario YAML (`serve.parallel.tp`). An edit
// emits (path, value as YAML flow text), which the page turns into a ScenarioDoc edit; loading a
// resolved scenario fills the fields without emitting; a library error about a path appears in
// red under that field, and any other error under the form.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <map>
#include <string>
#include <vector>

#include "gui/app/scenario_doc.h"

QT_BEGIN_NAMESPACE
class QFormLayout;
class QLabel;
class QComboBox;
class QSpinBox;
class QDoubleSpinBox;
class QLineEdit;
QT_END_NAMESPACE

namespace YAML {
class Node;
}

namespace fathom::gui {

class FieldForm : public QWidget {
  Q_OBJECT
 public:
  explicit FieldForm(QWidget* parent = nullptr);

  void add_section(const QString& title);
  // A choice among `options`; `editable` also takes typed text (a path to a model file).
  QComboBox* add_choice(const std::string& path, const QString& label, const QStringList& options,
                        const QString& tip, bool editable = false);
  QSpinBox* add_int(const std::string& path, const QString& label, int min, int max, const QString& tip);
  QDoubleSpinBox* add_number(const std::string& path, const QString& label, double min, double max, int decimals,
                             const QString& tip, const QString& suffix = {});
  QLineEdit* add_text(const std::string& path, const QString& label, const QString& tip);

  // Fills every field from the document (the resolved scenario's YAML) without emitting `edited`.
  // A field whose path is absent keeps `fallback` where given, else is cleared.
  void load(const YAML::Node& root);
  // The field's value as YAML flow text ("" when empty).
  std::string value(const std::string& path) const;
  // Sets a field without emitting `edited`.
  void set_value(const std::string& path, const std::string& text);
  bool has_field(const std::string& path) const { return fields_.count(path) > 0; }
  QWidget* editor(const std::string& path) const;
  std::vector<std::string> paths() const;

  // Shows `e` under its field, or under the form when no field has its path.
  void show_error(const FieldError& e);
  void clear_errors();
  QString error_text(const std::string& path) const;  // "" when none
  QString form_error() const;

 signals:
  void edited(const std::string& path, const std::string& value);

 private:
  struct Field {
    QWidget* editor = nullptr;
    QLabel* error = nullptr;
  };
  void add_row(const std::string& path, const QString& label, QWidget* editor, const QString& tip);
  void emit_edit(const std::string& path);

  QFormLayout* layout_;
  QLabel* form_error_;
  std::map<std::string, Field> fields_;
  std::vector<std::string> order_;
  bool loading_ = false;
};

}  // namespace fathom::gui
