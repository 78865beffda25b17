#pragma once
// A long library call (a serving run, a search, a fit with bootstrap, a plan) on a worker thread,
// with progress and a Cancel that stops it within a second: the library's own cancellation token
// (an atomic<bool> it polls) and progress callback, bridged to Qt signals. The UI thread never
// waits on the call; it gets `progress` at most every 50 ms and one of finished / failed /
// cancelled at the end.
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace fathom::gui {

class Task : public QObject {
  Q_OBJECT
 public:
  // Reports progress from the worker thread: a fraction in [0, 1] (negative: unknown) and a line.
  using Progress = std::function<void(double fraction, const std::string& text)>;
  // Runs on the worker thread; returns what to do with the result on the UI thread.
  using Work = std::function<std::function<void()>(const std::atomic<bool>& cancel, const Progress& progress)>;

  explicit Task(QObject* parent = nullptr);
  // Cancels a running call and waits for it (the library stops within a second).
  ~Task() override;

  // Starts `work`; false (and nothing started) when a call is already running.
  bool start(Work work);
  void cancel();
  bool running() const { return running_; }
  // Wall time of the last call, from start to its end signal (seconds).
  double last_seconds() const { return last_seconds_; }

 signals:
  void started();
  void progress(double fraction, const QString& text);
  // The continuation `work` returned has run on the UI thread.
  void finished();
  // fathom::Error (or another exception) from the call: its message.
  void failed(const QString& message);
  // The call stopped on Cancel: the library's message (what was done by then).
  void cancelled(const QString& message);

 private:
  void on_done();

  struct Shared {
    std::atomic<bool> cancel{false};
    std::mutex mutex;
    double fraction = 0;
    std::string text;
    bool posted = false;  // a progress update is queued for the UI thread
  };
  std::shared_ptr<Shared> shared_;
  QFutureWatcher<void> watcher_;
  std::function<void()> continuation_;
  QString error_;
  bool was_cancelled_ = false;
  bool running_ = false;
  QElapsedTimer clock_;
  double last_seconds_ = 0;
};

}  // namespace fathom::gui
