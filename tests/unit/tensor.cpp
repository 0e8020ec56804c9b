#include <catch2/catch.hpp>

#include <cstdint>

#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"

using namespace mmm;

TEST_CASE("Shape counts, compares and prints") {
  const Shape s{2, 3, 5};
  CHECK(s.rank() == 3);
  CHECK(s.numel() == 30);
  CHECK(s.back() == 5);
  CHECK(s.str() == "[2, 3, 5]");
  CHECK(s == Shape{2, 3, 5});
  CHECK_FALSE(s == Shape{2, 3});
  CHECK(Shape{}.numel() == 1);
  CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5, 6, 7}), ShapeError);
  CHECK_THROWS_AS((Shape{2, -1}), ShapeError);
}

TEST_CASE("Tensor is 64-byte aligned, zero-initialised, deep-copied") {
  for (Index n : {1, 3, 17, 1000}) {
    Tensor t(Shape{n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    for (Index i = 0; i < n; ++i) CHECK(t[i] == 0.0f);
  }
  Tensor a(Shape{2, 2}, {1, 2, 3, 4});
  Tensor b = a;
  b[0] = 9;
  CHECK(a[0] == 1);
  Tensor c = std::move(b);
  CHECK(c[0] == 9);
  CHECK_THROWS_AS((Tensor(Shape{2, 2}, {1, 2, 3})), ShapeError);
  c.reshape(Shape{4});
  CHECK(c.shape() == Shape{4});
  CHECK_THROWS_AS(c.reshape(Shape{5}), ShapeError);
}

TEST_CASE("kinds check the shape of the tensor they view and name what they need") {
  Tensor feat(Shape{3, 7}), seq(Shape{2, 5, 7}), map(Shape{1, 3, 4, 6});
  IntTensor ids(Shape{2, 9});
  CHECK(Feat<7>(feat).batch == 3);
  CHECK(Seq<7>(seq).length == 5);
  CHECK(Map<3>(map).width == 6);
  CHECK(Tokens(ids).length == 9);
  CHECK_THROWS_WITH(Feat<8>(feat), Catch::Contains("Feat<8> needs a tensor of shape [N, 8], got [3, 7]"));
  CHECK_THROWS_WITH(Seq<7>(feat), Catch::Contains("Seq<7> needs a tensor of shape [N, T, 7], got [3, 7]"));
  CHECK_THROWS_WITH(Map<4>(map), Catch::Contains("Map<4> needs a tensor of shape [N, 4, H, W]"));
  CHECK_THROWS_AS(Tokens(IntTensor(Shape{9})), ShapeError);
  CHECK(Feat<7>(feat).to_tensor().shape() == Shape{3, 7});
}

TEST_CASE("kind traits describe joins at compile time") {
  STATIC_REQUIRE(RowKindOf<Feat<4>, 4>);
  STATIC_REQUIRE(RowKindOf<Seq<4>, 4>);
  STATIC_REQUIRE_FALSE(RowKindOf<Feat<4>, 5>);
  STATIC_REQUIRE_FALSE(RowKindOf<Map<4>, 4>);
  STATIC_REQUIRE_FALSE(RowKindOf<Tokens, 4>);
  STATIC_REQUIRE(std::is_same_v<with_last_dim_t<Seq<3>, 9>, Seq<9>>);
  STATIC_REQUIRE(std::is_same_v<with_last_dim_t<Map<3>, 9>, Feat<9>>);
  STATIC_REQUIRE(FloatKind<Map<3>>);
  STATIC_REQUIRE_FALSE(FloatKind<Tokens>);
}
