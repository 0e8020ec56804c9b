// Must not compile: Linear<32, 32> gives Feat<32>, Linear<64, 10> expects Feat<64>.
// Reported when the model type is used, before any call.
#include "mmm/pipeline.hpp"

using Bad = mmm::Sequential<mmm::Linear<16, 32>, mmm::ReLU, mmm::Linear<64, 10>>;
Bad model;  // NOLINT: the definition is the test
