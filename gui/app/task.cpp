#include "gui/app/task.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrentRun>
#include <chrono>

#include "common/error.h"
#include "gui/app/cpu_state.h"

namespace fathom::gui {

Task::Task(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<void>::finished, this, &Task::on_done);
}

Task::~Task() {
  if (running_) {
    shared_->cancel = true;
    watcher_.waitForFinished();
  }
}

bool Task::start(Work work) {
  if (running_) return false;
  running_ = true;
  was_cancelled_ = false;
  error_.clear();
  continuation_ = nullptr;
  shared_ = std::make_shared<Shared>();
  clock_.start();
  auto shared = shared_;
  QPointer<Task> self(this);
  // Progress is coalesced: the worker stores the latest value and queues one update at a time,
  // so a callback that fires a million times costs the UI thread a handful of repaints.
  Progress report = [shared, self](double fraction, const std::string& text) {
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->fraction = fraction;
    shared->text = text;
    if (shared->posted || !self) return;
    shared->posted = true;
    QMetaObject::invokeMethod(
        self.data(),
        [shared, self] {
          double f;
          std::string t;
          {
            std::lock_guard<std::mutex> l(shared->mutex);
            f = shared->fraction;
            t = shared->text;
            shared->posted = false;
          }
          if (self && self->shared_ == shared && self->running_) emit self->progress(f, QString::fromStdString(t));
        },
        Qt::QueuedConnection);
  };
  emit started();
  watcher_.setFuture(QtConcurrent::run([this, shared, work = std::move(work), report] {
    try {
      clear_avx_upper_state();  // a pool thread may carry the GUI thread's AVX state (cpu_state.h)
      continuation_ = work(shared->cancel, report);
    } catch (const Cancelled& e) {
      was_cancelled_ = true;
      error_ = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
      if (shared->cancel) {
        was_cancelled_ = true;
        error_ = QString::fromStdString(e.what());
      } else {
        error_ = QString::fromStdString(e.what());
        if (error_.isEmpty()) error_ = "the call failed";
      }
    }
  }));
  return true;
}

void Task::cancel() {
  if (running_ && shared_) shared_->cancel = true;
}

void Task::on_done() {
  running_ = false;
  last_seconds_ = static_cast<double>(clock_.nsecsElapsed()) * 1e-9;
  if (was_cancelled_) {
    emit cancelled(error_);
  } else if (!error_.isEmpty()) {
    emit failed(error_);
  } else {
    if (continuation_) continuation_();
    continuation_ = nullptr;
    emit finished();
  }
}

}  // namespace fathom::gui
