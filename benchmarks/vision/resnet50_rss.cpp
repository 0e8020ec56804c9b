// ResNet-50 in a process of its own, for peak memory: what a program that loads the weights
// from a file and classifies images holds at its peak (weights as loaded, packed weights,
// the Workspace), to hold against ONNX Runtime and libtorch doing the same in theirs.
//
//   resnet50_rss write FILE                  random weights with torchvision's names, as safetensors
//   resnet50_rss run FILE N THREADS ITERS    load FILE, run ITERS forwards of N×3×224×224,
//                                            print the median milliseconds and the peak RSS
// Peak RSS is getrusage's ru_maxrss (measure with /usr/bin/time -v too).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mmm/pipeline.hpp"
#include "resnet_weights.hpp"

using namespace mmm;

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "write") {
    auto net = std::make_unique<ResNet50>();
    bench::init_like_torchvision(*net);
    save(*net, argv[2]);
    return 0;
  }
  if (mode != "run" || argc != 6) {
    std::fprintf(stderr, "usage: %s write FILE | run FILE N THREADS ITERS\n", argv[0]);
    return 2;
  }
  const Index batch = std::atoi(argv[3]);
  set_num_threads(std::atoi(argv[4]));
  const int iterations = std::atoi(argv[5]);
  auto net = std::make_unique<ResNet50>();
  load(*net, argv[2]);
  Tensor x(Shape{batch, 3, 224, 224});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 251) / 125.0f - 1.0f;
  Workspace ws;
  std::vector<double> ms;
  float checksum = 0;
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    checksum += net->operator()(Map<3>(x), ws).data[0];
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("resnet50 N=%lld threads=%s: median %.2f ms over %d runs, peak RSS %.1f MB (checksum %g)\n",
              static_cast<long long>(batch), argv[4], ms[ms.size() / 2], iterations, usage.ru_maxrss / 1024.0, checksum);
  return 0;
}
