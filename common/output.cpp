#include "common/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/interrupt.h"

namespace fathom {

namespace fs = std::filesystem;

namespace {

enum class Kind { kStdout, kReplace, kWriteThrough };

std::string why(int err) { return std::strerror(err); }

// Follows symbolic links to the path they finally name (which may not exist yet).
std::string resolve_links(const std::string& path, const std::string& flag) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw FlagError(flag, "expected a readable symbolic link, found '" + path + "': " + why(errno));
    buf[n] = '\0';
    const fs::path target(buf);
    p = target.is_absolute() ? target.string() : (fs::path(p).parent_path() / target).string();
  }
  throw FlagError(flag, "expected a file, found '" + path + "' behind more than 40 symbolic links (a loop?)");
}

mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

void write_all(int fd, const char* data, size_t size, const std::string& path, const std::string& flag) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FlagError(flag, "could not write '" + path + "': " + why(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

struct OutputSet::Entry {
  std::string path, flag, final_path;  // final_path: after symbolic links
  Kind kind = Kind::kReplace;
  mode_t mode = 0;                      // kReplace: the mode the file gets
  std::string temp;                     // the temporary (kReplace: beside the target; else a spool)
  std::optional<interrupt::CleanupPath> cleanup;
  std::unique_ptr<std::ofstream> out;   // streaming
  std::string text;                     // staged text (not streaming)
  bool streaming = false, committed = false;

  ~Entry() {
    out.reset();
    if (!temp.empty() && !committed) ::unlink(temp.c_str());
  }
};

OutputSet::OutputSet() = default;
OutputSet::~OutputSet() { discard(); }

void OutputSet::discard() { entries_.clear(); }

void OutputSet::check(const std::string& path, const std::string& flag) {
  if (path.empty()) throw FlagError(flag, "expected a file name, found an empty one");
  if (path == "-") return;
  const std::string fin = resolve_links(path, flag);
  struct stat st;
  if (::stat(fin.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw FlagError(flag, "expected a file, found the directory '" + path + "'");
    if (S_ISREG(st.st_mode) && ::access(fin.c_str(), W_OK) != 0) {
      throw FlagError(flag, "expected a writable file, found '" + path + "': " + why(errno));
    }
    return;
  }
  if (errno != ENOENT) throw FlagError(flag, "expected a file that can be written, found '" + path + "': " + why(errno));
  const fs::path parent = fs::path(fin).has_parent_path() ? fs::path(fin).parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) throw FlagError(flag, "expected a path in an existing folder, found '" + path + "'");
}

OutputSet::Entry& OutputSet::stage(const std::string& path, const std::string& flag) {
  check(path, flag);
  auto e = std::make_unique<Entry>();
  e->path = path;
  e->flag = flag;
  if (path == "-") {
    e->kind = Kind::kStdout;
  } else {
    e->final_path = resolve_links(path, flag);
    struct stat st;
    const bool exists = ::stat(e->final_path.c_str(), &st) == 0;
    e->kind = !exists || S_ISREG(st.st_mode) ? Kind::kReplace : Kind::kWriteThrough;
    e->mode = exists && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : new_file_mode();
    for (const auto& other : entries_) {
      if (other->kind != Kind::kStdout && other->final_path == e->final_path) {
        throw FlagError(flag, "expected a file other than the one " + other->flag + " writes, found '" + path + "' twice");
      }
    }
  }
  entries_.push_back(std::move(e));
  return *entries_.back();
}

namespace {
// A temporary file: beside `final_path` for a replacement (so the rename stays on one file
// system), in the system's temporary folder for a spool.
std::string make_temp(const std::string& final_path, bool beside, const std::string& flag, const std::string& path) {
  std::string tmpl;
  if (beside) {
    const fs::path f(final_path);
    const fs::path dir = f.has_parent_path() ? f.parent_path() : fs::path(".");
    std::string name = ".";
    name.append(f.filename().string()).append(".fathom-XXXXXX");
    tmpl = (dir / name).string();
  } else {
    std::error_code ec;
    fs::path dir = fs::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    tmpl = (dir / "fathom-spool-XXXXXX").string();
  }
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const int fd = ::mkstemp(buf.data());
  if (fd < 0) throw FlagError(flag, "could not create a temporary file for '" + path + "': " + why(errno));
  ::close(fd);
  return buf.data();
}
}  // namespace

void OutputSet::add(const std::string& path, const std::string& flag, const std::string& text) {
  Entry& e = stage(path, flag);
  if (e.kind != Kind::kReplace) {
    e.text = text;
    return;
  }
  e.temp = make_temp(e.final_path, true, flag, path);
  e.cleanup.emplace(e.temp);
  const int fd = ::open(e.temp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw FlagError(flag, "could not write '" + path + "': " + why(errno));
  try {
    write_all(fd, text.data(), text.size(), path, flag);
    if (::fsync(fd) != 0) throw FlagError(flag, "could not write '" + path + "': " + why(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw FlagError(flag, "could not write '" + path + "': " + why(errno));
}

std::ostream& OutputSet::stream(const std::string& path, const std::string& flag) {
  Entry& e = stage(path, flag);
  e.streaming = true;
  e.temp = make_temp(e.final_path, e.kind == Kind::kReplace, flag, path);
  e.cleanup.emplace(e.temp);
  e.out = std::make_unique<std::ofstream>(e.temp, std::ios::binary | std::ios::trunc);
  if (!*e.out) throw FlagError(flag, "could not write '" + path + "'");
  return *e.out;
}

void OutputSet::commit() {
  // First everything that can still fail without touching a target: flushing the streams.
  for (auto& e : entries_) {
    if (!e->streaming) continue;
    e->out->flush();
    if (!*e->out) throw FlagError(e->flag, "could not write '" + e->path + "' (disk full?)");
    e->out.reset();
    if (e->kind == Kind::kReplace) {
      const int fd = ::open(e->temp.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        throw FlagError(e->flag, "could not write '" + e->path + "': " + why(err));
      }
      ::close(fd);
    }
  }
  for (auto& e : entries_) {
    if (e->kind == Kind::kReplace) {
      ::chmod(e->temp.c_str(), e->mode);
      if (::rename(e->temp.c_str(), e->final_path.c_str()) != 0) {
        throw FlagError(e->flag, "could not write '" + e->path + "': " + why(errno));
      }
      e->committed = true;
      e->cleanup.reset();
      continue;
    }
    // Write-through (FIFO, device) and standard output: the staged text, or the spool copied
    // in pieces (a streamed output may be larger than memory).
    int fd = 1;
    if (e->kind == Kind::kStdout) {
      std::cout.flush();
    } else {
      fd = ::open(e->final_path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) throw FlagError(e->flag, "could not open '" + e->path + "' for writing: " + why(errno));
    }
    const std::string shown = e->kind == Kind::kStdout ? "standard output" : e->path;
    try {
      if (e->streaming) {
        std::ifstream in(e->temp, std::ios::binary);
        std::vector<char> buf(1 << 20);
        while (in) {
          in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
          write_all(fd, buf.data(), static_cast<size_t>(in.gcount()), shown, e->flag);
        }
      } else {
        write_all(fd, e->text.data(), e->text.size(), shown, e->flag);
      }
    } catch (...) {
      if (fd != 1) ::close(fd);
      throw;
    }
    if (fd != 1) ::close(fd);
  }
  entries_.clear();
}

}  // namespace fathom
