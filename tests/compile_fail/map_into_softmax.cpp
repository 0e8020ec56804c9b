// Must not compile: Softmax (over the last dimension) needs Feat or Seq, a Map has none.
#include "mmm/pipeline.hpp"

void call(const mmm::Sequential<mmm::ReLU, mmm::Softmax>& model, const mmm::Map<3>& image) {
  mmm::Workspace ws;
  (void)model(image, ws);
}
