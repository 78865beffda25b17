#pragma once
// What every page shares: the catalogs (loaded once from data_dir()), the user's settings and
// price file, and the signals that move a scenario from one page to another (a plan's row opened
// in the Serve page). Widgets hold no computation; this object holds no widget.
#include <QObject>
#include <QSettings>
#include <QString>
#include <memory>
#include <string>

#include "hw/catalog.h"
#include "sim/model/model_catalog.h"

namespace fathom::gui {

class AppContext : public QObject {
  Q_OBJECT
 public:
  // Loads the catalogs under `data_dir` (default: fathom::data_dir()). Throws fathom::Error when a
  // catalog file is malformed. `settings` is where settings and recent files live (default: the
  // user's "Fathom/fathom-gui" settings; tests pass a file of their own).
  explicit AppContext(const std::string& data_dir = {}, std::unique_ptr<QSettings> settings = nullptr,
                      QObject* parent = nullptr);
  ~AppContext() override;

  const std::string& data_dir() const { return data_dir_; }
  const hw::HardwareCatalog& hardware() const { return *hardware_; }
  const model::ModelCatalog& models() const { return *models_; }
  QSettings& settings() { return *settings_; }

  // Replaces the hardware catalog (prices edited, a profile chosen) and tells the pages.
  void set_hardware(hw::HardwareCatalog catalog);

  // The user's price file (settings key "prices/file"; default ~/.config/fathom/prices.yaml, the
  // file `fathom plan serve --prices` reads too). Empty when none is set and the default is absent.
  QString prices_file() const;
  void set_prices_file(const QString& path);
  // ~/.config/fathom/prices.yaml: where prices go when the settings name no file.
  static QString default_prices_file();

  // Recent scenario files, newest first (at most 10), remembered across sessions.
  QStringList recent_files();
  void add_recent_file(const QString& path);

  // A path under data_dir(), e.g. data("scenarios/llama3.1-70b-decode-h100.yaml").
  std::string data(const std::string& relative) const;

 signals:
  void hardware_changed();
  // Opens a scenario (YAML text, the file it came from or a name) in the Serve or Train page.
  void open_in_serve(const QString& text, const QString& name);
  void open_in_train(const QString& text, const QString& name);
  // A line for the status bar.
  void status(const QString& message);

 private:
  std::string data_dir_;
  std::unique_ptr<hw::HardwareCatalog> hardware_;
  std::unique_ptr<model::ModelCatalog> models_;
  std::unique_ptr<QSettings> settings_;
};

}  // namespace fathom::gui
