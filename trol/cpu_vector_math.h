// Vector arithmetic for trol's fused float32 CPU kernels, written with GCC/Clang vector
// extensions: 16 floats per value, which the compiler lowers to one AVX-512 register, two
// AVX2 or four SSE ones. A kernel that uses these is compiled once per instruction set with
// TROL_CPU_KERNEL (target_clones) and the CPU picks its copy at load time. Hand-written
// because LibTorch's vectorised math (ATen's Vectorized, Sleef) is not part of its public
// API, and compilers do not vectorise a softmax's reductions on their own.
//
// Only for .cpp files of kernels: GCC notes that passing 64-byte vectors changes the ABI
// without AVX-512, and this header silences that note for the rest of the file that
// includes it. The helpers are always inlined and kernels take pointers, so no vector
// crosses a call.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#pragma GCC diagnostic ignored "-Wpsabi"

// One copy per x86 instruction set, chosen through an ELF ifunc at load time; elsewhere (ARM
// hosts such as Grace) one copy, whose vectors the compiler lowers to the target's own.
#if defined(__x86_64__) && defined(__ELF__)
#define TROL_CPU_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TROL_CPU_KERNEL
#endif
#define TROL_VECTOR_INLINE __attribute__((always_inline)) inline

namespace trol::cpu_vector {

typedef float Floats __attribute__((vector_size(64)));
typedef int32_t Ints __attribute__((vector_size(64)));
constexpr int64_t kLanes = sizeof(Floats) / sizeof(float);

TROL_VECTOR_INLINE Floats load(const float* p) {
  Floats v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
TROL_VECTOR_INLINE void store(float* p, const Floats& v) { std::memcpy(p, &v, sizeof v); }
TROL_VECTOR_INLINE Floats splat(float x) { return Floats{} + x; }

// exp(x) for x <= 0 to ~1 ulp (Cephes' expf: x = n ln2 + r, a degree-6 polynomial in r, 2^n
// built in the exponent bits); 0 below -87, where float's normal range ends.
TROL_VECTOR_INLINE Floats exp_nonpositive(Floats x) {
  const Ints underflow = x < -87.0f;
  x = underflow ? splat(-87.0f) : x;
  constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer held in the low bits
  const Floats shifted = x * 1.44269504088896341f + kShifter;
  const Floats n = shifted - kShifter;
  Floats r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  Floats p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  Ints n_bits;
  std::memcpy(&n_bits, &shifted, sizeof n_bits);
  int32_t shifter_int;
  std::memcpy(&shifter_int, &kShifter, sizeof shifter_int);
  const Ints two_n_bits = (n_bits - shifter_int + 127) << 23;
  Floats two_n;
  std::memcpy(&two_n, &two_n_bits, sizeof two_n);
  return underflow ? splat(0.0f) : p * two_n;
}

TROL_VECTOR_INLINE float exp_nonpositive(float x) { return exp_nonpositive(splat(x))[0]; }

TROL_VECTOR_INLINE float horizontal_max(const Floats& v) {
  float m = v[0];
  for (int64_t l = 1; l < kLanes; ++l) m = v[l] > m ? v[l] : m;
  return m;
}

TROL_VECTOR_INLINE double horizontal_sum(const Floats& v) {
  double s = 0;
  for (int64_t l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

}  // namespace trol::cpu_vector
