#pragma once
// The convolutions issue 9 benchmarks, by the names the peer workloads report them as.
#include <string>

namespace mmm::bench {

struct ConvShape {
  const char* label;  // the row's workload name
  long batch, in, out, h, w, kernel, stride, pad, groups;
  long out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  long out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};

inline constexpr ConvShape conv3x3_64{"64x56x56_k3_64", 1, 64, 64, 56, 56, 3, 1, 1, 1};
inline constexpr ConvShape conv1x1_256_64{"256x56x56_k1_64", 1, 256, 64, 56, 56, 1, 1, 0, 1};
inline constexpr ConvShape depthwise3x3_256{"256x56x56_k3_dw", 1, 256, 256, 56, 56, 3, 1, 1, 256};
inline constexpr ConvShape conv3x3s2_128_256{"128x28x28_k3s2_256", 1, 128, 256, 28, 28, 3, 2, 1, 1};
// Conv1D 80→384, k = 3, pad 1, over 3000 frames (a Whisper-style front end), as a 1×3000 map.
inline constexpr ConvShape conv1d_80_384{"80x3000_k3_384", 1, 80, 384, 1, 3000, 3, 1, 1, 1};

// Multiply-adds × 2; a Conv1D (h = 1) has one kernel row and one output row.
inline double flops(const ConvShape& s) {
  const double taps = s.kernel * (s.h == 1 ? 1 : s.kernel) * (s.in / s.groups);
  return 2.0 * s.batch * s.out * taps * (s.h == 1 ? 1 : s.out_h()) * s.out_w();
}

inline std::string name(const char* engine, const ConvShape& s, int threads, const char* family = nullptr) {
  return std::string(family ? family : (s.h == 1 ? "Conv1D" : "Conv2D")) + "/" + engine + "/" + s.label +
         "/threads:" + std::to_string(threads);
}

}  // namespace mmm::bench
