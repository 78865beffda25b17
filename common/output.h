#pragma once
// The files a command writes, committed together once everything that can fail has succeeded
// (ARCHITECTURE.md, "Files a command writes"; docs/reliability.md):
//   - "-" is standard output;
//   - a regular file is replaced atomically: a temporary file in the same folder, written and
//     fsync'ed when staged, renamed over the target at commit (keeping the old file's mode);
//   - an absent path is created the same way;
//   - a FIFO, character or block device (anything not a regular file) is written through in
//     place at commit, never replaced;
//   - a symbolic link is followed to its target, which the rules above then apply to; the link
//     stays a link;
//   - a directory, or a path in a folder that does not exist, is a FlagError naming the flag,
//     raised when the output is staged, before any work is done.
// Temporaries are registered with interrupt::CleanupPath, so that SIGINT/SIGTERM removes them;
// an OutputSet destroyed before commit() removes them too.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace fathom {

class OutputSet {
 public:
  OutputSet();
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // Checks `path` (named by `flag` in errors) and stages `text` for it.
  void add(const std::string& path, const std::string& flag, const std::string& text);
  // Checks `path` now, so that a bad output fails before a long run (add or stream it later).
  static void check(const std::string& path, const std::string& flag);
  // A stream whose bytes become `path` at commit (for outputs too large to hold in memory). The
  // reference stays valid until commit or destruction.
  std::ostream& stream(const std::string& path, const std::string& flag);
  // Makes every staged output visible, in the order staged. Throws FlagError when a write fails.
  void commit();
  // Drops everything staged (temporaries removed).
  void discard();
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry;
  Entry& stage(const std::string& path, const std::string& flag);
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace fathom
