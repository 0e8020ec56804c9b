#pragma once
// Tensor storage: an owning, 64-byte-aligned, contiguous row-major tensor and a
// non-owning view of the same layout. Element type is a template parameter only so that
// token ids (int32) share the machinery; everything numeric in mmm is float.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

// Sizes and positions. `Index` is the public spelling (as Eigen::Index): with `using
// namespace mmm`, a bare `index` would clash with POSIX's index() from <strings.h>.
// Inside namespace mmm the short alias reads better and cannot clash.
using Index = std::ptrdiff_t;
using index = Index;

// One cache line, and the width of an AVX-512 register: aligned loads never split lines.
inline constexpr std::size_t tensor_alignment = 64;

// Deleter for memory from aligned operator new; going through operator new keeps every
// allocation visible to allocation-counting tests.
struct AlignedDelete {
  void operator()(void* p) const noexcept { ::operator delete(p, std::align_val_t{tensor_alignment}); }
};

template <class T>
using AlignedArray = std::unique_ptr<T[], AlignedDelete>;

namespace detail {
// Weights a decoder streams once per token (a vocabulary head: 8 MB) span thousands of
// 4 KB pages, more than the TLB holds, so every page of the stream costs a table walk;
// in 2 MB pages the same read took half the time here (12 MB from L3, Zen 4). Where the
// system leaves huge pages to madvise (THP "madvise"), the whole 2 MB pages inside a
// large allocation ask for them, before they are first touched. Best effort, no memory
// added: a refusal changes nothing.
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;
inline void advise_huge_pages([[maybe_unused]] void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < huge_page_bytes) return;
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + huge_page_bytes - 1) & ~(huge_page_bytes - 1);
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(huge_page_bytes - 1);
  if (begin < end) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}
}  // namespace detail

// Room for `count` elements, rounded up to whole cache lines so that vector loops may read
// a full last line; null for count 0. The size goes through checked_bytes, and an
// allocation the machine refuses is a ResourceError naming `who`, as is a count whose
// bytes would exceed max_allocation_bytes.
template <class T, class Who = const char*>
AlignedArray<T> allocate_aligned(index count, const Who& who = "allocate_aligned") {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::size_t bytes = checked_bytes(count, sizeof(T), tensor_alignment, who);
  if (bytes == 0) return AlignedArray<T>(nullptr);
  try {
    void* p = ::operator new(bytes, std::align_val_t{tensor_alignment});
    detail::advise_huge_pages(p, bytes);
    return AlignedArray<T>(static_cast<T*>(p));
  } catch (const std::bad_alloc&) {
    throw ResourceError(detail::who_text(who) + ": could not allocate " + detail::bytes_text(bytes) + " for " +
                        std::to_string(count) + " elements (out of memory)");
  }
}

// Up to six dimensions, stored inline so that a shape never allocates. A shape always has
// an element count that fits in an Index: push_back (so every constructor) refuses a
// negative dimension (ShapeError) and one whose product with the others would not fit
// (ResourceError), so numel() and every product of its dimensions are plain multiplies.
class Shape {
 public:
  static constexpr int max_rank = 6;

  Shape() = default;
  Shape(std::initializer_list<index> dims) {
    if (dims.size() > max_rank) throw ShapeError("a shape has at most 6 dimensions");
    for (index d : dims) push_back(d);
  }
  template <class Range>
  static Shape from(const Range& dims) {
    Shape s;
    for (auto d : dims) {
      if (s.rank_ == max_rank) throw ShapeError("a shape has at most 6 dimensions");
      if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(d)>>)
        if (!std::in_range<index>(d)) throw ResourceError("a dimension of " + std::to_string(d) + " does not fit in an Index");
      s.push_back(static_cast<index>(d));
    }
    return s;
  }

  int rank() const noexcept { return rank_; }
  index operator[](int i) const noexcept { return dims_[static_cast<std::size_t>(i)]; }
  index back() const noexcept { return rank_ ? dims_[static_cast<std::size_t>(rank_ - 1)] : 1; }
  const index* begin() const noexcept { return dims_.data(); }
  const index* end() const noexcept { return dims_.data() + rank_; }

  index numel() const noexcept {
    index n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }

  void push_back(index d) {
    if (d < 0) throw ShapeError("a dimension cannot be negative, got " + std::to_string(d));
    if (rank_ == max_rank) throw ShapeError("a shape has at most 6 dimensions");
    // The product of the non-zero dimensions bounds every partial product numel() forms,
    // whatever the order of the dimensions and wherever a zero is.
    index nonzero = d == 0 ? 1 : d;
    for (int i = 0; i < rank_; ++i) {
      const index e = dims_[static_cast<std::size_t>(i)];
      if (e != 0 && __builtin_mul_overflow(nonzero, e, &nonzero))
        throw ResourceError("shape " + str() + " extended by " + std::to_string(d) +
                            " would have more elements than fit in a 64-bit size");
    }
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[static_cast<std::size_t>(i)]);
    return s + "]";
  }

 private:
  std::array<index, max_rank> dims_{};
  int rank_ = 0;
};

