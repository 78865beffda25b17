#pragma once
// Modules fathom opens with dlopen on first use (docs/performance.md, "Start-up"): a shared
// object built beside the running executable, or where an environment variable says.
#include <string>

namespace fathom {

// The path of module `file`: $`env_var` when set and not empty, else beside /proc/self/exe.
std::string module_path(const std::string& file, const char* env_var);

// Opens the module at `path` (RTLD_NOW | RTLD_LOCAL, kept open for the life of the process) and
// returns `symbol`; nullptr with `error` set (dlerror's text, or a missing entry point) when
// either fails.
void* load_module_symbol(const std::string& path, const char* symbol, std::string& error);

// The entry point `symbol` of module `file` (located as module_path(file, env_var) says), or
// fathom::Error "PATH: expected WHAT, found it missing or unloadable: WHY".
void* require_module_symbol(const std::string& file, const char* env_var, const char* symbol, const std::string& what);

}  // namespace fathom
