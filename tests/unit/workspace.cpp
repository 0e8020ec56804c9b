#include <catch2/catch.hpp>

#include <cstdint>

#include "mmm/core/workspace.hpp"

using namespace mmm;

TEST_CASE("Workspace hands out aligned, disjoint memory and settles into one block") {
  Workspace ws;
  float* a = ws.allocate<float>(3);
  float* b = ws.allocate<float>(100000);  // spills into a second block
  std::int32_t* c = ws.allocate<std::int32_t>(7);
  for (const void* p : {static_cast<const void*>(a), static_cast<const void*>(b), static_cast<const void*>(c)})
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
  CHECK(b >= a + 3);
  const std::size_t high = ws.high_water();
  CHECK(high >= (3 + 100000 + 7) * 4);

  ws.reset();  // merges into one block of the high-water size
  const std::size_t cap = ws.capacity();
  CHECK(cap >= high);
  float* a2 = ws.allocate<float>(3);
  ws.allocate<float>(100000);
  ws.allocate<std::int32_t>(7);
  CHECK(ws.capacity() == cap);  // the same call again fits without growing
  ws.reset();
  CHECK(ws.allocate<float>(3) == a2);  // and reuses the same memory
}

TEST_CASE("Workspace marks give back scratch stack-wise") {
  Workspace ws(1 << 20);
  float* keep = ws.allocate<float>(10);
  const auto m = ws.mark();
  float* scratch = ws.allocate<float>(1000);
  ws.release(m);
  CHECK(ws.allocate<float>(5) == scratch);
  CHECK(keep != scratch);
  CHECK_THROWS_AS(ws.allocate<float>(-1), ShapeError);
}
