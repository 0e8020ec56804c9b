#pragma once
// Element-wise and row-wise math over float arrays: the one place layers go for exp, tanh,
// sigmoid, GELU, softmax and layer norm. Output may alias input (in place).
//
// (Reference version: plain loops over <cmath>; the vectorized one replaces the bodies,
// never the signatures.)

#include <algorithm>
#include <cmath>
#include <limits>

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/activation.hpp"

namespace mmm::kernels {

inline void exp(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
inline void log(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
inline void tanh(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
inline void sigmoid(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
inline void erf(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}
// Exact GELU: x·Φ(x) = x/2·(1 + erf(x/√2)), PyTorch's approximate='none'.
inline void gelu(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}
// PyTorch's approximate='tanh': x/2·(1 + tanh(√(2/π)·(x + 0.044715x³))).
inline void gelu_tanh(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
}
inline void silu(const float* x, float* y, index n) {
  for (index i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
}
inline void relu(const float* x, float* y, index n) {
  // x > 0 ? x : 0 keeps NaN as NaN, like torch.relu.
  for (index i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

inline void apply(Activation a, const float* x, float* y, index n) {
  switch (a) {
    case Activation::none:
      if (x != y) std::copy_n(x, n, y);
      return;
    case Activation::relu: return relu(x, y, n);
    case Activation::gelu: return gelu(x, y, n);
    case Activation::gelu_tanh: return gelu_tanh(x, y, n);
    case Activation::silu: return silu(x, y, n);
    case Activation::sigmoid: return sigmoid(x, y, n);
    case Activation::tanh: return tanh(x, y, n);
  }
}

// Row-wise softmax over `cols`, max-subtracted so that large logits do not overflow.
inline void softmax(const float* x, float* y, index rows, index cols) {
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    float sum = 0;
    for (index c = 0; c < cols; ++c) sum += (yr[c] = std::exp(xr[c] - m));
    const float inv = 1.0f / sum;
    for (index c = 0; c < cols; ++c) yr[c] *= inv;
  }
}

inline void log_softmax(const float* x, float* y, index rows, index cols) {
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = *std::max_element(xr, xr + cols);
    double sum = 0;
    for (index c = 0; c < cols; ++c) sum += std::exp(xr[c] - m);
    const float lse = m + static_cast<float>(std::log(sum));
    for (index c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
  }
}

// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row; gamma/beta may be null.
inline void layer_norm(const float* x, float* y, index rows, index cols, const float* gamma, const float* beta,
                       float eps) {
  for (index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    double mean = 0, var = 0;
    for (index c = 0; c < cols; ++c) mean += xr[c];
    mean /= static_cast<double>(cols);
    for (index c = 0; c < cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= static_cast<double>(cols);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (index c = 0; c < cols; ++c) {
      const float v = (xr[c] - static_cast<float>(mean)) * inv;
      yr[c] = v * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
    }
  }
}

}  // namespace mmm::kernels
