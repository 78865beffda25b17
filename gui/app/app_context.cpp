#include "gui/app/app_context.h"

#include <QDir>
#include <QFileInfo>
#include <filesystem>

#include "common/version.h"
#include "gui/app/cpu_state.h"

namespace fathom::gui {

namespace fs = std::filesystem;

AppContext::AppContext(const std::string& data_dir, std::unique_ptr<QSettings> settings, QObject* parent)
    : QObject(parent), data_dir_(data_dir.empty() ? fathom::data_dir() : data_dir) {
  // After QApplication, before the first worker thread copies the main thread's state (cpu_state.h).
  clear_avx_upper_state();
  hardware_ = std::make_unique<hw::HardwareCatalog>(hw::HardwareCatalog::load((fs::path(data_dir_) / "hardware").string()));
  models_ = std::make_unique<model::ModelCatalog>(model::ModelCatalog::load((fs::path(data_dir_) / "models").string()));
  settings_ = settings ? std::move(settings) : std::make_unique<QSettings>("Fathom", "fathom-gui");
}

AppContext::~AppContext() = default;

void AppContext::set_hardware(hw::HardwareCatalog catalog) {
  *hardware_ = std::move(catalog);
  emit hardware_changed();
}

QString AppContext::prices_file() const {
  const QString set = settings_->value("prices/file").toString();
  if (!set.isEmpty()) return set;
  const QString def = default_prices_file();
  return QFileInfo::exists(def) ? def : QString();
}

QString AppContext::default_prices_file() { return QDir::homePath() + "/.config/fathom/prices.yaml"; }

void AppContext::set_prices_file(const QString& path) { settings_->setValue("prices/file", path); }

QStringList AppContext::recent_files() { return settings_->value("recent/files").toStringList(); }

void AppContext::add_recent_file(const QString& path) {
  QStringList files = recent_files();
  const QString abs = QFileInfo(path).absoluteFilePath();
  files.removeAll(abs);
  files.prepend(abs);
  while (files.size() > 10) files.removeLast();
  settings_->setValue("recent/files", files);
}

std::string AppContext::data(const std::string& relative) const { return (fs::path(data_dir_) / relative).string(); }

}  // namespace fathom::gui
