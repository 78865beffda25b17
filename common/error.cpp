#include "common/error.h"

#include <cstdio>
#include <cstdlib>

namespace fathom {
namespace {
std::string join(const std::string& where, const std::string& message) {
  return where.empty() ? message : where + ": " + message;
}
}  // namespace

InputError::InputError(const std::string& where, const std::string& message)
    : Error(join(where, message)) {}

FlagError::FlagError(const std::string& flag, const std::string& message)
    : Error(join(flag, message)) {}

ConfigError::ConfigError(const std::string& where, const std::string& message)
    : Error(join(where, message)) {}

void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "fathom: internal check failed: %s (%s:%d)\n", condition, file, line);
  std::abort();
}

}  // namespace fathom
