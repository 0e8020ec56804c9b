// libFuzzer target: the inputs a caller builds by hand — batches, lengths, image sizes,
// token ids, per-item lengths and values — for each of the small models of
// fuzz_models.hpp. A forward either gives an output of the documented shape or throws
// mmm::Error. Sizes are small enough to have real buffers, or impossible (negative, more
// than memory holds), or come with no data: those the models must refuse before reading.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "fuzz_input.hpp"
#include "fuzz_models.hpp"
#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"

namespace {
using namespace mmm;

template <class Model>
const Model& model(unsigned seed) {
  static const Model* m = [&] {
    auto* made = new Model;  // never freed: one per process
    test::fill_random(*made, seed, 0.5f);
    return made;
  }();
  return *m;
}

// A buffer for `count` elements when that is small, none otherwise (the sizes must then
// be ones the model refuses without reading).
template <class T, class Fill>
struct Buffer {
  std::vector<T> values;
  const T* data = nullptr;
  Buffer(std::int64_t count, bool null, const Fill& fill) {
    if (count >= 0 && count <= (1 << 16) && !null) {
      values.resize(static_cast<std::size_t>(count) + 1);
      for (T& v : values) v = fill();
      data = values.data();
    }
  }
};

std::int64_t product(std::initializer_list<std::int64_t> sizes) {
  std::int64_t n = 1;
  for (std::int64_t s : sizes) {
    if (s < 0) return -1;
    if (__builtin_mul_overflow(n, s, &n)) return -1;
  }
  return n;
}

template <class F>
void expect_error_or(F&& f) {
  try {
    f();
  } catch (const mmm::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const int which = static_cast<int>(in.bits(8) % 6);
  const std::int64_t batch = in.tensor_size(4), length = in.tensor_size(6), height = in.tensor_size(9),
                     width = in.tensor_size(9);
  const bool null_data = in.bits(8) == 0, with_lengths = in.flag();
  auto value = [&] { return in.bits(8) < 200 ? static_cast<float>(in.in_range(-8, 8)) * 0.25f : in.number(); };
  auto id = [&] { return static_cast<std::int32_t>(in.bits(8) < 230 ? in.in_range(0, 16) : in.in_range(-3, 20)); };
  auto step = [&] { return static_cast<std::int32_t>(in.bits(8) < 230 ? in.in_range(0, length < 0 ? 0 : length) : in.in_range(-2, 9)); };
  Buffer<std::int32_t, decltype(step)> lengths(with_lengths ? batch : -1, false, step);
  const std::int32_t* lens = with_lengths ? lengths.data : nullptr;
  Workspace ws;
  switch (which) {
    case 0: {  // image and question
      Buffer<float, decltype(value)> image(product({batch, 2, height, width}), null_data, value);
      const std::int64_t other_batch = in.flag() ? batch : in.tensor_size(4);  // a mismatch FusionConcat refuses
      Buffer<std::int32_t, decltype(id)> ids(product({other_batch, length}), null_data, id);
      expect_error_or([&] {
        const auto y = model<fuzz::Multimodal>(1)(Map<2>(image.data, batch, height, width),
                                                  Tokens(ids.data, other_batch, length, other_batch == batch ? lens : nullptr), ws);
        if (y.batch != batch) __builtin_trap();
      });
      break;
    }
    case 1: {
      Buffer<std::int32_t, decltype(id)> ids(product({batch, length}), null_data, id);
      expect_error_or([&] {
        if (model<fuzz::TokensToSteps>(2)(Tokens(ids.data, batch, length, lens), ws).batch != batch) __builtin_trap();
      });
      break;
    }
    case 2: {
      Buffer<float, decltype(value)> x(product({batch, length, 8}), null_data, value);
      expect_error_or([&] {
        if (model<fuzz::Rows>(3)(Seq<8>(x.data, batch, length, lens), ws).length != length) __builtin_trap();
      });
      Buffer<float, decltype(value)> f(product({batch, 8}), null_data, value);
      expect_error_or([&] {
        if (model<fuzz::Rows>(3)(Feat<8>(f.data, batch), ws).batch != batch) __builtin_trap();
      });
      break;
    }
    case 3: {
      Buffer<float, decltype(value)> x(product({batch, 2, height, width}), null_data, value);
      expect_error_or([&] {
        if (model<fuzz::Flat>(4)(Map<2>(x.data, batch, height, width), ws).batch != batch) __builtin_trap();
      });
      expect_error_or([&] {
        const auto y = model<fuzz::ImageBranch>(5)(Map<2>(x.data, batch, height, width), ws);
        if (y.batch != batch) __builtin_trap();
      });
      break;
    }
    case 4: {
      Buffer<std::int32_t, decltype(id)> a(product({batch, length}), null_data, id);
      const std::int64_t other_length = in.flag() ? length : in.tensor_size(6);
      Buffer<std::int32_t, decltype(id)> b(product({batch, other_length}), null_data, id);
      expect_error_or([&] {
        const auto y = model<fuzz::SeqFusion>(6)(Tokens(a.data, batch, length, lens), Tokens(b.data, batch, other_length), ws);
        if (y.batch != batch) __builtin_trap();
      });
      break;
    }
    default: {  // one module alone, called as a composition calls it: forward() on kinds a module can give
      Buffer<float, decltype(value)> x(product({batch, 3, height, width}), false, value);
      const Map<3> map(x.data, batch, height, width);
      try {
        check_input(map, "fuzz");
      } catch (const mmm::Error&) {
        break;
      }
      expect_error_or([&] {
        const auto y = GlobalAvgPool{}.forward(map, ws);
        if (y.batch != batch) __builtin_trap();
      });
      break;
    }
  }
  return 0;
}
