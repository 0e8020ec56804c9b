#pragma once
// An image as the examples' vision models take it, as their training scripts' torchvision
// transforms give it: resized to the model's square size when it is another size (bilinear
// with antialiasing), then (v / 255 - mean) / std, mean and std from the weights' metadata.

#include <array>

#include "mmm/io/safetensors.hpp"
#include "mmm/preprocess/image/normalize.hpp"
#include "mmm/preprocess/image/resize.hpp"

namespace examples {

class ImageInput {
 public:
  explicit ImageInput(mmm::Index size) : size_(size), input_(mmm::Shape{1, 3, size, size}) {}

  // The "mean" and "std" numbers of the weights' metadata (one for all three channels).
  void read_normalization(const mmm::SafeTensors& weights) {
    mean_ = static_cast<float>(weights.metadata_number("mean"));
    std_ = static_cast<float>(weights.metadata_number("std"));
  }

  // The [1, 3, size, size] input: a view of this ImageInput's buffer, valid until the next call.
  const mmm::Tensor& operator()(const mmm::Image& image) {
    const std::array<float, 3> mean{mean_, mean_, mean_}, std{std_, std_, std_};
    const mmm::Normalizer normalize(mean, std);
    if (image.height() == size_ && image.width() == size_) {
      normalize(image, input_.data());
    } else {
      resizer_.resize(image, resized_, {size_, size_});
      normalize(resized_, input_.data());
    }
    return input_;
  }

 private:
  mmm::Index size_;
  float mean_ = 0.5f, std_ = 0.5f;
  mmm::Tensor input_;
  mmm::Image resized_;
  mmm::Resizer resizer_;
};

}  // namespace examples
