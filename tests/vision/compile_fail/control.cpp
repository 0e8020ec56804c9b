// The control for group_norm_groups.cpp: the same definition with groups that divide the
// channels compiles, so the failure there is the division and nothing else.
#include "mmm/pipeline.hpp"

mmm::GroupNorm<4, 12> norm;  // NOLINT: the definition is the test
