#pragma once
// Shared by the libFuzzer harnesses of tests/fuzz (docs/reliability.md). Each harness feeds one
// reader the fuzzer's bytes, catches fathom::Error (the documented answer to bad input) and lets
// everything else crash: another exception type, an abort, a sanitizer report, a timeout.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/error.h"

namespace fathom::fuzz {

// With FATHOM_FUZZ_VERBOSE=1 in the environment, a harness run on files (fuzz_x FILE...) prints
// the error each input was rejected with: to check that seeds read as they should.
inline bool verbose() {
  static const bool v = [] {
    const char* e = std::getenv("FATHOM_FUZZ_VERBOSE");
    return e != nullptr && *e != '\0' && *e != '0';
  }();
  return v;
}
inline void rejected(const fathom::Error& e) {
  if (verbose()) std::fprintf(stderr, "rejected: %s\n", e.what());
}

inline std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A private folder for the files a reader must load by path (traces, config.json, fit results),
// under $FATHOM_FUZZ_TMPDIR (scripts/fuzz.sh points it at a folder in /dev/shm that it removes),
// else /dev/shm, else /tmp. One per process, removed at a normal exit.
class Scratch {
 public:
  static Scratch& get() {
    static Scratch s;
    return s;
  }
  const std::string& dir() const { return dir_; }
  // Writes `text` to dir()/name and returns the path.
  std::string write(const std::string& name, std::string_view text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
      std::abort();
    }
    return path;
  }

 private:
  Scratch() {
    std::string base;
    if (const char* e = std::getenv("FATHOM_FUZZ_TMPDIR"); e && *e) {
      base = e;
    } else {
      std::error_code ec;
      base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    }
    std::string templ = base + "/fathom-fuzz.XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      std::fprintf(stderr, "fuzz: cannot create a folder under %s\n", base.c_str());
      std::abort();
    }
    dir_ = templ;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

// Scenario and GPU files name other files (a model, a calibrated profile, a trace), read from
// the file system. An input that could name a path outside the scratch folder or the working
// directory is skipped, so that the fuzzer never opens /dev/zero, a FIFO or /proc: those hang
// any reader by design of the file system, not of Fathom. Skipped: "../", a backslash (a YAML
// escape can spell anything), and a '/' that can start an absolute path (not preceded by a
// letter, digit, '_', '-' or '.', and followed by more than white space: "TB/s" and " / " in a
// comment stay). Relative names still reach the path-handling code, and resolve inside the
// scratch folder, which holds a valid file of each kind (scratch_files.h).
inline bool may_name_outside(std::string_view text) {
  const auto word = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  };
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '/') continue;
    if (i > 0 && word(static_cast<unsigned char>(text[i - 1]))) continue;
    if (i + 1 == text.size() || blank(text[i + 1])) continue;
    if (verbose()) std::fprintf(stderr, "skipped: a path could start at byte %zu\n", i);
    return true;
  }
  if (text.find("../") != std::string_view::npos || text.find('\\') != std::string_view::npos) {
    if (verbose()) std::fprintf(stderr, "skipped: '../' or a backslash\n");
    return true;
  }
  return false;
}

}  // namespace fathom::fuzz
