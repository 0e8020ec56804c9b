// Must not compile: the Linear before the Fork gives Feat<5>; the Fork's branch 0 takes
// Feat<4> (branch 1, a ReLU, would take anything).
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

using Bad = mmm::Sequential<mmm::Linear<3, 5>, mmm::Fork<mmm::Linear<4, 2>, mmm::ReLU>, mmm::FusionConcat>;
Bad model;  // NOLINT: the definition is the test
