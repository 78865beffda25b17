// The Hardware page's calibration half (gui/pages/hardware_page.h): a calibration database read
// on a worker thread, the device and profile that price the selected GPU, and the roofline,
// provenance and report they give. Every number comes from hw::, calib:: and store:: calls.
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "calib/profile_fit.h"
#include "calib/suite.h"
#include "calib/synthetic.h"
#include "common/error.h"
#include "common/version.h"
#include "common/yaml.h"
#include "gui/app/scenario_doc.h"
#include "gui/app/task.h"
#include "gui/chart/chart_qt.h"
#include "gui/pages/hardware_page.h"
#include "gui/pages/hardware_views.h"
#include "gui/table/table_model.h"
#include "hw/efficiency_provenance.h"

namespace fathom::gui {

void HardwarePage::build_calibration_row(QWidget* box) {
  auto* row = new QHBoxLayout;
  auto* open = new QPushButton("Calibration database…", box);
  open->setToolTip("Open a calibration database (fathom calib run|synth|import-torch --db FILE) read-only: its measurements "
                   "become points of the roofline, its newest profile the lines (as fathom calib report does)");
  auto* profile = new QPushButton("Profile…", box);
  profile->setToolTip("Use a calibrated profile file (fathom calib fit --out FILE) for the GPU it was fitted on");
  db_label_ = new QLabel("no calibration database", box);
  db_label_->setObjectName("database");
  device_box_ = new QComboBox(box);
  device_box_->setToolTip("The database's device shown (calib report --device)");
  device_box_->hide();
  profile_box_ = new QComboBox(box);
  profile_box_->setObjectName("profile");
  profile_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  profile_box_->setToolTip("What prices the selected GPU's kernels: the database's newest profile, a profile file, the "
                           "catalog's calibrated profile, or the documented defaults");
  types_box_ = new QComboBox(box);
  types_box_->setObjectName("types");
  types_box_->setToolTip("Data types drawn on the roofline");
  types_box_->addItems({"bf16 and fp8", "all"});
  for (DType t : kAllDTypes) types_box_->addItem(QString::fromStdString(to_string(t)));
  db_label_->setWordWrap(true);
  row->addWidget(open);
  row->addWidget(profile);
  row->addWidget(device_box_);
  row->addWidget(new QLabel("priced by", box));
  row->addWidget(profile_box_);
  row->addWidget(types_box_);
  row->addStretch(1);
  auto* column = static_cast<QVBoxLayout*>(box->layout());
  column->addLayout(row);
  column->addWidget(db_label_);

  connect(open, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Calibration database", {}, "Fathom database (*.sqlite *.db);;All files (*)");
    if (!path.isEmpty()) open_database(path);
  });
  connect(profile, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Calibrated profile", {}, "Profile (*.yaml *.yml);;All files (*)");
    if (!path.isEmpty()) open_profile(path);
  });
  connect(device_box_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (db_ && i >= 0 && i != device_) choose_device(i);
  });
  connect(profile_box_, &QComboBox::currentIndexChanged, this, [this](int) { refresh(); });
  connect(types_box_, &QComboBox::currentIndexChanged, this, [this](int) { refresh(); });
  connect(task_, &Task::failed, this, [this](const QString& message) { show_error(message); });
  connect(task_, &Task::cancelled, this, [this](const QString& message) { show_error("stopped: " + message); });
  connect(task_, &Task::progress, this, [this](double, const QString& text) { db_label_->setText(text); });
}

std::shared_ptr<HardwarePage::Database> HardwarePage::read_database(const std::string& path) {
  auto db = std::make_shared<Database>();
  db->path = path;
  // Read-only, as calib report opens it: nothing in the file or beside it changes.
  const store::CalibStore store = store::CalibStore::open_read(path);
  db->devices = store.devices();
  if (db->devices.empty()) throw InputError(path, "expected a calibration database with measurements, found no device");
  db->runs = store.runs();
  db->measurements = store.measurements();
  db->profiles = store.profiles();
  return db;
}

