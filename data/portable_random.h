// Random numbers that are the same on every platform, for generated data that must be
// byte-identical for a given seed.
//
// std::mt19937_64's output is fixed by the standard, but std::uniform_int_distribution,
// std::shuffle and friends are not (libstdc++ and libc++ give different numbers), so
// everything above the raw 64-bit words is done here.
#pragma once

#include <cstdint>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

namespace trol {

// A seed for the independent stream `stream` of item `index` (splitmix64 finalizer over the
// three): items can be generated in any order, and changing how one file uses its stream
// leaves every other file's stream unchanged.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ stream) ^ index);
}

class PortableRandom {
 public:
  explicit PortableRandom(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n), n >= 1 (rejection sampling, no modulo bias).
  int64_t below(int64_t n) {
    if (n < 1) throw std::invalid_argument("PortableRandom::below: n must be >= 1");
    const uint64_t range = uint64_t(n);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x;
    do {
      x = engine_();
    } while (x >= limit);
    return int64_t(x % range);
  }

  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) { return lo + below(hi - lo + 1); }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(engine_() >> 11) * (1.0 / 9007199254740992.0); }

  bool chance(double p) { return uniform() < p; }

  // An index drawn with probability proportional to weights[i] (weights >= 0, sum > 0).
  size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

  template <class T>
  const T& pick(const std::vector<T>& items) {
    if (items.empty()) throw std::invalid_argument("PortableRandom::pick: no items");
    return items[size_t(below(int64_t(items.size())))];
  }

  // Fisher-Yates.
  template <class T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[size_t(below(int64_t(i)))]);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace trol
