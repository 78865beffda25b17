#include "common/module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/error.h"

namespace fathom {

std::string module_path(const std::string& file, const char* env_var) {
  if (const char* p = std::getenv(env_var); p != nullptr && *p != '\0') return p;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ((ec ? std::filesystem::path(".") : self.parent_path()) / file).string();
}

void* load_module_symbol(const std::string& path, const char* symbol, std::string& error) {
  // Never closed: the modules' libraries (CUDA, OpenMP) keep threads and exit handlers.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    error = why != nullptr ? why : "unknown dlopen error";
    return nullptr;
  }
  void* sym = ::dlsym(handle, symbol);
  if (sym == nullptr) error = std::string("no entry point ") + symbol + " (a module from another Fathom version?)";
  return sym;
}

void* require_module_symbol(const std::string& file, const char* env_var, const char* symbol, const std::string& what) {
  const std::string path = module_path(file, env_var);
  std::string why;
  void* p = load_module_symbol(path, symbol, why);
  if (p == nullptr) throw Error(path + ": expected " + what + ", found it missing or unloadable: " + why);
  return p;
}

}  // namespace fathom
