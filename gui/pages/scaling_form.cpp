#include "gui/pages/scaling_form.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <filesystem>

#include "common/error.h"
#include "common/flag_values.h"
#include "fit/law.h"

namespace fathom::gui {

namespace fs = std::filesystem;

namespace {

const char* kFormulaChoice = "(formula)";
const char* kLawsOwn = "";

// Fields that take a list, one entry per flag, separated by ';'.
const char* const kListFields[] = {"column", "fix", "grid", "bounds", "range", "at"};

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "; " : "") + v[i];
  return s;
}

}  // namespace

std::vector<ScalingExample> scaling_examples(const std::string& data_dir) {
  const fs::path root = fs::path(data_dir).parent_path();
  const fs::path tests = root / "tests" / "data" / "fit";
  const fs::path shared = root.parent_path() / "shared" / "datasets";
  auto at = [](const fs::path& p) { return p.lexically_normal().string(); };
  std::vector<ScalingExample> all = {
      {"Synthetic Chinchilla runs: 5 sizes x 7 token counts (built-in)", at(tests / "scaling_small.csv"), "chinchilla",
       "", {}, {}, {}, 0, 200, {"D", "N"}},
      {"Synthetic latency against load, catalog law (built-in)", at(tests / "latency_small.csv"), "latency_load", "",
       {"lambda=rate", "W=latency"}, {}, {}, 0, 200, {"rate", ""}},
      {"Synthetic latency against load, a formula (built-in)", at(tests / "latency_small.csv"), "",
       "latency = l0 + c*(rate/mu)/(1 - rate/mu)", {}, {"mu=45,60,100"}, {}, 0, 200, {"rate", ""}},
      {"Chinchilla runs, Epoch AI reconstruction (public)", at(shared / "chinchilla" / "svg_extracted_data.csv"),
       "chinchilla", "", {"N=`Model Size`", "D=`Training FLOP`/(6*N)", "L=loss"}, {}, {}, 5, 0, {"N", "D"}},
      {"Data-constrained runs, Muennighoff et al. 2023, stage 2 (public)",
       at(shared / "muennighoff2023_datablations" / "datablations_c4_fitset182_derived.csv"), "data_constrained", "",
       {"N=N_params", "D=D_total_tokens", "U=U_unique_tokens", "L=val_loss_c4"}, {},
       {"a=6.255414", "b=7.3049974", "e=0.6254804", "alpha=0.3526596", "beta=0.3526596"}, 0, 0, {"D", "N"}},
  };
  std::vector<ScalingExample> out;
  for (auto& e : all)
    if (fs::is_regular_file(e.file)) out.push_back(std::move(e));
  return out;
}

FieldError locate_fit_error(const std::string& message, const std::string& data_file) {
  static const std::vector<std::pair<std::string, std::string>> flags = {
      {"--formula", "formula"}, {"--response", "response"}, {"--column", "column"}, {"--law", "law"},
      {"--space", "space"}, {"--loss", "loss"}, {"--method", "method"}, {"--fix", "fix"}, {"--grid", "grid"},
      {"--bounds", "bounds"}, {"--range", "range"}, {"--random-starts", "random-starts"}, {"--no-grid", "random-starts"},
      {"--starts", "random-starts"}, {"--drop-highest", "drop-highest"}, {"--bootstrap", "bootstrap"},
      {"--level", "level"}, {"--seed", "seed"}, {"--threads", "threads"}, {"--x", "x"}, {"--series", "series"},
      {"--compute", "compute"}, {"--flops-per-param-token", "flops-per-param-token"}, {"--at", "at"},
      {"optimal", "law"}};
  for (const auto& [flag, field] : flags) {
    if (message.rfind(flag, 0) != 0) continue;
    const size_t colon = message.find(": ");
    // "--column N: ..." names the definition; the message keeps it.
    const bool named = colon != std::string::npos && colon > flag.size() && message[flag.size()] == ' ';
    return {field, named || colon == std::string::npos ? message : message.substr(colon + 2)};
  }
  if (message.find("expected a column '") != std::string::npos) return {"column", message};
  if (message.find(": --column ") != std::string::npos) return {"column", message};
  if (!data_file.empty() && message.rfind(data_file, 0) == 0) return {"data", message};
  return {"", message};
}

