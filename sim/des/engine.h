#pragma once
// The discrete-event engine: an integer-nanosecond clock, an event queue that orders
// simultaneous events by (priority, insertion sequence), and seeded random streams owned by
// the run. Nothing here knows about serving or training; both schedule their own event kinds.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/rng.h"

namespace fathom::des {

using TimeNs = int64_t;
inline constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();
inline constexpr double kNsPerS = 1e9;

// Seconds to the clock's nanoseconds, rounded to nearest (at least 1 ns for a positive duration).
TimeNs to_ns(double seconds);
inline double to_s(TimeNs t) { return static_cast<double>(t) / kNsPerS; }

struct Event {
  TimeNs time = 0;
  int32_t priority = 0;  // lower runs first among events at the same instant
  uint32_t kind = 0;     // the owner's event type
  uint64_t seq = 0;      // insertion order: ties at equal (time, priority) run first-in first-out
  uint64_t payload = 0;  // the owner's data (an index, an id)
};

// A binary min-heap on (time, priority, seq): pops are deterministic whatever the insertion
// pattern, so a run is reproducible bit for bit.
class EventQueue {
 public:
  void push(TimeNs time, int32_t priority, uint32_t kind, uint64_t payload);
  Event pop();
  const Event& top() const { return heap_.front(); }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  void clear() { heap_.clear(); }

 private:
  static bool before(const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.seq < b.seq;
  }
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

// The clock and the queue together. `run` pops events in order, advances the clock and hands
// each to `handler(const Event&)`; handlers schedule more events through `at` / `after`.
class Simulator {
 public:
  TimeNs now() const { return now_; }
  // Schedules at an absolute time, which must not be in the past (a broken invariant aborts).
  void at(TimeNs time, int32_t priority, uint32_t kind, uint64_t payload = 0);
  void after(TimeNs delay, int32_t priority, uint32_t kind, uint64_t payload = 0) {
    at(now_ + delay, priority, kind, payload);
  }
  bool idle() const { return queue_.empty(); }
  uint64_t events() const { return events_; }

  template <class Handler>
  void run(Handler&& handler, TimeNs until = kNever) {
    while (!queue_.empty() && queue_.top().time <= until) {
      const Event e = queue_.pop();
      now_ = e.time;
      ++events_;
      handler(e);
    }
  }

 private:
  EventQueue queue_;
  TimeNs now_ = 0;
  uint64_t events_ = 0;
};

// The random number generator lives in common/rng.h; the event engine's users name it des::Rng.
using Rng = ::fathom::Rng;

}  // namespace fathom::des
