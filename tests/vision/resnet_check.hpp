#pragma once
// The check both ResNet test files share: torchvision's state_dict loads unchanged into each
// of a net's three variants (logits, pooled features, layer4's map), which give torch's
// outputs on the oracle's 224×224 and 177×263 images (oracle: resnet.py), compared with
// torch's float64 run.
#include <catch2/catch.hpp>

#include <string>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

namespace mmm::test {

struct ResNetBounds {
  double pooled = 1e-4, logits, map;
};

template <class Net, class Pooled, class FeatureMap>
void check_resnet(const char* name, ResNetBounds bounds) {
  OracleCase c(name);
  Net net;
  Pooled pooled;
  FeatureMap map;
  c.load_model(net);
  c.load_model(pooled);
  c.load_model(map);
  Workspace ws;
  for (const std::string image : {"square", "wide"}) {
    const Tensor x = c.input(image);
    const std::string what = std::string(name) + " on the " + image + " image: ";
    require_close_to_float64(net(Map<3>(x), ws).to_tensor(), c, image + ".logits", bounds.logits, what + "logits");
    require_close_to_float64(pooled(Map<3>(x), ws).to_tensor(), c, image + ".pooled", bounds.pooled, what + "pooled");
    require_close_to_float64(map(Map<3>(x), ws).to_tensor(), c, image + ".map", bounds.map, what + "layer4's map");
  }
}

}  // namespace mmm::test
