// caption::Reader (reader.hpp): the Describer behind a compiled wall.
#include "reader.hpp"

#include "caption.hpp"

namespace caption {

Reader::Reader(const std::string& path) : describer_(std::make_unique<Describer>(path)) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

std::string Reader::read(const mmm::Image& image) { return describer_->describe(image).text; }

}  // namespace caption
