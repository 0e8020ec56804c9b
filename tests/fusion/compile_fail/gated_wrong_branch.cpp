// Must not compile: GatedFusion<4, 5, 7> takes Feat<5>/Seq<5> in branch 0 and Feat<7>/Seq<7>
// in branch 1; branch 1 here gives Feat<6>.
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

using Bad = mmm::Sequential<mmm::Parallel<mmm::Linear<2, 5>, mmm::Linear<3, 6>>, mmm::GatedFusion<4, 5, 7>>;
Bad model;  // NOLINT: the definition is the test
