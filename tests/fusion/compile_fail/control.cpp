// Compiles: the fitting versions of the compile-fail tests in this directory.
// Only the headers it needs: a compile-fail test pays for every header it parses.
#include "mmm/compose/fork.hpp"
#include "mmm/compose/parallel.hpp"
#include "mmm/layers/activation.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/gated_fusion.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/pooling.hpp"

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

// The fitting versions of the Fork, FusionSum, GatedFusion and nested-Branches tests.
using Inner = mmm::Parallel<mmm::Linear<2, 3>, mmm::Linear<2, 3>>;
using GoodNested = mmm::Sequential<mmm::Parallel<mmm::Sequential<Inner, mmm::FusionConcat>, mmm::Linear<4, 6>>,
                                   mmm::FusionConcat, mmm::Linear<12, 2>>;
GoodNested nested;
mmm::Fork<mmm::Linear<4, 8>, mmm::Sequential<mmm::Linear<4, 3>, mmm::ReLU>> two_branches;
using GoodFork = mmm::Sequential<mmm::Linear<3, 4>, mmm::Fork<mmm::Linear<4, 2>, mmm::ReLU>, mmm::FusionConcat>;
GoodFork fork_model;
using GoodSum = mmm::Sequential<mmm::Parallel<mmm::Linear<2, 8>, mmm::Linear<3, 8>>, mmm::FusionSum>;
GoodSum sum_model;
using GoodGated = mmm::Sequential<mmm::Parallel<mmm::Linear<2, 5>, mmm::Linear<3, 7>>, mmm::GatedFusion<4, 5, 7>>;
GoodGated gated_model;
using GoodParallel = mmm::Sequential<mmm::Parallel<mmm::Linear<4, 6>, mmm::Embedding<11, 6>>, mmm::FusionConcat>;
void call(const GoodParallel& model, const mmm::Feat<4>& a, const mmm::Tokens& b) {
  mmm::Workspace ws;
  (void)model(a, b, ws);
}
