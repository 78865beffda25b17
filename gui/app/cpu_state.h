#pragma once
// Qt's GUI start-up (QGuiApplication, with the offscreen platform as with xcb) leaves the upper
// halves of the AVX registers in use on the main thread (XINUSE bit 2 set after the constructor),
// and Linux gives every thread created afterwards a copy of that register state. Until a
// VZEROUPPER, the library's legacy-SSE code (Eigen, Ceres, the simulator: built for baseline
// x86-64) mixed with the VEX-encoded libm it calls pays the AVX-SSE transition penalty on every
// switch (Intel 64 and IA-32 Architectures Optimization Reference Manual, "Mixing AVX code with
// SSE code"). Measured on this machine: the chinchilla fit of tests/data/fit/scaling_small.csv
// took 6.4 s of CPU on one thread after QGuiApplication and 0.95 s before it or after a
// VZEROUPPER. AppContext (after QApplication, before any worker thread), Task's worker and
// fathom-plot call this.
namespace fathom::gui {

// Executes VZEROUPPER where the CPU has AVX; nothing on other CPUs.
void clear_avx_upper_state();

// Whether the calling thread's AVX upper state is in use (XGETBV with ECX = 1, bit 2), where the
// CPU reports it; false elsewhere. For tests.
bool avx_upper_state_in_use();

}  // namespace fathom::gui
