// Must not compile: FusionConcat joins Feat and Seq branches; a branch giving Map<3> (no
// pooling or Flatten after it) does not fit. Reported when the model type is used.
#include "mmm/pipeline.hpp"

using Bad = mmm::Sequential<mmm::Parallel<mmm::ReLU, mmm::Linear<4, 6>>, mmm::FusionConcat, mmm::Linear<9, 2>>;
void call(const Bad& model, const mmm::Map<3>& image, const mmm::Feat<4>& x) {
  mmm::Workspace ws;
  (void)model(image, x, ws);
}
