#include "common/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom {

namespace {
std::atomic<int64_t> g_limit{0};

std::string mib(int64_t bytes) { return fmt::format("{} MiB", bytes >> 20); }
}  // namespace

int64_t input_limit(InputKind kind) {
  const int64_t set = g_limit.load();
  if (set > 0) return set;
  return kind == InputKind::kStructured ? kStructuredLimit : kTableLimit;
}

void set_input_limit(int64_t bytes) { g_limit.store(bytes > 0 ? bytes : 0); }

std::string read_input_file(const std::string& path, InputKind kind, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw InputError(path, "expected a readable " + what + ", found " +
                               (err == ENOENT ? std::string("no such file") : std::string(std::strerror(err))));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    throw InputError(path, "expected a readable " + what + ", found a directory");
  }
  const int64_t limit = input_limit(kind);
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (st.st_size > limit) {
      throw InputError(path, fmt::format("expected a {} of at most {} (raise with --max-input-mb), found {} bytes",
                                         what, mib(limit), static_cast<int64_t>(st.st_size)));
    }
    text.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(path, "expected a readable " + what + ", found a read error: " + std::strerror(errno));
    }
    if (n == 0) break;
    if (static_cast<int64_t>(text.size()) + n > limit) {
      throw InputError(path, fmt::format("expected a {} of at most {} (raise with --max-input-mb), found more "
                                         "(an endless stream?)",
                                         what, mib(limit)));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace fathom
