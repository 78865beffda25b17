#include "sim/des/engine.h"

#include <algorithm>
#include <utility>

#include "common/error.h"

namespace fathom::des {

TimeNs to_ns(double seconds) {
  FATHOM_CHECK(std::isfinite(seconds) && seconds >= 0 && seconds < 9.2e9);
  const auto t = static_cast<TimeNs>(std::llround(seconds * kNsPerS));
  return (t == 0 && seconds > 0) ? 1 : t;
}

void EventQueue::push(TimeNs time, int32_t priority, uint32_t kind, uint64_t payload) {
  heap_.push_back(Event{time, priority, kind, next_seq_++, payload});
  size_t i = heap_.size() - 1;
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!before(heap_[i], heap_[parent])) break;
    std::swap(heap_[i], heap_[parent]);
    i = parent;
  }
}

Event EventQueue::pop() {
  FATHOM_CHECK(!heap_.empty());
  const Event out = heap_.front();
  heap_.front() = heap_.back();
  heap_.pop_back();
  const size_t n = heap_.size();
  size_t i = 0;
  for (;;) {
    const size_t l = 2 * i + 1, r = l + 1;
    size_t best = i;
    if (l < n && before(heap_[l], heap_[best])) best = l;
    if (r < n && before(heap_[r], heap_[best])) best = r;
    if (best == i) break;
    std::swap(heap_[i], heap_[best]);
    i = best;
  }
  return out;
}

void Simulator::at(TimeNs time, int32_t priority, uint32_t kind, uint64_t payload) {
  FATHOM_CHECK(time >= now_);
  queue_.push(time, priority, kind, payload);
}

}  // namespace fathom::des
