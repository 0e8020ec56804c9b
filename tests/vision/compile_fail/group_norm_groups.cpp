// Must not compile: 12 channels do not divide into 5 groups.
#include "mmm/pipeline.hpp"

mmm::GroupNorm<5, 12> norm;  // NOLINT: the definition is the test
