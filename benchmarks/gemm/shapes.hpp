#pragma once
// The GEMM workloads every engine runs in the same benchmark run, and how they are named,
// so that scripts/bench.sh can pair mmm's rows with each peer's.
//
//   GEMM/<engine>/<m>x<n>x<k>/threads:<t>          C = A·B, all row-major, nothing prepacked
//   Linear/<engine>/M=<m>,N=<n>,K=<k>/threads:<t>  C = A·Wᵀ, W a PyTorch Linear weight [N,K]

#include <cstdint>
#include <string>
#include <vector>

namespace mmm::bench {

struct GemmShape {
  std::int64_t m, n, k;
  bool linear;  // A·Wᵀ with W[n×k] (a Linear layer) instead of A·B
};

inline std::vector<GemmShape> gemm_shapes() {
  return {{256, 256, 256, false},  {512, 512, 512, false}, {1024, 1024, 1024, false},
          {2048, 2048, 2048, false}, {1, 4096, 1024, true},  {16, 4096, 1024, true},
          {64, 4096, 1024, true}};
}

inline std::string gemm_name(const std::string& engine, const GemmShape& s, int threads) {
  const std::string t = "/threads:" + std::to_string(threads);
  if (s.linear)
    return "Linear/" + engine + "/M=" + std::to_string(s.m) + ",N=" + std::to_string(s.n) + ",K=" +
           std::to_string(s.k) + t;
  return "GEMM/" + engine + "/" + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) + t;
}

inline double gemm_flops(const GemmShape& s) { return 2.0 * double(s.m) * double(s.n) * double(s.k); }

// Operands filled with small values so that nothing overflows or turns denormal.
inline std::vector<float> filled(std::int64_t count, float seed) {
  std::vector<float> v(static_cast<std::size_t>(count));
  std::uint32_t x = static_cast<std::uint32_t>(seed * 1000.0f) + 12345u;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;
    e = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

}  // namespace mmm::bench