void HardwarePage::start(std::function<std::shared_ptr<Database>(const std::atomic<bool>&,
                                                                 const std::function<void(double, const std::string&)>&)>
                             work) {
  const bool ok = task_->start([this, work](const std::atomic<bool>& cancel, const Task::Progress& report) {
    std::shared_ptr<Database> db = work(cancel, report);
    return std::function<void()>([this, db] { show_database(db); });
  });
  if (!ok) show_error("a database is still being read; wait for it");
  emit changed();
}

void HardwarePage::open_database(const QString& path) {
  const std::string p = path.toStdString();
  start([p](const std::atomic<bool>&, const std::function<void(double, const std::string&)>& report) {
    report(-1, "reading " + p);
    return read_database(p);
  });
}

void HardwarePage::show_database(std::shared_ptr<Database> db) {
  error_->hide();
  db_ = std::move(db);
  device_ = -1;
  report_cached_ = false;
  {
    const QSignalBlocker block(device_box_);
    device_box_->clear();
    for (const auto& d : db_->devices) device_box_->addItem(QString::fromStdString(d.name + " (" + d.uuid + ")"));
    device_box_->setVisible(db_->devices.size() > 1);
  }
  // The device measured on the selected GPU if there is one, else the first.
  int pick = 0;
  for (size_t i = 0; i < db_->devices.size(); ++i) {
    const hw::GpuSpec* g = calib::match_catalog_gpu(db_->devices[i].name, context_.hardware().gpus());
    if (g && g->name == gpu_) pick = static_cast<int>(i);
  }
  choose_device(pick);
}

void HardwarePage::choose_device(int index) {
  device_ = index;
  const store::DeviceRecord& dev = db_->devices[static_cast<size_t>(index)];
  {
    const QSignalBlocker block(device_box_);
    device_box_->setCurrentIndex(index);
  }
  // The catalog GPU whose datasheet is the reference, as calib report picks it: by the device's
  // name, else the selected GPU (the command line then says --gpu).
  const hw::GpuSpec* g = calib::match_catalog_gpu(dev.name, context_.hardware().gpus());
  db_gpu_matched_ = g != nullptr;
  if (!g) g = gpu_.empty() ? &context_.hardware().gpus().front() : context_.hardware().find_gpu(gpu_);
  db_gpu_ = calib::fitting_gpu(*g, dev);

  std::set<int64_t> runs;
  db_synthetic_ = false;
  for (const auto& r : db_->runs) {
    if (r.device_id != dev.id) continue;
    runs.insert(r.id);
    db_synthetic_ = db_synthetic_ || r.kind == "synthetic";
  }
  device_measurements_.clear();
  for (const auto& m : db_->measurements)
    if (runs.count(m.run_id)) device_measurements_.push_back(m);
  points_ = calib::roofline_points(device_measurements_);

  // The newest profile stored for the device, as calib report uses it.
  stored_profile_.reset();
  stored_label_.clear();
  for (const auto& p : db_->profiles) {
    if (p.device_id != dev.id) continue;
    const std::string label = fmt::format("{} (profile {}, {})", db_->path, p.id, p.created_at);
    try {
      auto prof = std::make_shared<hw::CalibratedProfile>(hw::parse_profile(parse_yaml(p.profile_yaml, label)));
      prof->file = label;
      stored_profile_ = std::move(prof);
      stored_label_ = QString("database: profile %1").arg(p.id);
    } catch (const std::exception& e) {
      show_error(QString::fromStdString(e.what()));
    }
  }
  db_label_->setText(QString::fromStdString(fmt::format("{}{}: {} ({} measurements{})", db_->example ? "example " : "",
                                                        QFileInfo(QString::fromStdString(db_->path)).fileName().toStdString(),
                                                        dev.name, device_measurements_.size(),
                                                        db_synthetic_ ? ", SYNTHETIC data, not a measurement" : "")));
  db_label_->setToolTip(QString::fromStdString(db_->path));
  const std::string gpu = db_gpu_.name;
  gpu_.clear();  // the GPU view is rebuilt even when it was already selected
  select_gpu(QString::fromStdString(gpu));
}

