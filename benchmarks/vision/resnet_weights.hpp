#pragma once
// Weights for timing a ResNet without a file: convolutions and the classifier drawn as
// torchvision initializes them (Kaiming normal, fan_out; the classifier uniform in
// ±1/√fan_in), BatchNorms at their identity statistics. Values of the right size matter
// for speed only to keep activations away from subnormals.

#include <cmath>
#include <random>
#include <string>

#include "mmm/pipeline.hpp"

namespace mmm::bench {

template <class Model>
void init_like_torchvision(Model& model, unsigned seed = 1) {
  std::mt19937 rng(seed);
  model.visit_parameters(
      [&](const std::string& name, Tensor& t) {
        auto ends_with = [&](const char* s) { return name.ends_with(s); };
        if (ends_with("running_var") || (t.rank() == 1 && ends_with("weight") && !name.starts_with("fc"))) {
          for (Index i = 0; i < t.numel(); ++i) t[i] = 1.0f;
        } else if (t.rank() == 1) {
          for (Index i = 0; i < t.numel(); ++i) t[i] = 0.0f;
        } else if (t.rank() == 4) {
          const double fan_out = static_cast<double>(t.dim(0) * t.dim(2) * t.dim(3));
          std::normal_distribution<float> dist(0.0f, static_cast<float>(std::sqrt(2.0 / fan_out)));
          for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
        } else {
          const float bound = 1.0f / std::sqrt(static_cast<float>(t.dim(1)));
          std::uniform_real_distribution<float> dist(-bound, bound);
          for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
        }
      },
      "");
  model.prepare();
}

}  // namespace mmm::bench
