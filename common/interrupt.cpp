#include "common/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>

namespace fathom::interrupt {

namespace {

// A fixed table, so that the handler reads it without allocating or locking. A slot is written
// by the main thread while `state` is kWriting and read by the handler only when kReady.
constexpr int kSlots = 64;
enum SlotState : int { kFree = 0, kWriting = 1, kReady = 2 };
char g_paths[kSlots][PATH_MAX];
std::atomic<int> g_state[kSlots];
std::atomic<int> g_signal{0};
std::atomic<int> g_defer{0};
std::atomic<bool> g_installed{false};

void remove_registered() {
  for (int i = 0; i < kSlots; ++i) {
    if (g_state[i].load() == kReady) ::unlink(g_paths[i]);
  }
}

void say(const char* s) {
  const ssize_t n = ::write(2, s, std::strlen(s));
  (void)n;
}

extern "C" void on_signal(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  if (g_defer.load() > 0) return;
  exit_now(sig);
}

}  // namespace

void install() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int received() { return g_signal.load(); }

void exit_now(int sig) {
  remove_registered();
  say("fathom: interrupted\n");
  ::_exit(128 + sig);
}

CleanupPath::CleanupPath(const std::string& path) {
  if (path.size() >= PATH_MAX) return;  // cannot be registered; such a path cannot be opened either
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    if (g_state[i].compare_exchange_strong(expected, kWriting)) {
      std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
      g_state[i].store(kReady);
      slot_ = i;
      return;
    }
  }
}

CleanupPath::~CleanupPath() { release(); }

void CleanupPath::release() {
  if (slot_ >= 0) g_state[slot_].store(kFree);
  slot_ = -1;
}

Defer::Defer() { g_defer.fetch_add(1); }

Defer::~Defer() {
  if (g_defer.fetch_sub(1) == 1 && g_signal.load() != 0) exit_now(g_signal.load());
}

}  // namespace fathom::interrupt
