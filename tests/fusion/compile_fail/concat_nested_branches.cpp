// Must not compile: FusionConcat joins Feat, Seq and Map branches; branch 0 here gives the
// Branches of an inner Parallel (no fusion after it). Reported when the model type is used,
// naming the branch.
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

using Inner = mmm::Parallel<mmm::Linear<2, 3>, mmm::Linear<2, 3>>;
using Bad = mmm::Sequential<mmm::Parallel<Inner, mmm::Linear<4, 6>>, mmm::FusionConcat, mmm::Linear<12, 2>>;
Bad model;  // NOLINT: the definition is the test
