#pragma once
// What the GUI tests share: running a real program (fathom, fathom-plot, bash) and keeping its
// exit status and both outputs, to compare a page with the CLI.
#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace fathom::gui::test {

struct Run {
  int code = -1;  // -1: the program did not exit normally (a crash, a timeout)
  QByteArray out, err;
};

// Runs `program` with `args` in `cwd` (default: the test's) for at most `timeout_ms` (3 minutes:
// the sanitizer builds run the CLI several times slower).
inline Run run(const QString& program, const QStringList& args, const QString& cwd = {}, int timeout_ms = 180000) {
  QProcess p;
  if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
  p.start(program, args);
  p.waitForFinished(timeout_ms);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
}

}  // namespace fathom::gui::test
