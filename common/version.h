#pragma once
#include <string>

namespace fathom {
std::string version();
std::string build_type();
// The catalog folder: $FATHOM_DATA_DIR if set, else the source tree's data/ recorded at build.
std::string data_dir();
// Host name of this machine, for the context block of JSON reports.
std::string host_name();
}  // namespace fathom
