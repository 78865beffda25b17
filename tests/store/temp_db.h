#pragma once
// A fresh path for a test database in the temporary folder, unique to this process.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fathom::store {

inline std::string temp_db(const char* tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("fathom_" + std::string(tag) + "_" + std::to_string(::getpid()) + ".sqlite");
  std::filesystem::remove(p);
  return p.string();
}

}  // namespace fathom::store
