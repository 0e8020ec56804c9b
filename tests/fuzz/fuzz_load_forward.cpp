// libFuzzer target: any bytes as a safetensors file, loaded into each of the small models
// of fuzz_models.hpp (whole, and under a prefix), then, when a load succeeds, run forward
// on a fixed input. Loading either succeeds or throws mmm::Error (a ParameterError lists
// every mismatch); a loaded model's forward either gives an output of the right shape or
// throws mmm::Error, whatever the weights (NaN, inf, subnormals).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fuzz_models.hpp"
#include "mmm/pipeline.hpp"

namespace {
using namespace mmm;

template <class Model, class Run>
void load_and_run(const SafeTensors& file, const std::string& prefix, Run&& run) {
  auto model = std::make_unique<Model>();
  try {
    load(*model, file, prefix);
  } catch (const ParameterError& e) {
    if (e.missing().empty() && e.unexpected().empty() && e.mismatched().empty()) __builtin_trap();
    return;
  }
  Workspace ws;
  run(*model, ws);
  run(*model, ws);  // again, warm
}

void load_all(const SafeTensors& file) {
  const float image[2 * 2 * 5 * 3] = {0.5f, -1, 2, 0.25f, 3, -0.5f, 1, 1, 0, 7, -2, 0.125f, 4, 4, 4};
  const std::int32_t ids[2 * 3] = {0, 16, 3, 5, 5, 9};
  const std::int32_t lengths[2] = {3, 1};
  const float rows[3 * 8] = {1, -1, 0.5f, 2, 0, 0, 3, -4, 0.1f, 0.2f, 0.3f, 0.4f};
  const float map18[2 * 18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3};
  for (const std::string prefix : {"", "0", "model"}) {
    load_and_run<fuzz::Multimodal>(file, prefix, [&](const auto& m, Workspace& ws) {
      const auto y = m(Map<2>(image, 2, 5, 3), Tokens(ids, 2, 3, lengths), ws);
      if (y.batch != 2) __builtin_trap();
    });
    load_and_run<fuzz::TokensToSteps>(file, prefix, [&](const auto& m, Workspace& ws) {
      if (m(Tokens(ids, 2, 3, lengths), ws).batch != 2) __builtin_trap();
    });
    load_and_run<fuzz::Rows>(file, prefix, [&](const auto& m, Workspace& ws) {
      if (m(Feat<8>(rows, 3), ws).batch != 3) __builtin_trap();
      if (m(Seq<8>(rows, 1, 3), ws).length != 3) __builtin_trap();
    });
    load_and_run<fuzz::Flat>(file, prefix, [&](const auto& m, Workspace& ws) {
      if (m(Map<2>(map18, 2, 3, 3), ws).batch != 2) __builtin_trap();
    });
    load_and_run<Linear<8, 5>>(file, prefix, [&](const auto& m, Workspace& ws) {
      if (m(Feat<8>(rows, 3), ws).batch != 3) __builtin_trap();
    });
    load_and_run<Embedding<17, 4>>(file, prefix, [&](const auto& m, Workspace& ws) {
      if (m(Tokens(ids, 2, 3), ws).length != 3) __builtin_trap();
    });
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const SafeTensors file = SafeTensors::from_bytes({reinterpret_cast<const std::byte*>(data), size}, "fuzz.safetensors");
    load_all(file);
  } catch (const mmm::Error&) {
  }
  return 0;
}