// A non-owning view of contiguous row-major data. T may be const.
template <class T>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;

  TensorView() = default;
  TensorView(T* data, Shape shape) : data_(data), shape_(shape) {}
  // A view of mutable data is also a view of const data.
  operator TensorView<const value_type>() const noexcept { return {data_, shape_}; }

  T* data() const noexcept { return data_; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  index dim(int i) const noexcept { return shape_[i]; }
  index numel() const noexcept { return shape_.numel(); }
  std::span<T> span() const noexcept { return {data_, static_cast<std::size_t>(numel())}; }
  T& operator[](index i) const noexcept { return data_[i]; }

 private:
  T* data_ = nullptr;
  Shape shape_;
};

// Owning, 64-byte-aligned tensor. Copies are deep; moves are cheap.
template <class T>
class BasicTensor {
 public:
  using value_type = T;

  BasicTensor() = default;
  explicit BasicTensor(Shape shape) : shape_(shape), data_(storage(shape)) { std::fill_n(data_.get(), shape_.numel(), T{}); }
  BasicTensor(Shape shape, T fill) : shape_(shape), data_(storage(shape)) { std::fill_n(data_.get(), shape_.numel(), fill); }
  BasicTensor(Shape shape, std::initializer_list<T> values) : BasicTensor(shape) {
    if (static_cast<index>(values.size()) != shape.numel())
      throw ShapeError("tensor of shape " + shape.str() + " needs " + std::to_string(shape.numel()) +
                       " values, got " + std::to_string(values.size()));
    std::copy(values.begin(), values.end(), data_.get());
  }
  static BasicTensor copy_of(TensorView<const T> view) {
    BasicTensor t;
    t.shape_ = view.shape();
    t.data_ = storage(view.shape());
    if (view.numel()) std::memcpy(t.data_.get(), view.data(), static_cast<std::size_t>(view.numel()) * sizeof(T));
    return t;
  }

  BasicTensor(const BasicTensor& other) : BasicTensor(copy_of(other.view())) {}
  BasicTensor& operator=(const BasicTensor& other) {
    if (this != &other) *this = copy_of(other.view());
    return *this;
  }
  BasicTensor(BasicTensor&&) noexcept = default;
  BasicTensor& operator=(BasicTensor&&) noexcept = default;

  T* data() noexcept { return data_.get(); }
  const T* data() const noexcept { return data_.get(); }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  index dim(int i) const noexcept { return shape_[i]; }
  index numel() const noexcept { return shape_.numel(); }
  bool empty() const noexcept { return numel() == 0; }
  T& operator[](index i) noexcept { return data_[static_cast<std::size_t>(i)]; }
  const T& operator[](index i) const noexcept { return data_[static_cast<std::size_t>(i)]; }
  std::span<T> span() noexcept { return {data(), static_cast<std::size_t>(numel())}; }
  std::span<const T> span() const noexcept { return {data(), static_cast<std::size_t>(numel())}; }

  TensorView<T> view() noexcept { return {data(), shape_}; }
  TensorView<const T> view() const noexcept { return {data(), shape_}; }
  operator TensorView<T>() noexcept { return view(); }
  operator TensorView<const T>() const noexcept { return view(); }

  // Same data, new shape with the same number of elements.
  BasicTensor& reshape(Shape shape) {
    if (shape.numel() != numel())
      throw ShapeError("cannot reshape " + shape_.str() + " to " + shape.str() + ": element counts differ");
    shape_ = shape;
    return *this;
  }

 private:
  static AlignedArray<T> storage(const Shape& shape) {
    return allocate_aligned<T>(shape.numel(), [&] { return "Tensor of shape " + shape.str(); });
  }

  Shape shape_;
  AlignedArray<T> data_;
};

using Tensor = BasicTensor<float>;
using IntTensor = BasicTensor<std::int32_t>;

}  // namespace mmm