ScalingForm::ScalingForm(const AppContext& context, QWidget* parent) : QWidget(parent) {
  examples_ = scaling_examples(context.data_dir());
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QHBoxLayout;
  example_ = new QComboBox(this);
  example_->setObjectName("example");
  example_->setToolTip("A dataset with the flags that fit it (docs/gui-scaling.md lists them); public ones appear when "
                       "../shared/datasets is present");
  for (const auto& e : examples_) example_->addItem(QString::fromStdString(e.name));
  example_->setCurrentIndex(-1);
  top->addWidget(new QLabel("Example", this));
  top->addWidget(example_, 1);
  auto* open = new QPushButton("Open CSV...", this);
  open->setObjectName("open_csv");
  open->setToolTip("Choose the data file (DATA.csv of `fathom fit`)");
  top->addWidget(open);
  layout->addLayout(top);

  form_ = new FieldForm(this);
  layout->addWidget(form_);
  FieldForm& f = *form_;
  QStringList files;
  for (const auto& e : examples_)
    if (!files.contains(QString::fromStdString(e.file))) files << QString::fromStdString(e.file);
  f.add_section("Data and law");
  f.add_choice("data", "Data (CSV)", files, "DATA.csv: a header row, '#' comment lines before it (the positional "
                                            "argument of `fathom fit`)", true);
  QStringList laws;
  for (const auto& n : fit::law_names()) laws << QString::fromStdString(n);
  laws << kFormulaChoice;
  f.add_choice("law", "Law", laws, "--law NAME: a law of the catalog (fathom fit --list), or (formula) for the "
                                   "formula below");
  f.add_text("formula", "Formula", "--formula 'Y = EXPRESSION': names that are columns are variables, the others "
                                   "parameters (docs/fitting.md, Your own formula)");
  f.add_text("response", "Response", "--response NAME: y of a formula written without '='");
  f.add_text("column", "Columns", "--column NAME=EXPRESSION, one per definition separated by ';' (names with "
                                  "spaces in backquotes; later definitions may use earlier ones)");
  f.add_section("Procedure (empty: the law's own)");
  f.add_choice("space", "Residuals", {kLawsOwn, "log", "data"}, "--space log|data");
  f.add_choice("loss", "Robust loss", {kLawsOwn, "none", "huber:0.001", "cauchy:0.1"}, "--loss none|huber:DELTA|cauchy:SCALE", true);
  f.add_choice("method", "Optimiser", {kLawsOwn, "lm", "lbfgs"}, "--method lm|lbfgs");
  f.add_text("fix", "Fix", "--fix NAME=VALUE; ...: parameters held at a value");
  f.add_text("grid", "Start grids", "--grid NAME=v1,v2,...; ...: a parameter's start values");
  f.add_text("bounds", "Bounds", "--bounds NAME=LOW:HIGH; ...");
  f.add_text("range", "Random ranges", "--range NAME=LOW:HIGH; ...: where random starts are drawn");
  f.add_int("random-starts", "Random starts", 0, 10000000, "--random-starts N: added to the grid");
  f.add_int("drop-highest", "Drop highest", 0, 1000000, "--drop-highest K: leave out the K rows of highest response");
  f.add_section("Uncertainty");
  f.add_int("bootstrap", "Bootstrap resamples", 0, 1000000, "--bootstrap R: refits of R resamples of the points, for "
                                                            "percentile intervals (0: none)");
  f.add_number("level", "Level", 0.5, 0.999, 3, "--level: of the bootstrap intervals and the curves' bands");
  f.add_int("seed", "Seed", 0, 2147483647, "--seed N: of the random starts and the resamples");
  f.add_int("threads", "Threads", 0, 1024, "--threads N (0: all cores); changes only the speed, never the numbers");
  f.add_section("Plot");
  f.add_choice("x", "x axis", {}, "fathom-plot fit --x COLUMN: any column of the file or a definition");
  f.add_choice("series", "Series", {}, "fathom-plot fit --series COLUMN: the column whose values group the points "
                                       "(at most 12 values, else 6 ranges); empty: one group");
  f.add_section("Compute-optimal allocation (laws of N and D)");
  f.add_text("compute", "Budgets (FLOP)", "fathom optimal --compute C1,C2,...; empty: the powers of ten the data's "
                                          "k N D spans");
  f.add_number("flops-per-param-token", "k in C = k N D", 0.001, 1000, 3, "--flops-per-param-token K (6: 2 forward + "
                                                                          "4 backward FLOPs per parameter per token)");
  f.add_text("at", "Other variables", "--at NAME=VALUE; ...: the law's variables other than N and D (U of "
                                      "data_constrained)");
  f.set_value("level", "0.95");
  f.set_value("seed", "1");
  f.set_value("flops-per-param-token", "6");
  // The field tips say which flag each is; FieldForm's "YAML: path" line would mislead here.
  for (const auto& path : f.paths()) {
    QWidget* w = f.editor(path);
    QString tip = w->toolTip();
    tip = tip.left(tip.lastIndexOf("\nYAML: "));
    w->setToolTip(tip);
    for (auto* label : f.findChildren<QLabel*>())
      if (label->buddy() == w) label->setToolTip(tip);
  }

  // Long file names and example titles scroll inside their boxes rather than widen the form.
  for (auto* box : findChildren<QComboBox*>()) {
    box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    box->setMinimumContentsLength(12);
  }

  connect(form_, &FieldForm::edited, this, [this](const std::string& path, const std::string&) { emit edited(path); });
  connect(example_, &QComboBox::activated, this, [this](int i) {
    if (i >= 0) load_example(static_cast<size_t>(i));
  });
  connect(open, &QPushButton::clicked, this, &ScalingForm::browse);
}

