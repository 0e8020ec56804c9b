// Must not compile: the model takes Feat<64>, the call gives it Feat<32>.
#include "mmm/pipeline.hpp"

float call(const mmm::Sequential<mmm::Linear<64, 10>, mmm::ReLU>& model, const float* data) {
  mmm::Workspace ws;
  return model(mmm::Feat<32>(data, 1), ws).data[0];
}
