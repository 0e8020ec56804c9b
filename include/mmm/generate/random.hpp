#pragma once
// Pcg32: the random numbers of sampling, our own so that a seed means the same draws on
// every platform and standard library (the std:: distributions are not specified bit for
// bit, and differ between libstdc++, libc++ and MSVC). It is O'Neill's PCG32 (XSH-RR, 64-bit
// state, selectable stream), pcg32_srandom_r / pcg32_random_r of the reference pcg-c-basic:
// Pcg32(42, 54) gives 0xa15c02b7, 0x7b47f409, 0xba1d3330, … as that library's demo does.
// tools/mmm_generate.py has the same generator in Python.

#include <cstdint>

namespace mmm::generate {

class Pcg32 {
 public:
  explicit Pcg32(std::uint64_t seed = 0, std::uint64_t stream = 0) noexcept {
    increment_ = (stream << 1u) | 1u;
    (void)next();
    state_ += seed;
    (void)next();
  }

  std::uint32_t next() noexcept {
    const std::uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + increment_;
    const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rotation = static_cast<std::uint32_t>(old >> 59u);
    return (xorshifted >> rotation) | (xorshifted << ((32u - rotation) & 31u));
  }

  // Uniform in [0, 1): one draw over 2^32, exact in a double.
  double uniform() noexcept { return static_cast<double>(next()) * 0x1p-32; }

 private:
  std::uint64_t state_ = 0, increment_ = 0;
};

}  // namespace mmm::generate
