// Must not compile: FusionConcat needs the Branches a Parallel gives, not one Feat.
#include "mmm/pipeline.hpp"

using Bad = mmm::Sequential<mmm::Linear<4, 6>, mmm::FusionConcat, mmm::Linear<6, 2>>;
Bad model;  // NOLINT: the definition is the test
