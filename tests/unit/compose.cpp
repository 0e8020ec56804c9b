// Sequential, load/save and the Linear+activation fusion, without PyTorch (parity/ has that).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"

using namespace mmm;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmm_compose_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

using MLP = Sequential<Linear<5, 8>, ReLU, Linear<8, 3, false>, Tanh>;

TEST_CASE("Sequential names children like torch.nn.Sequential") {
  MLP mlp;
  std::vector<std::string> names;
  for (const auto& [name, t] : state_dict(mlp)) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
  CHECK(state_dict(mlp, "encoder")[0].first == "encoder.0.weight");
  CHECK(MLP::name() == "Sequential<Linear<5, 8>, ReLU, Linear<8, 3, false>, Tanh>");
  STATIC_REQUIRE(std::is_same_v<MLP::output<Feat<5>>, Feat<3>>);
  STATIC_REQUIRE(std::is_same_v<MLP::output<Seq<5>>, Seq<3>>);
  STATIC_REQUIRE(Module<MLP>);
  STATIC_REQUIRE(ModuleAccepting<Linear<5, 8>, Seq<5>>);
  STATIC_REQUIRE_FALSE(MLP::accepts<Feat<4>>);
}

TEST_CASE("fused Linear+activation gives what the two modules give one after the other") {
  Sequential<Linear<5, 8>, GELU> fused;
  test::fill_random(fused, 7, 0.3f);
  Tensor x(Shape{4, 5});
  for (Index i = 0; i < x.numel(); ++i) x[i] = std::sin(static_cast<float>(i));
  Workspace ws1, ws2;
  const Tensor y = fused(Feat<5>(x), ws1).to_tensor();
  const auto lin = fused.get<0>().forward(Feat<5>(x), ws2);
  const Tensor z = GELU{}.forward(lin, ws2).to_tensor();
  REQUIRE(y.shape() == z.shape());
  for (Index i = 0; i < y.numel(); ++i) CHECK(y[i] == Approx(z[i]).epsilon(1e-6).margin(1e-7));
}

TEST_CASE("save then load round-trips a model; a model without weights refuses to run") {
  MLP a, b;
  test::fill_random(a, 1, 0.3f);
  Tensor x(Shape{2, 5}, 0.5f);
  CHECK_THROWS_WITH(b(Feat<5>(x)), Catch::Contains("Linear<5, 8>: weights are not prepared"));
  const std::string path = temp_path("mlp.safetensors");
  save(a, path);
  load(b, path);
  const Tensor ya = a(Feat<5>(x)), yb = b(Feat<5>(x));
  for (Index i = 0; i < ya.numel(); ++i) CHECK(ya[i] == yb[i]);
  std::remove(path.c_str());
}

TEST_CASE("load reports every missing, unexpected and mismatched tensor at once, and changes nothing") {
  const std::string path = temp_path("bad.safetensors");
  Tensor w0(Shape{8, 5}, 1.0f), b0(Shape{7}, 1.0f), extra(Shape{2}, 1.0f);
  IntTensor w2(Shape{3, 8});
  save_safetensors(path, {{"net.0.weight", w0}, {"net.0.bias", b0}, {"net.2.weight", w2}, {"net.9.weight", extra},
                          {"other.weight", extra}});
  MLP mlp;
  try {
    load(mlp, path, "net");
    FAIL("load did not throw");
  } catch (const ParameterError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK(e.missing().empty());
    CHECK(e.unexpected() == std::vector<std::string>{"net.9.weight"});  // other.* is outside the prefix
    REQUIRE(e.mismatched().size() == 2);
    CHECK_THAT(msg, Catch::Contains("net.0.bias: shape [7] in the file, the model needs [8]"));
    CHECK_THAT(msg, Catch::Contains("net.2.weight: dtype I32"));
  }
  CHECK(mlp.get<0>().weight()[0] == 0.0f);  // nothing was loaded

  MLP other;
  try {
    load(other, path);  // no prefix: every name is the model's business
    FAIL("load did not throw");
  } catch (const ParameterError& e) {
    CHECK(e.missing().size() == 3);
    CHECK(e.unexpected().size() == 5);
    CHECK_THAT(e.what(), Catch::Contains("0.weight [8, 5]"));
  }
  std::remove(path.c_str());
}

TEST_CASE("load decodes half-precision weights") {
  const std::string path = temp_path("half.safetensors");
  std::vector<std::uint16_t> halves(8 * 5, 0x3c00);  // 1.0
  std::vector<std::uint16_t> bias(8, 0xc000);        // -2.0
  save_safetensors(path, {{"weight", DType::F16, Shape{8, 5}, halves.data()}, {"bias", DType::BF16, Shape{8}, bias.data()}});
  Linear<5, 8> lin;
  load(lin, path);
  CHECK(lin.weight()[0] == 1.0f);
  CHECK(lin.bias()[3] == -2.0f);  // 0xc000 as bfloat16 is -2.0 as well
  std::remove(path.c_str());
}

namespace {
// A module with a parameter and an entry torch saves that mmm reads nothing from.
struct WithCounter : ModuleBase<WithCounter, Rows<2, 2>> {
  static std::string name() { return "WithCounter"; }
  WithCounter() : scale(Shape{2}) {}
  static void parameters(auto& self, auto&& p) {
    p("scale", self.scale);
    p.unused("num_batches_tracked");
  }
  Tensor scale;
};
}  // namespace

TEST_CASE("entries a module declares unused load when present, in any dtype, and are not asked for") {
  const std::string with = temp_path("with_counter.safetensors"), without = temp_path("without_counter.safetensors");
  Tensor scale(Shape{2}, 3.0f);
  const std::int64_t count = 7;
  save_safetensors(with, {{"bn.scale", scale}, {"bn.num_batches_tracked", DType::I64, Shape{}, &count}});
  save_safetensors(without, {{"bn.scale", scale}});
  for (const std::string& path : {with, without}) {
    WithCounter m;
    load(m, path, "bn");
    CHECK(m.scale[1] == 3.0f);
  }
  WithCounter m;
  CHECK(state_dict(m).size() == 1);  // not a parameter: nothing to list or save
  std::remove(with.c_str());
  std::remove(without.c_str());
}
