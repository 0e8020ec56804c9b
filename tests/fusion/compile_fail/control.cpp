// Compiles: the fitting versions of the compile-fail tests in this directory.
#include "mmm/pipeline.hpp"

using ImageEncoder = mmm::Sequential<mmm::Flatten<3, 4, 5>, mmm::Linear<60, 8>, mmm::ReLU>;
using TextEncoder = mmm::Sequential<mmm::Embedding<11, 6>, mmm::MeanPool, mmm::Linear<6, 7>>;
using Good = mmm::Sequential<mmm::Parallel<ImageEncoder, TextEncoder>, mmm::FusionConcat, mmm::Linear<15, 2>>;
Good model;

using GoodMap = mmm::Sequential<mmm::Parallel<mmm::GlobalAvgPool, mmm::Linear<4, 6>>, mmm::FusionConcat, mmm::Linear<9, 2>>;
void call(const GoodMap& m, const mmm::Map<3>& image, const mmm::Feat<4>& x) {
  mmm::Workspace ws;
  (void)m(image, x, ws);
}
using P = mmm::Parallel<mmm::Linear<4, 6>, mmm::Embedding<11, 6>>;
void call(const P& branches, const mmm::Feat<4>& a, const mmm::Tokens& b) {
  mmm::Workspace ws;
  (void)branches(a, b, ws);
}
