// Must not compile: FusionSum adds Feat<D>/Seq<D> branches of one D; branch 1 gives Feat<7>
// where branch 0 gives Feat<8>.
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

using Bad = mmm::Sequential<mmm::Parallel<mmm::Linear<2, 8>, mmm::Linear<3, 7>>, mmm::FusionSum>;
Bad model;  // NOLINT: the definition is the test
