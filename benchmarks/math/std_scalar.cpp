// The std:: peers of bench_math: plain scalar loops, compiled in this translation unit
// alone with -fno-tree-vectorize -fno-tree-slp-vectorize (benchmarks/math/CMakeLists.txt),
// so that they are the one-element-at-a-time baseline they claim to be: at -O3 GCC would
// otherwise vectorize the loops it can (relu entirely, layer_norm's last pass), and the
// ratio would compare two SIMD codes. `objdump -d` of this object shows no packed (…ps,
// ymm, zmm) instruction. The compiler-vectorized relu is measured separately in math.cpp.

#include "std_scalar.hpp"

#include <algorithm>
#include <cmath>

namespace mmm::bench::scalar {

// Element-wise: the textbook formula per element, as the reference version had it.
void std_exp(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void std_log(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
void std_tanh(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void std_sigmoid(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
void std_erf(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}
void std_gelu(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}
void std_gelu_tanh(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
}
void std_silu(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
}
void std_relu(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

// Row-wise: the reference loops.
void std_softmax(const float* x, float* y, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    float sum = 0;
    for (Index c = 0; c < cols; ++c) sum += (yr[c] = std::exp(xr[c] - m));
    const float inv = 1.0f / sum;
    for (Index c = 0; c < cols; ++c) yr[c] *= inv;
  }
}
void std_log_softmax(const float* x, float* y, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    float sum = 0;
    for (Index c = 0; c < cols; ++c) sum += std::exp(xr[c] - m);
    const float lse = m + std::log(sum);
    for (Index c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
  }
}
void std_layer_norm(const float* x, float* y, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float mean = 0, var = 0;
    for (Index c = 0; c < cols; ++c) mean += xr[c];
    mean /= static_cast<float>(cols);
    for (Index c = 0; c < cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= static_cast<float>(cols);
    const float inv = 1.0f / std::sqrt(var + 1e-5f);
    for (Index c = 0; c < cols; ++c) yr[c] = (xr[c] - mean) * inv;
  }
}
void std_rms_norm(const float* x, float* y, Index rows, Index cols) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float ms = 0;
    for (Index c = 0; c < cols; ++c) ms += xr[c] * xr[c];
    ms /= static_cast<float>(cols);
    const float inv = 1.0f / std::sqrt(ms + 1e-5f);
    for (Index c = 0; c < cols; ++c) yr[c] = xr[c] * inv;
  }
}

}  // namespace mmm::bench::scalar
