#pragma once
// A parallel loop for independent tasks (fit starts, bootstrap resamples, sweep points). Task i
// writes only its own result slot, so the results are the same on any number of threads; the
// caller combines them in index order. An exception thrown by a task is rethrown on the calling
// thread (the one of the lowest task index among those that threw).
#include <cstddef>
#include <functional>

namespace fathom {

// The thread count to use when the user gave none (0): the hardware's, at least 1.
int default_threads();

// Runs body(i) for i in [0, n) on up to `threads` threads (≤ 0 means default_threads()).
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& body);

}  // namespace fathom
