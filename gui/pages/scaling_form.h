#pragma once
// The Scaling laws page's form: the flags of `fathom fit` (data, law or formula, response,
// --column, the procedure's overrides, the bootstrap) and of `fathom optimal` (--compute,
// --flops-per-param-token, --at) as fields named after their flags, the plot's axes, and the
// built-in and public example datasets. Each field's text is passed to the library as the flag's
// text (fit::prepare_fit), so a field rejects what the command rejects, with the same message.
#include <QStringList>
#include <QWidget>
#include <string>
#include <vector>

#include "fit/problem.h"
#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "gui/pages/scaling_charts.h"

QT_BEGIN_NAMESPACE
class QComboBox;
QT_END_NAMESPACE

namespace fathom::gui {

// A dataset with the flags that fit it (docs/fitting.md, docs/user_guide.md).
struct ScalingExample {
  std::string name;
  std::string file;  // absolute path
  std::string law, formula;
  std::vector<std::string> columns, grid, fix;
  int64_t drop_highest = 0;
  int64_t bootstrap = 0;
  FitAxes axes;
};
// The built-in examples (tests/data/fit beside the data folder) and the public datasets of
// ../shared/datasets (Chinchilla as reconstructed by Epoch AI, Muennighoff et al. 2023) where
// those files exist; built-in ones first.
std::vector<ScalingExample> scaling_examples(const std::string& data_dir);

// The field an error message concerns: "--NAME: ..." is the field NAME ("--column N: ..." too); a
// missing column of the law is --column's (map one there); a problem with the file's contents
// is the data field's; anything else belongs to no field.
FieldError locate_fit_error(const std::string& message, const std::string& data_file);

class ScalingForm : public QWidget {
  Q_OBJECT
 public:
  ScalingForm(const AppContext& context, QWidget* parent = nullptr);

  const std::vector<ScalingExample>& examples() const { return examples_; }
  // Fills every field from the example without emitting `edited`, then emits it once ("example").
  void load_example(size_t index);

  // The fields as `fathom fit`'s inputs. Lists (--column, --fix, --grid, --bounds, --range, --at)
  // are written one per entry separated by ';' (none of the flags' grammars uses it).
  fit::FitSpec spec() const;
  int bootstrap() const;
  double level() const;
  FitAxes axes() const;
  // --compute (empty: the decades of the data), FlagError("--compute") for text that is not a list.
  std::vector<double> budgets() const;
  double flops_per_param_token() const;
  std::vector<std::string> at() const;

  // The columns the x and series fields offer (a prepared problem's), keeping the current choices
  // where they are still columns, else `fallback`'s.
  void set_columns(const std::vector<std::string>& columns, const FitAxes& fallback);

  void show_error(const std::string& message);
  void clear_errors() { form_->clear_errors(); }
  FieldForm& fields() { return *form_; }
  QString error_text(const std::string& field) const { return form_->error_text(field); }

 signals:
  // A field changed: its flag name ("law", "bootstrap", "x", ...), or "example".
  void edited(const std::string& field);

 private:
  void browse();
  std::vector<std::string> list(const std::string& field) const;

  FieldForm* form_;
  QComboBox* example_;
  std::vector<ScalingExample> examples_;
};

}  // namespace fathom::gui
