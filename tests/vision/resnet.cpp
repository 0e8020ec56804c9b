// ResNet-18 and ResNet-34 against torchvision (oracle: resnet.py, check: resnet_check.hpp);
// ResNet-50 is in resnet50.cpp.
//
// Bounds (the same for ResNet-50), against torch's float64 run (require_close_to_float64:
// widened to 4x torch's own float32 error where that is larger). The pooled features,
// averages of ReLU outputs with no cancellation, are held to 1e-4: mmm measured 0.6-3.6e-5,
// torch's float32 1.2-6e-5 (4 seeds of ResNet-18/34, 3 of ResNet-50). The logits and layer4's
// map hold values near zero that are differences of long sums (the classifier's 512 or 2048
// products, the last block's 4608 and its residual), where float32 is off by more than that
// on this metric: torch's float32 logits 1.1-5.3e-4 and maps 1.1-3.0e-3, mmm's 0.7-2.4e-4
// and 0.4-1.3e-3. They are held to 1e-3 (logits) and 5e-3 (map).
#include "resnet_check.hpp"

using namespace mmm;
using test::check_resnet;

TEST_CASE("ResNet-18 loads torchvision's state_dict and matches torchvision.models.resnet18", "[resnet][resnet18]") {
  check_resnet<ResNet18, ResNet18Pooled, ResNet18FeatureMap>("resnet18", {.logits = 1e-3, .map = 5e-3});
}

TEST_CASE("ResNet-34 loads torchvision's state_dict and matches torchvision.models.resnet34", "[resnet][resnet34]") {
  check_resnet<ResNet34, ResNet34Pooled, ResNet34FeatureMap>("resnet34", {.logits = 1e-3, .map = 5e-3});
}
