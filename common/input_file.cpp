#include "common/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
  check_utf8(text, path);
  return text;
}

size_t invalid_utf8_at(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string::npos;
}

void check_utf8(const std::string& text, const std::string& name) {
  const size_t at = invalid_utf8_at(text);
  if (at == std::string::npos) return;
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1F && static_cast<unsigned char>(text[1]) == 0x8B) {
    throw InputError(name, "expected UTF-8 text, found a gzip-compressed file (decompress it first: gunzip -k)");
  }
  const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  const size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  const size_t column = at - (line_start == std::string::npos || at == 0 ? 0 : line_start + 1) + 1;
  throw InputError(fmt::format("{}:{}", name, line),
                   fmt::format("expected UTF-8 text, found the byte 0x{:02X} at column {}", static_cast<unsigned char>(text[at]), column));
}

}  // namespace fathom
