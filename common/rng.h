#pragma once
#include <cstdint>

namespace fathom {

// xoshiro256** (Blackman and Vigna 2018) seeded through splitmix64 from (seed, stream): each
// consumer of randomness (arrivals, lengths, acceptance draws) gets its own stream, so adding a
// feature does not shift the draws of another. The distributions are written here, not taken
// from <random>, whose normal and gamma algorithms differ between standard libraries.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream);
  uint64_t next();
  double uniform();      // in (0, 1)
  double exponential();  // mean 1
  double normal();       // mean 0, sd 1 (Marsaglia polar method)
  double gamma(double shape);  // scale 1 (Marsaglia and Tsang 2000)
  uint64_t below(uint64_t n);  // uniform in [0, n), n ≥ 1

 private:
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace fathom
