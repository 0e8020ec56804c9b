#pragma once
// Random weights for tests that need a working model but no PyTorch: every parameter
// drawn from N(0, stddev²) with a fixed seed, then prepare() as load() would.

#include <random>
#include <string>

#include "mmm/core/tensor.hpp"

namespace mmm::test {

template <class Model>
void fill_random(Model& model, unsigned seed, float stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  model.visit_parameters([&](const std::string&, Tensor& t) {
    for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
  }, "");
  model.prepare();
}

}  // namespace mmm::test
