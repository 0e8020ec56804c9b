#pragma once
// The small models the load-then-forward and forward-input fuzz targets drive: every kind
// (Feat, Seq with lengths, Map, Tokens, Branches) and every module family the library has,
// so that each forward meets the sizes a fuzzer makes up.
#include "mmm/pipeline.hpp"

namespace mmm::fuzz {

using ImageBranch = Sequential<Conv2D<2, 3, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, GlobalAvgPool, Linear<3, 4>>;
using TextBranch = Sequential<Embedding<17, 4>, LayerNorm<4>, MeanPool>;
using Multimodal = Sequential<Parallel<ImageBranch, TextBranch>, FusionConcat, Linear<8, 6>, GELU, SoftmaxHead<6, 3>>;
using TokensToSteps = Sequential<Embedding<17, 8>, RMSNorm<8>, Linear<8, 8>, SiLU, LastStep>;
using Rows = Sequential<Linear<8, 5>, Tanh, LayerNorm<5>, Softmax>;
using Flat = Sequential<Flatten<2, 3, 3>, Linear<18, 2>, Sigmoid>;
using SeqFusion = Sequential<Parallel<Embedding<17, 3>, Embedding<17, 2>>, FusionConcat, MeanPool>;

}  // namespace mmm::fuzz
