#include "gui/app/cpu_state.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace fathom::gui {

void clear_avx_upper_state() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx")) asm volatile("vzeroupper" ::: "memory");
#endif
}

bool avx_upper_state_in_use() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  // CPUID leaf 0xD, sub-leaf 1, EAX bit 2: XGETBV with ECX = 1 (the XINUSE bitmap) is supported.
  if (!__builtin_cpu_supports("avx") || !__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 4u)) return false;
  unsigned lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
  return (lo & 4u) != 0;
#else
  return false;
#endif
}

}  // namespace fathom::gui
