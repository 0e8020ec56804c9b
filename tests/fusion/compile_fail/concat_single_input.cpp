// Must not compile: FusionConcat needs the Branches a Parallel gives, not one Feat.
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

using Bad = mmm::Sequential<mmm::Linear<4, 6>, mmm::FusionConcat, mmm::Linear<6, 2>>;
Bad model;  // NOLINT: the definition is the test
