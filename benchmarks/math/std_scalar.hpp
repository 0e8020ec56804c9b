#pragma once
// The std:: scalar peers of bench_math (std_scalar.cpp, built without auto-vectorization).

#include <mmm/core/tensor.hpp>

namespace mmm::bench::scalar {

using mmm::Index;

void std_exp(const float* x, float* y, Index n);
void std_log(const float* x, float* y, Index n);
void std_tanh(const float* x, float* y, Index n);
void std_sigmoid(const float* x, float* y, Index n);
void std_erf(const float* x, float* y, Index n);
void std_gelu(const float* x, float* y, Index n);
void std_gelu_tanh(const float* x, float* y, Index n);
void std_silu(const float* x, float* y, Index n);
void std_relu(const float* x, float* y, Index n);

void std_softmax(const float* x, float* y, Index rows, Index cols);
void std_log_softmax(const float* x, float* y, Index rows, Index cols);
void std_layer_norm(const float* x, float* y, Index rows, Index cols);  // eps 1e-5, no gamma/beta
void std_rms_norm(const float* x, float* y, Index rows, Index cols);    // eps 1e-5, no gamma

}  // namespace mmm::bench::scalar