void ScalingForm::browse() {
  const QString start = QString::fromStdString(form_->value("data"));
  const QString path = QFileDialog::getOpenFileName(this, "Open a CSV of measurements", start, "CSV (*.csv);;All files (*)");
  if (path.isEmpty()) return;
  form_->set_value("data", path.toStdString());
  emit edited("data");
}

void ScalingForm::load_example(size_t index) {
  if (index >= examples_.size()) return;
  const ScalingExample& e = examples_[index];
  example_->setCurrentIndex(static_cast<int>(index));
  FieldForm& f = *form_;
  f.set_value("data", e.file);
  f.set_value("law", e.law.empty() ? kFormulaChoice : e.law);
  f.set_value("formula", e.formula);
  f.set_value("response", "");
  f.set_value("column", joined(e.columns));
  for (const char* p : {"space", "loss", "method", "bounds", "range", "at", "compute"}) f.set_value(p, "");
  f.set_value("fix", joined(e.fix));
  f.set_value("grid", joined(e.grid));
  f.set_value("random-starts", "0");
  f.set_value("drop-highest", std::to_string(e.drop_highest));
  f.set_value("bootstrap", std::to_string(e.bootstrap));
  f.set_value("x", e.axes.x);
  f.set_value("series", e.axes.series);
  emit edited("example");
}

std::vector<std::string> ScalingForm::list(const std::string& field) const {
  std::vector<std::string> out;
  const std::string text = form_->value(field);
  size_t i = 0;
  while (i <= text.size()) {
    const size_t semi = text.find(';', i);
    const std::string item = trim(text.substr(i, semi == std::string::npos ? std::string::npos : semi - i));
    if (!item.empty()) out.push_back(item);
    if (semi == std::string::npos) break;
    i = semi + 1;
  }
  return out;
}

fit::FitSpec ScalingForm::spec() const {
  fit::FitSpec s;
  s.data = form_->value("data");
  const std::string law = form_->value("law");
  if (law == kFormulaChoice) {
    s.formula = form_->value("formula");
    if (s.formula.empty()) throw FlagError("--formula", "expected 'Y = EXPRESSION' (Law is (formula)), found nothing");
    s.response = form_->value("response");
  } else {
    s.law = law;
  }
  s.columns = list("column");
  s.space = form_->value("space");
  s.loss = form_->value("loss");
  s.method = form_->value("method");
  s.fix = list("fix");
  s.grid = list("grid");
  s.bounds = list("bounds");
  s.ranges = list("range");
  s.random_starts = std::stoll(form_->value("random-starts"));
  s.drop_highest = std::stoll(form_->value("drop-highest"));
  s.seed = std::stoll(form_->value("seed"));
  s.threads = std::stoll(form_->value("threads"));
  return s;
}

int ScalingForm::bootstrap() const { return std::stoi(form_->value("bootstrap")); }
double ScalingForm::level() const { return std::stod(form_->value("level")); }
FitAxes ScalingForm::axes() const { return {form_->value("x"), form_->value("series")}; }
double ScalingForm::flops_per_param_token() const { return std::stod(form_->value("flops-per-param-token")); }
std::vector<std::string> ScalingForm::at() const { return list("at"); }

std::vector<double> ScalingForm::budgets() const {
  const std::string text = form_->value("compute");
  return text.empty() ? std::vector<double>{} : parse_list(text, "--compute");
}

void ScalingForm::set_columns(const std::vector<std::string>& columns, const FitAxes& fallback) {
  QStringList names;
  for (const auto& c : columns) names << QString::fromStdString(c);
  const FitAxes now = axes();
  for (const auto& [field, keep, other, blank] :
       {std::tuple{"x", now.x, fallback.x, false}, std::tuple{"series", now.series, fallback.series, true}}) {
    auto* box = static_cast<QComboBox*>(form_->editor(field));
    const bool valid = (blank && keep.empty()) || names.contains(QString::fromStdString(keep));
    const std::string choice = valid && !(keep.empty() && !blank) ? keep : other;
    QStringList items = names;
    if (blank) items.prepend("");
    const QSignalBlocker block(box);
    box->clear();
    box->addItems(items);
    box->setCurrentIndex(-1);
    form_->set_value(field, choice);
  }
}

void ScalingForm::show_error(const std::string& message) { form_->show_error(locate_fit_error(message, form_->value("data"))); }

}  // namespace fathom::gui
