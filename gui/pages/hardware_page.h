#pragma once
// The Hardware page (docs/gui-hardware.md): the GPU catalog with the user's prices (saved to the
// prices file that `fathom plan serve|train|total --prices` reads), a roofline per GPU with a
// calibration database's measurements as points and the profile's efficiencies as lines, and
// where each efficiency the cost chain uses comes from (measured, fitted, published, default).
#include <QString>
#include <QTemporaryDir>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calib/report.h"
#include "gui/pages/page.h"
#include "gui/table/table.h"
#include "hw/profile.h"
#include "store/calib_store.h"

QT_BEGIN_NAMESPACE
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
QT_END_NAMESPACE

namespace fathom::gui {

class Task;

class HardwarePage : public Page {
  Q_OBJECT
 public:
  HardwarePage(AppContext& context, QWidget* parent);
  ~HardwarePage() override;

  QString title() const override { return "Hardware"; }
  // `fathom calib report DB [--device UUID] [--gpu NAME] [--profile FILE]` when the selected GPU
  // is the open database's, else `fathom catalog gpus`.
  QString command_line() const override;
  // Selects a GPU with a calibrated profile in the catalog; else opens the first database in
  // data/calibration/; else generates a synthetic example database (calib::generate_synthetic,
  // the full suite plan, fitted with calib::fit_profile) and opens it.
  void load_example() override;
  bool busy() const override;
  std::vector<ChartView*> charts() const override;
  std::vector<TableView*> tables() const override;

  // What the widgets do, for tests and tours.
  bool select_gpu(const QString& name);  // catalog name or alias
  QString selected_gpu() const;
  // The user's $/GPU-hour for a GPU (catalog name or alias), saved at once; <= 0: the catalog's.
  // False (and the reason in error_text()) when it cannot be saved.
  bool set_price(const QString& gpu, double usd_per_gpu_hour);
  // Switches to another prices file (remembered in the settings) and loads it when it exists.
  void use_prices_file(const QString& path);
  // The file prices are saved to: the settings' file, else ~/.config/fathom/prices.yaml.
  QString prices_path() const;
  // Opens a calibration database read-only on a worker thread (busy() until it is shown).
  void open_database(const QString& path);
  // Uses a profile file (`--profile FILE`) for the GPU it belongs to.
  bool open_profile(const QString& path);
  // Chooses the data types of the roofline ("all", "bf16 and fp8", or one type).
  void set_roofline_types(const QString& choice);
  // The last error shown on the page ("" when none).
  QString error_text() const;
  // The open database's measurements as roofline points (for the selected device), and the
  // profile pricing the selected GPU (null: the documented defaults).
  const std::vector<calib::RooflinePoint>& points() const { return points_; }
  std::shared_ptr<const hw::CalibratedProfile> profile() const;
  // The open database's catalog GPU ("" when none is open).
  QString database_gpu() const { return QString::fromStdString(db_gpu_.name); }

 private:
  struct Database {
    std::string path;
    bool example = false;
    std::vector<store::DeviceRecord> devices;
    std::vector<store::CalibRunRecord> runs;
    std::vector<store::MeasurementRecord> measurements;
    std::vector<store::ProfileRecord> profiles;
  };
  struct ProfileOption {
    QString label;
    std::shared_ptr<const hw::CalibratedProfile> profile;  // null: the documented defaults
    std::string file;  // the file `calib report --profile` takes for it; "" for the database's own
  };

  void build_prices_row(QWidget* box);
  void build_calibration_row(QWidget* box);
  void load_prices();
  bool save_prices();
  void show_catalog();
  void show_price_editor();
  void on_gpu_changed(int row);
  static std::shared_ptr<Database> read_database(const std::string& path);
  void start(std::function<std::shared_ptr<Database>(const std::atomic<bool>&, const std::function<void(double, const std::string&)>&)> work);
  void show_database(std::shared_ptr<Database> db);
  void choose_device(int index);
  void fill_profiles();
  void refresh();
  void show_error(const QString& message);
  const hw::GpuSpec* current_gpu() const;
  bool database_is_current() const;

  // Prices: by catalog name; `extra_prices_` holds the file's other names, written back as they were.
  std::map<std::string, double> prices_, extra_prices_;
  bool prices_ok_ = true;
  std::string gpu_;  // selected catalog GPU

  std::shared_ptr<Database> db_;
  int device_ = -1;
  hw::GpuSpec db_gpu_;   // the device's catalog GPU with its SM count (calib::fitting_gpu)
  bool db_gpu_matched_ = true;
  bool db_synthetic_ = false;
  std::vector<store::MeasurementRecord> device_measurements_;
  std::vector<calib::RooflinePoint> points_;
  std::shared_ptr<const hw::CalibratedProfile> stored_profile_;
  QString stored_label_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const hw::CalibratedProfile>>> profile_files_;  // by GPU
  std::vector<ProfileOption> options_;
  std::vector<std::vector<size_t>> scatter_points_;
  bool report_cached_ = false;  // report_cache_ is make_report's for report_key_ (device, profile)
  Table report_cache_;
  std::pair<int, const void*> report_key_{-1, nullptr};
  std::unique_ptr<QTemporaryDir> example_dir_;

  Task* task_ = nullptr;
  TableView* catalog_ = nullptr;
  TableView* provenance_ = nullptr;
  TableView* report_ = nullptr;
  ChartView* roofline_ = nullptr;
  QLabel* prices_label_ = nullptr;
  QLabel* error_ = nullptr;
  QLabel* price_gpu_ = nullptr;
  QDoubleSpinBox* price_ = nullptr;
  QPushButton* price_reset_ = nullptr;
  QLabel* db_label_ = nullptr;
  QComboBox* device_box_ = nullptr;
  QComboBox* profile_box_ = nullptr;
  QComboBox* types_box_ = nullptr;
  QLabel* point_label_ = nullptr;
  QLabel* chart_note_ = nullptr;
};

}  // namespace fathom::gui
