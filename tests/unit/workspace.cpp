#include <catch2/catch.hpp>

#include <cstdint>

#include "mmm/core/workspace.hpp"

using namespace mmm;

namespace {
bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }
}  // namespace

TEST_CASE("Workspace hands out aligned, disjoint memory and settles into one block") {
  Workspace ws;
  float* a = ws.allocate<float>(3);
  float* b = ws.allocate<float>(100000);  // past the first block: a second, larger one
  std::int32_t* c = ws.allocate<std::int32_t>(7);
  for (const void* p : {static_cast<const void*>(a), static_cast<const void*>(b), static_cast<const void*>(c)})
    CHECK(aligned(p));
  const std::size_t high = ws.high_water();
  CHECK(high >= (3 + 100000 + 7) * 4);
  CHECK(ws.in_use() == 64 + 400000 + 64);

  ws.reset();  // keeps the newest block, which covers every offset the call used
  const std::size_t cap = ws.capacity();
  CHECK(cap >= high);
  CHECK(ws.in_use() == 0);
  float* a2 = ws.allocate<float>(3);
  float* b2 = ws.allocate<float>(100000);
  ws.allocate<std::int32_t>(7);
  CHECK(ws.capacity() == cap);  // the same call again fits without growing
  CHECK(b2 >= a2 + 3);
  ws.reset();
  CHECK(ws.allocate<float>(3) == a2);  // and reuses the same memory
  CHECK(ws.high_water() == high);
}

TEST_CASE("Workspace marks give back everything allocated after them") {
  Workspace ws(1 << 20);
  float* keep = ws.allocate<float>(10);
  const auto m = ws.mark();
  float* scratch = ws.allocate<float>(1000);
  ws.allocate<float>(1000);
  ws.release(m);
  CHECK(ws.in_use() == 64);
  CHECK(ws.allocate<float>(5) == scratch);
  CHECK(keep != scratch);
  CHECK_THROWS_AS(ws.allocate<float>(-1), ShapeError);
}

TEST_CASE("Workspace frees the middle of the range and fills the gap first-fit") {
  Workspace ws(1 << 20);
  float* a = ws.allocate<float>(1024);  // 4 KiB
  float* b = ws.allocate<float>(1024);
  float* c = ws.allocate<float>(16);
  const auto m = ws.mark();
  (void)m;
  // Free a and b but keep c, as a composition does with an output that views c.
  ws.release_except(Workspace::Mark{0}, Feat<16>(c, 1));
  CHECK(ws.in_use() == 64);
  float* small = ws.allocate<float>(16);
  CHECK(small == a);  // the first gap that fits
  float* big = ws.allocate<float>(1500);  // 6000 bytes: fits in what is left of a and b's 8 KiB
  CHECK(big == a + 16);
  float* bigger = ws.allocate<float>(4096);  // does not fit before c: goes after it
  CHECK(bigger > c);
  (void)b;
}

TEST_CASE("release_except keeps allocations a view points into, and those made before the mark") {
  Workspace ws(1 << 20);
  float* before = ws.allocate<float>(8);
  const auto m = ws.mark();
  float* data = ws.allocate<float>(64);
  auto* lengths = ws.allocate<std::int32_t>(2);
  float* dead = ws.allocate<float>(64);
  // A Seq viewing the middle of `data`, with its lengths in a separate allocation.
  const Seq<4> view(data + 8, 2, 3, lengths);
  ws.release_except(m, view);
  CHECK(ws.in_use() == 64 + 256 + 64);
  CHECK(ws.allocate<float>(64) == dead);  // the only gap
  // Branches keep every element's buffers.
  float* other = ws.allocate<float>(4);
  ws.release_except(m, Branches<Seq<4>, Feat<4>>(view, Feat<4>(other, 1)));
  CHECK(ws.in_use() == 64 + 256 + 64 + 64);
  ws.release(m);
  CHECK(ws.in_use() == 64);
  (void)before;
}

TEST_CASE("Workspace sizes that overflow are ResourceErrors, zero sizes valid pointers") {
  Workspace ws;
  CHECK_THROWS_AS(ws.allocate<float>((Index(1) << 62) + 1), ResourceError);
  CHECK_THROWS_AS(ws.allocate<float>(Index(1) << 62), ResourceError);
  CHECK_THROWS_AS(ws.reserve(std::size_t(1) << 62), ResourceError);
  float* nothing = ws.allocate<float>(0);
  CHECK(nothing != nullptr);
  CHECK(aligned(nothing));
  CHECK(ws.in_use() == 0);
}