bool HardwarePage::open_profile(const QString& path) {
  try {
    auto p = std::make_shared<hw::CalibratedProfile>(hw::load_profile(path.toStdString()));
    const hw::GpuSpec* g = context_.hardware().find_gpu(p->gpu);
    if (!g) throw InputError(path.toStdString(), "expected a profile of a catalog GPU, found one of '" + p->gpu + "'");
    profile_files_[g->name] = {path.toStdString(), std::move(p)};
    error_->hide();
    if (gpu_ != g->name) select_gpu(QString::fromStdString(g->name));
    fill_profiles();
    profile_box_->setCurrentIndex(0);
    for (int i = 0; i < profile_box_->count(); ++i)
      if (profile_box_->itemText(i).startsWith("file:")) profile_box_->setCurrentIndex(i);
    refresh();
    return true;
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
}

bool HardwarePage::database_is_current() const { return db_ && device_ >= 0 && !gpu_.empty() && gpu_ == db_gpu_.name; }

void HardwarePage::fill_profiles() {
  const QString keep = profile_box_->currentText();
  options_.clear();
  const hw::GpuSpec* g = gpu_.empty() ? nullptr : context_.hardware().find_gpu(gpu_);
  if (database_is_current() && stored_profile_) options_.push_back({stored_label_, stored_profile_, ""});
  if (g) {
    if (auto it = profile_files_.find(g->name); it != profile_files_.end()) {
      options_.push_back({QString::fromStdString("file: " + it->second.first), it->second.second, it->second.first});
    }
    if (g->calibrated_profile) {
      options_.push_back({QString::fromStdString("catalog: " + g->calibrated_profile->file), g->calibrated_profile,
                          g->calibrated_profile->file});
    }
  }
  options_.push_back({"documented defaults", nullptr, ""});
  QStringList labels;
  for (const auto& o : options_) labels << o.label;
  QStringList before;
  for (int i = 0; i < profile_box_->count(); ++i) before << profile_box_->itemText(i);
  const QSignalBlocker block(profile_box_);
  profile_box_->clear();
  profile_box_->addItems(labels);
  // The user's choice stays while the choices do; new choices start from the most specific
  // (the database's profile, a file, the catalog's, then the defaults).
  profile_box_->setCurrentIndex(labels == before ? std::max(0, static_cast<int>(labels.indexOf(keep))) : 0);
}

std::shared_ptr<const hw::CalibratedProfile> HardwarePage::profile() const {
  const int i = profile_box_->currentIndex();
  return i >= 0 && static_cast<size_t>(i) < options_.size() ? options_[static_cast<size_t>(i)].profile : nullptr;
}

void HardwarePage::set_roofline_types(const QString& choice) { types_box_->setCurrentText(choice); }

void HardwarePage::refresh() {
  const hw::GpuSpec* g = current_gpu();
  if (!g) return;
  const auto prof = profile();
  const auto model = hw::make_efficiency_model({}, prof);
  std::vector<DType> types;
  const QString choice = types_box_->currentText();
  if (choice == "bf16 and fp8") types = {DType::kBf16, DType::kFp8};
  else if (choice == "all") types.assign(std::begin(kAllDTypes), std::end(kAllDTypes));
  else types = {parse_dtype(choice.toStdString())};

  const bool with_db = database_is_current();
  hardware::RooflineView view{g, model.get(), prof ? "profile" : "defaults", types, with_db ? &points_ : nullptr};
  roofline_->set_chart(hardware::roofline_chart(view, &scatter_points_));
  provenance_->set_table(hardware::provenance_table(hw::efficiency_provenance(*g, {}, prof.get())));
  if (with_db) {
    // make_report prices every measurement (a few ms per thousand): once per device and profile.
    const std::pair<int, const void*> key{device_, prof.get()};
    if (!report_cached_ || report_key_ != key) {
      report_cache_ = hardware::report_table(calib::make_report(device_measurements_, db_gpu_, prof.get()));
      report_key_ = key;
      report_cached_ = true;
    }
    report_->set_table(report_cache_);
    size_t drawn = 0;
    for (const auto& idx : scatter_points_) drawn += idx.size();
    chart_note_->setText(QString::fromStdString(fmt::format(
        "Points: {} of the {} measurements of {} (those with FLOPs and bytes; memory copies, launch gaps and plain kernels "
        "are in the calibration report). Lines: hw::datasheet_roofline and hw::gemm_roofline of a steady-state GEMM priced by the {}.",
        drawn, device_measurements_.size(), QFileInfo(QString::fromStdString(db_->path)).fileName().toStdString(),
        prof ? "profile" : "documented defaults")));
  } else {
    report_->set_table(hardware::report_table({}));
    chart_note_->setText(QString::fromStdString(
        db_ ? fmt::format("The open database measured {}: select it in the catalog to see its measurements.", db_gpu_.name)
            : std::string("Open a calibration database (fathom calib run|synth --db FILE) to plot its measurements. Lines: "
                          "hw::datasheet_roofline and hw::gemm_roofline of a steady-state GEMM priced by the ") +
                  (prof ? "profile." : "documented defaults.")));
  }
  emit changed();
}

QString HardwarePage::command_line() const {
  if (!database_is_current()) return "fathom catalog gpus";
  std::string line = "fathom calib report " + shell_quote(db_->path);
  if (db_->devices.size() > 1) line += " --device " + shell_quote(db_->devices[static_cast<size_t>(device_)].uuid);
  if (!db_gpu_matched_) line += " --gpu " + shell_quote(db_gpu_.name);
  const int i = profile_box_->currentIndex();
  if (i >= 0 && static_cast<size_t>(i) < options_.size() && !options_[static_cast<size_t>(i)].file.empty()) {
    line += " --profile " + shell_quote(options_[static_cast<size_t>(i)].file);
  }
  return QString::fromStdString(line);
}

void HardwarePage::load_example() {
  for (const auto& g : context_.hardware().gpus()) {
    if (g.calibrated_profile) {
      select_gpu(QString::fromStdString(g.name));
      return;
    }
  }
  const QDir measured(QString::fromStdString(context_.data("calibration")));
  const QStringList dbs = measured.entryList({"*.sqlite"}, QDir::Files, QDir::Name);
  if (!dbs.isEmpty()) {
    open_database(measured.filePath(dbs.front()));
    return;
  }
  // No measurement anywhere: a synthetic database (docs/calibration.md, "The synthetic
  // generator"), fitted like `fathom calib fit` does and kept for the life of the page.
  const hw::GpuSpec* gpu = context_.hardware().find_gpu("h200-sxm");
  if (!gpu) gpu = &context_.hardware().gpus().front();
  example_dir_ = std::make_unique<QTemporaryDir>();
  const std::string path = example_dir_->filePath(QString::fromStdString("synthetic-" + gpu->name + ".sqlite")).toStdString();
  const hw::GpuSpec spec = *gpu;
  start([path, spec](const std::atomic<bool>& cancel, const std::function<void(double, const std::string&)>& report) {
    {
      // The full suite plan: 18 GEMM shapes per data type. The quick plan's 6 are fewer than the 7
      // a GEMM fit needs (fit_profile: 4 parameters + 3), so its GEMMs would keep the defaults.
      report(0.1, "example: synthetic measurements of " + spec.name + " (calib::generate_synthetic, full suite plan)");
      store::CalibStore db = store::CalibStore::open(path);
      calib::generate_synthetic(calib::default_plan(false), spec, db, {});
      if (cancel) throw Cancelled("the example database was being generated");
      report(0.5, "example: fitting a profile (calib::fit_profile)");
      const store::DeviceRecord dev = db.devices().at(0);
      calib::ProfileFit fit = calib::fit_profile(db.measurements(), calib::fitting_gpu(spec, dev), dev, {}, path);
      fit.profile.synthetic = true;
      fit.profile.database = std::filesystem::path(path).filename().string();
      store::ProfileRecord rec;
      rec.device_id = dev.id;
      rec.fathom_version = version();
      rec.profile_yaml = hw::profile_to_yaml(fit.profile);
      rec.summary_json = "{}";
      db.add_profile(rec);
    }
    if (cancel) throw Cancelled("the example database was being generated");
    auto db = read_database(path);
    db->example = true;
    return db;
  });
}

}  // namespace fathom::gui
