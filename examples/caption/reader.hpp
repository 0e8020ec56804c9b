#pragma once
// The captioner as a reader of pictures, for what only needs a caption back (examples/draw's
// --check, its parity test): compiled once, in task.cpp (the library caption_reader), so
// that including this header costs none of the model's templates. caption.hpp is the model.

#include <memory>
#include <string>

#include "mmm/preprocess/image/image.hpp"

namespace caption {

class Describer;

class Reader {
 public:
  // `path`: caption.safetensors (examples/caption).
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  // The caption of an image (any size), by the model's own beam search.
  std::string read(const mmm::Image& image);

 private:
  std::unique_ptr<Describer> describer_;
};

}  // namespace caption
