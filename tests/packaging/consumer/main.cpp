// A user's program: compose a model, save and load its weights, run it, check the answer.
#include <mmm/pipeline.hpp>

#include <cmath>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  using namespace mmm;
  using Model = Sequential<Linear<3, 4>, ReLU, Linear<4, 2>, Softmax>;
  const std::string path = argc > 1 ? argv[1] : "consumer.safetensors";

  Model a;
  a.visit_parameters([](const std::string& name, Tensor& t) {
    for (Index i = 0; i < t.numel(); ++i) t[i] = (name.ends_with("bias") ? 0.0f : 0.1f * static_cast<float>(i % 5 + 1));
  }, "");
  save(a, path);

  Model b;
  load(b, path);
  Tensor x(Shape{1, 3}, {1.0f, 2.0f, 3.0f});
  const Tensor y = b(Feat<3>(x));
  // Layer 1: every row of W1 is a cyclic 0.1..0.5 pattern; ReLU keeps it; layer 2 + softmax.
  float h[4];
  for (int r = 0; r < 4; ++r) {
    h[r] = 0;
    for (int c = 0; c < 3; ++c) h[r] += 0.1f * static_cast<float>((r * 3 + c) % 5 + 1) * x[c];
  }
  float z[2];
  for (int r = 0; r < 2; ++r) {
    z[r] = 0;
    for (int c = 0; c < 4; ++c) z[r] += 0.1f * static_cast<float>((r * 4 + c) % 5 + 1) * h[c];
  }
  const float p0 = 1.0f / (1.0f + std::exp(z[1] - z[0]));
  std::printf("mmm consumer: p = [%.6f, %.6f], expected [%.6f, %.6f]\n", y[0], y[1], p0, 1 - p0);
  if (!(std::fabs(y[0] - p0) < 1e-5f && std::fabs(y[1] - (1 - p0)) < 1e-5f)) return 1;

  // JPEGs decode through libjpeg-turbo wherever the build had it (argv[3] says whether).
  if (argc > 3) {
    const bool expect_libjpeg = std::string(argv[3]) == "1";
    std::printf("mmm consumer: libjpeg-turbo %s (expected %s)\n", has_libjpeg ? "yes" : "no", expect_libjpeg ? "yes" : "no");
    if (has_libjpeg != expect_libjpeg) return 1;
    if (has_libjpeg || has_image_decoder) {
      const Image image = read_image(argv[2]);
      std::printf("mmm consumer: decoded %s, %ld x %ld\n", argv[2], long(image.height()), long(image.width()));
      if (image.height() <= 0 || image.width() <= 0) return 1;
    }
  }
  return 0;
}
