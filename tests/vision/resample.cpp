// Parity with PyTorch for Upsample (nearest, nearest-exact, bilinear both ways; by scale
// and by size), PixelShuffle and PixelUnshuffle (oracle: layers.py), and their errors.
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using Catch::Matchers::Contains;
using test::OracleCase;
using test::require_close;

namespace {
template <class M, Index C>
void check(const char* name, double tolerance = 1e-4) {
  OracleCase c(name);
  Workspace ws;
  require_close(M{}(Map<C>(c.input("x")), ws).to_tensor(), c.output("y"), tolerance, name);
}
constexpr UpsampleMode nearest = UpsampleMode::nearest, exact = UpsampleMode::nearest_exact,
                       bilinear = UpsampleMode::bilinear;
}  // namespace

TEST_CASE("Upsample's nearest modes pick torch's source pixels") {
  // Copies: exact equality.
  check<Upsample<Upsampling{.scale = 2}>, 5>("nearest_x2", 0);
  check<Upsample<Upsampling{.scale = 1.7}>, 5>("nearest_x1_7", 0);
  check<Upsample<Upsampling{.size = {50, 31}}>, 5>("nearest_size", 0);
  check<Upsample<Upsampling{.mode = exact, .scale = 1.5}>, 5>("nearest_exact_x1_5", 0);
  check<Upsample<Upsampling{.mode = exact, .size = {29, 80}}>, 5>("nearest_exact_size", 0);
}

TEST_CASE("Upsample's bilinear mode matches torch with and without align_corners") {
  check<Upsample<Upsampling{.mode = bilinear, .scale = 2}>, 5>("bilinear_x2");
  check<Upsample<Upsampling{.mode = bilinear, .scale = {1.5, 2.3}}>, 5>("bilinear_odd_scale");
  check<Upsample<Upsampling{.mode = bilinear, .size = {64, 20}}>, 5>("bilinear_size");
  check<Upsample<Upsampling{.mode = bilinear, .size = {1, 53}}>, 5>("bilinear_size_one");
  check<Upsample<Upsampling{.mode = bilinear, .size = {50, 70}, .align_corners = true}>, 5>("bilinear_corners_size");
  check<Upsample<Upsampling{.mode = bilinear, .scale = 3, .align_corners = true}>, 5>("bilinear_corners_x3");
}

TEST_CASE("PixelShuffle and PixelUnshuffle move channels to space and back as torch does") {
  check<PixelShuffle<2>, 12>("pixel_shuffle_2", 0);
  check<PixelShuffle<3>, 18>("pixel_shuffle_3", 0);
  check<PixelUnshuffle<2>, 3>("pixel_unshuffle_2", 0);
  STATIC_REQUIRE(std::is_same_v<PixelShuffle<2>::output<Map<12>>, Map<3>>);
  STATIC_REQUIRE_FALSE(PixelShuffle<2>::accepts<Map<6>>);
  STATIC_REQUIRE(std::is_same_v<PixelUnshuffle<2>::output<Map<3>>, Map<12>>);
  // Round trip.
  Tensor x(Shape{2, 8, 6, 4});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i);
  Workspace ws;
  const Tensor back = Sequential<PixelShuffle<2>, PixelUnshuffle<2>>{}(Map<8>(x), ws).to_tensor();
  require_close(back, x, 0, "PixelUnshuffle(PixelShuffle(x))");
}

TEST_CASE("resampling to an empty map, or unshuffling a map that does not divide, is an error naming the sizes") {
  Workspace ws;
  Tensor x(Shape{1, 2, 1, 3}, 1.0f);
  REQUIRE_THROWS_AS(Upsample<Upsampling{.scale = 0.5}>{}(Map<2>(x), ws), ShapeError);
  REQUIRE_THROWS_WITH(Upsample<Upsampling{.scale = 0.5}>{}(Map<2>(x), ws),
                      Contains("Upsample<nearest, scale 0.500000>") && Contains("1×3") && Contains("0×1"));
  REQUIRE_THROWS_WITH(PixelUnshuffle<2>{}(Map<2>(x), ws), Contains("PixelUnshuffle<2>") && Contains("1×3"));
}
