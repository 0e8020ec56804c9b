// Steady state allocates nothing: once an ImagePreprocessor, a Resizer and a decode target
// Image have seen an image size, further images of that size never reach operator new
// (decoding itself mallocs inside stb, which is outside this count).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include "mmm/preprocess/image.hpp"
#include "mmm/preprocess/image_crop.hpp"
#include "mmm/preprocess/image_pad.hpp"
#include "mmm/preprocess/image_preset.hpp"
#include "mmm/preprocess/resize.hpp"

namespace {
std::atomic<long> allocations{0};
}

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t al) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) { return ::operator new(n, al); }
// The nothrow forms too: left to the sanitizer runtime, their memory would come back
// through the free() below and ASan would report a mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return ::operator new(n, std::nothrow); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return ::operator new(n, al, std::nothrow);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

TEST_CASE("warm preprocessing allocates nothing", "[image][allocations]") {
  mmm::Image img(480, 640, 3), other(480, 640, 3);
  for (mmm::Index i = 0; i < img.bytes(); ++i) img.data()[i] = static_cast<std::uint8_t>(i * 7), other.data()[i] = static_cast<std::uint8_t>(i * 13);
  mmm::Image gray(300, 200, 1);
  mmm::ImagePreprocessor pre;
  mmm::Resizer resizer(mmm::Interpolation::bicubic, true);
  mmm::Tensor out(pre.output_shape());
  mmm::Image resized, cropped, padded;
  auto work = [&](const mmm::Image& a) {
    pre(a, out.data());
    pre(gray, out.data());
    resizer.resize(a, resized, {97, 131});
    mmm::center_crop(resized, cropped, 50, 60);
    mmm::pad(cropped, padded, {3, 2, 1, 4}, mmm::PadMode::reflect);
  };
  work(img);
  work(img);  // a second size seen by the same objects (gray) may have grown buffers once
  const long before = allocations.load();
  for (int i = 0; i < 3; ++i) work(i % 2 ? img : other);
  CHECK(allocations.load() - before == 0);
}
