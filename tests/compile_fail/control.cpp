// Compiles: the fitting versions of every compile-fail test in this directory.
#include "mmm/pipeline.hpp"

using Good = mmm::Sequential<mmm::Linear<16, 32>, mmm::ReLU, mmm::Linear<32, 10>>;
Good model;

float call_feat(const mmm::Sequential<mmm::Linear<64, 10>, mmm::ReLU>& m, const float* data) {
  mmm::Workspace ws;
  return m(mmm::Feat<64>(data, 1), ws).data[0];
}
void call_map(const mmm::Sequential<mmm::ReLU, mmm::Sigmoid>& m, const mmm::Map<3>& image) {
  mmm::Workspace ws;
  (void)m(image, ws);
}
float call_seq(const mmm::Sequential<mmm::ReLU, mmm::Linear<8, 4>, mmm::Softmax>& m, const mmm::Seq<8>& x) {
  mmm::Workspace ws;
  return m(x, ws).data[0];
}
