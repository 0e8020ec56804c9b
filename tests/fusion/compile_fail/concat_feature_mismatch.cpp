// Must not compile: the branches give Feat<8> + Feat<7> = Feat<15>, the Linear after the
// FusionConcat expects Feat<16>.
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
using Bad = mmm::Sequential<mmm::Parallel<ImageEncoder, TextEncoder>, mmm::FusionConcat, mmm::Linear<16, 2>>;
Bad model;  // NOLINT: the definition is the test
