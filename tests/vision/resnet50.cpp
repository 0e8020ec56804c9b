// ResNet-50 against torchvision (oracle: resnet.py, check: resnet_check.hpp), in a file of
// its own: one ResNet-50 per translation unit keeps each under the compile-time budget, and
// the sanitizer run can leave it out by its tag. Bounds: see resnet.cpp.
#include "resnet_check.hpp"

using namespace mmm;
using test::check_resnet;

TEST_CASE("ResNet-50 loads torchvision's state_dict and matches torchvision.models.resnet50", "[resnet][resnet50]") {
  check_resnet<ResNet50, ResNet50Pooled, ResNet50FeatureMap>("resnet50", {.logits = 1e-3, .map = 5e-3});
}
