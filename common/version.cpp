#include "common/version.h"

#include <unistd.h>

#include <cstdlib>

namespace fathom {
std::string version() { return FATHOM_VERSION; }
std::string build_type() { return FATHOM_BUILD_TYPE; }
std::string data_dir() {
  const char* env = std::getenv("FATHOM_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
  return FATHOM_DEFAULT_DATA_DIR;
}
std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}
}  // namespace fathom
