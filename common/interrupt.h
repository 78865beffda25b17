#pragma once
// SIGINT and SIGTERM for a command-line run (docs/reliability.md, "Interrupts"). The handler
// removes every path registered with CleanupPath (temporary files, a database this run created
// and its -wal/-shm/-journal), says "fathom: interrupted" on stderr and ends the process with
// 128 + the signal (130, 143), within a second of the signal whatever the run is doing. Inside a
// Defer scope (a database transaction, the commit of outputs) it only records the signal; the
// scope's end then does the same cleanup and exit, so that a commit is never cut in half.
//
// Only the process that installs the handlers (the fathom CLI) uses this; the library never
// installs handlers. Everything the handler touches is async-signal-safe (unlink, write, _exit).
#include <string>

namespace fathom::interrupt {

// Installs the handlers. Idempotent.
void install();

// The signal received so far (0: none).
int received();

// Removes registered paths and exits with 128 + sig. Async-signal-safe.
[[noreturn]] void exit_now(int sig);

// A path to remove if the process is interrupted while this object lives.
class CleanupPath {
 public:
  explicit CleanupPath(const std::string& path);
  ~CleanupPath();
  CleanupPath(const CleanupPath&) = delete;
  CleanupPath& operator=(const CleanupPath&) = delete;
  void release();  // no longer removed on interrupt (the file is now the user's)

 private:
  int slot_ = -1;
};

// Signals received inside take effect at the end of the outermost scope.
class Defer {
 public:
  Defer();
  ~Defer();
  Defer(const Defer&) = delete;
  Defer& operator=(const Defer&) = delete;
};

}  // namespace fathom::interrupt
