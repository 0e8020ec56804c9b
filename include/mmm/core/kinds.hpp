#pragma once
// The tensor kinds that flow between modules. Feature sizes (D, C) are part of the type,
// so the compiler checks every join; batch, length and image size are run-time values.
//
//   Feat<D>   N×D        one feature vector per batch item
//   Seq<D>    N×T×D      a sequence per batch item; optional per-item valid lengths
//   Map<C>    N×C×H×W    an image-like feature map (PyTorch's NCHW)
//   Tokens    N×T        int32 token ids; optional per-item valid lengths
//   Branches<K...>       one kind per branch of a Parallel (its inputs, or its outputs)
//
// A kind is a read-only view: it never owns memory. Module outputs live in the caller's
// Workspace; inputs wrap the caller's tensors.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

namespace detail {
inline void expect_shape(bool ok, const Shape& got, const std::string& kind, const std::string& what) {
  if (!ok) throw ShapeError(kind + " needs a tensor of shape " + what + ", got " + got.str());
}
}  // namespace detail

template <index D>
struct Feat {
  static_assert(D > 0, "Feat<D>: the feature size must be positive");
  static constexpr index features = D;

  const float* data = nullptr;
  index batch = 0;

  Feat() = default;
  Feat(const float* data_, index batch_) : data(data_), batch(batch_) {}
  explicit Feat(TensorView<const float> t) : data(t.data()), batch(t.rank() == 2 ? t.dim(0) : 0) {
    detail::expect_shape(t.rank() == 2 && t.dim(1) == D, t.shape(), name(), "[N, " + std::to_string(D) + "]");
  }

  static std::string name() { return "Feat<" + std::to_string(D) + ">"; }
  Shape shape() const { return {batch, D}; }
  index numel() const noexcept { return batch * D; }
  index rows() const noexcept { return batch; }  // rows of the last-dimension matrix
  TensorView<const float> view() const { return {data, shape()}; }
  Tensor to_tensor() const { return Tensor::copy_of(view()); }
};

template <index D>
struct Seq {
  static_assert(D > 0, "Seq<D>: the feature size must be positive");
  static constexpr index features = D;

  const float* data = nullptr;
  index batch = 0;
  index length = 0;
  // Valid steps per batch item (batch entries, each in [0, length]), or null when every
  // item uses all `length` steps. Padding steps are ignored by length-aware modules.
  const std::int32_t* lengths = nullptr;

  Seq() = default;
  Seq(const float* data_, index batch_, index length_, const std::int32_t* lengths_ = nullptr)
      : data(data_), batch(batch_), length(length_), lengths(lengths_) {}
  explicit Seq(TensorView<const float> t, const std::int32_t* lengths_ = nullptr)
      : data(t.data()), batch(t.rank() == 3 ? t.dim(0) : 0), length(t.rank() == 3 ? t.dim(1) : 0), lengths(lengths_) {
    detail::expect_shape(t.rank() == 3 && t.dim(2) == D, t.shape(), name(), "[N, T, " + std::to_string(D) + "]");
  }

  static std::string name() { return "Seq<" + std::to_string(D) + ">"; }
  Shape shape() const { return {batch, length, D}; }
  index numel() const noexcept { return batch * length * D; }
  index rows() const noexcept { return batch * length; }
  index valid_length(index item) const noexcept { return lengths ? lengths[item] : length; }
  TensorView<const float> view() const { return {data, shape()}; }
  Tensor to_tensor() const { return Tensor::copy_of(view()); }
};

template <index C>
struct Map {
  static_assert(C > 0, "Map<C>: the channel count must be positive");
  static constexpr index channels = C;

  const float* data = nullptr;
  index batch = 0;
  index height = 0;
  index width = 0;

  Map() = default;
  Map(const float* data_, index batch_, index height_, index width_)
      : data(data_), batch(batch_), height(height_), width(width_) {}
  explicit Map(TensorView<const float> t)
      : data(t.data()),
        batch(t.rank() == 4 ? t.dim(0) : 0),
        height(t.rank() == 4 ? t.dim(2) : 0),
        width(t.rank() == 4 ? t.dim(3) : 0) {
    detail::expect_shape(t.rank() == 4 && t.dim(1) == C, t.shape(), name(), "[N, " + std::to_string(C) + ", H, W]");
  }

  static std::string name() { return "Map<" + std::to_string(C) + ">"; }
  Shape shape() const { return {batch, C, height, width}; }
  index numel() const noexcept { return batch * C * height * width; }
  TensorView<const float> view() const { return {data, shape()}; }
  Tensor to_tensor() const { return Tensor::copy_of(view()); }
};

struct Tokens {
  const std::int32_t* ids = nullptr;
  index batch = 0;
  index length = 0;
  const std::int32_t* lengths = nullptr;  // as in Seq

  Tokens() = default;
  Tokens(const std::int32_t* ids_, index batch_, index length_, const std::int32_t* lengths_ = nullptr)
      : ids(ids_), batch(batch_), length(length_), lengths(lengths_) {}
  explicit Tokens(TensorView<const std::int32_t> t, const std::int32_t* lengths_ = nullptr)
      : ids(t.data()), batch(t.rank() == 2 ? t.dim(0) : 0), length(t.rank() == 2 ? t.dim(1) : 0), lengths(lengths_) {
    detail::expect_shape(t.rank() == 2, t.shape(), name(), "[N, T]");
  }

  static std::string name() { return "Tokens"; }
  Shape shape() const { return {batch, length}; }
  index numel() const noexcept { return batch * length; }
  index valid_length(index item) const noexcept { return lengths ? lengths[item] : length; }
  TensorView<const std::int32_t> view() const { return {ids, shape()}; }
  IntTensor to_tensor() const { return IntTensor::copy_of(view()); }
};

// ---- Compile-time facts about kinds, used by modules and by the join checks. ----

template <class K>
struct kind_traits {
  static constexpr bool is_kind = false;
};
template <index D>
struct kind_traits<Feat<D>> {
  static constexpr bool is_kind = true;
  static constexpr bool has_last_dim = true;
  static constexpr index last_dim = D;
  template <index N>
  using with_last_dim = Feat<N>;
};
template <index D>
struct kind_traits<Seq<D>> {
  static constexpr bool is_kind = true;
  static constexpr bool has_last_dim = true;
  static constexpr index last_dim = D;
  template <index N>
  using with_last_dim = Seq<N>;
};
template <index C>
struct kind_traits<Map<C>> {
  static constexpr bool is_kind = true;
  static constexpr bool has_last_dim = false;  // W is last in NCHW, and it is not static
};
template <>
struct kind_traits<Tokens> {
  static constexpr bool is_kind = true;
  static constexpr bool has_last_dim = false;
};

template <class K>
concept TensorKind = kind_traits<K>::is_kind;

// Branches<K...>: one kind per branch of a Parallel, as its input (one per branch, e.g. an
// image Map<3> and question Tokens) and as its output (what each branch gives), which a
// fusion module then joins. Holds the views by value; owns nothing.
template <class... Ks>
struct Branches {
  static_assert(sizeof...(Ks) > 0, "Branches needs at least one kind");
  static_assert((TensorKind<Ks> && ...), "Branches<K...>: every element must be a tensor kind (Feat, Seq, Map, Tokens)");
  static constexpr std::size_t size = sizeof...(Ks);

  std::tuple<Ks...> items;

  Branches() = default;
  explicit Branches(const Ks&... ks) : items(ks...) {}

  template <std::size_t I>
  const auto& get() const noexcept { return std::get<I>(items); }

  static std::string name() {
    std::string s;
    ((s += (s.empty() ? "" : ", ") + Ks::name()), ...);
    return "Branches<" + s + ">";
  }
  // Owning copies of every element (Tensor or IntTensor), in branch order.
  auto to_tensor() const {
    return std::apply([](const auto&... k) { return std::make_tuple(k.to_tensor()...); }, items);
  }
};
template <class... Ks>
struct kind_traits<Branches<Ks...>> {
  static constexpr bool is_kind = true;
  static constexpr bool has_last_dim = false;
};

// Kinds laid out as rows × last dimension, which row-wise modules (Linear, activations on
// features, LayerNorm) can treat as one matrix.
template <class K>
concept RowKind = TensorKind<K> && kind_traits<K>::has_last_dim;

// A row kind whose last dimension is D (a concept, so kinds without one simply fail it).
template <class K, index D>
concept RowKindOf = RowKind<K> && (kind_traits<K>::last_dim == D);

// The float kinds: one float tensor, anything an element-wise function may be applied to
// (not Tokens, not Branches).
template <class K>
concept FloatKind = TensorKind<K> && requires(const K& k) {
  { k.data } -> std::convertible_to<const float*>;
};

// The same kind with the last dimension replaced: Seq<32> -> Seq<N>. Kinds without a
// static last dimension become Feat<N>, which is what a row-wise module would expect.
template <class K, index N>
struct with_last_dim {
  using type = Feat<N>;
};
template <RowKind K, index N>
struct with_last_dim<K, N> {
  using type = typename kind_traits<K>::template with_last_dim<N>;
};
template <class K, index N>
using with_last_dim_t = typename with_last_dim<K, N>::type;

// Calls f(pointer) for every buffer a kind views (data, ids, per-item lengths; every
// element of Branches), so that a Workspace can tell which allocations are still read.
template <index D, class F>
void visit_buffers(const Feat<D>& k, F&& f) { f(k.data); }
template <index D, class F>
void visit_buffers(const Seq<D>& k, F&& f) { f(k.data), f(k.lengths); }
template <index C, class F>
void visit_buffers(const Map<C>& k, F&& f) { f(k.data); }
template <class F>
void visit_buffers(const Tokens& k, F&& f) { f(k.ids), f(k.lengths); }
template <class... Ks, class F>
void visit_buffers(const Branches<Ks...>& k, F&& f) {
  std::apply([&](const auto&... item) { (visit_buffers(item, f), ...); }, k.items);
}

// ---- What a caller builds by hand, checked before a model multiplies any of it ----

namespace detail {
// Sizes not negative, the product of the non-zero ones (with the static size) within what
// memory can hold, data present when there are elements, each per-item length within the
// length. A module may then form products of these sizes without overflow.
template <class Who>
void check_extent(const Who& who, const std::string& kind, std::initializer_list<std::pair<const char*, index>> dims,
                  index static_size, std::size_t element_size, const void* data) {
  index product = static_size, count = static_size;
  for (const auto& [what, d] : dims) {
    if (d < 0)
      throw ShapeError(who_text(who) + ": the input " + kind + " has " + what + " " + std::to_string(d) +
                       "; sizes must not be negative");
    if (d != 0 && (__builtin_mul_overflow(product, d, &product) ||
                   static_cast<std::size_t>(product) > max_allocation_bytes / element_size)) {
      std::string sizes;
      for (const auto& [w, e] : dims) sizes += (sizes.empty() ? "" : ", ") + std::string(w) + " " + std::to_string(e);
      throw ResourceError(who_text(who) + ": the input " + kind + " (" + sizes + ") has more elements than fit in " +
                          bytes_text(max_allocation_bytes) + " of memory; its sizes cannot be real");
    }
    count *= d;  // no overflow: it is 0 or `product`, checked above
  }
  if (count > 0 && data == nullptr)
    throw ShapeError(who_text(who) + ": the input " + kind + " has " + std::to_string(count) + " elements but no data");
}

template <class Who>
void check_lengths(const Who& who, const std::string& kind, const std::int32_t* lengths, index batch, index length) {
  if (!lengths) return;
  for (index b = 0; b < batch; ++b)
    if (lengths[b] < 0 || lengths[b] > length)
      throw RangeError(who_text(who) + ": item " + std::to_string(b) + " of the input " + kind + " claims " +
                       std::to_string(lengths[b]) + " valid steps, outside [0, " + std::to_string(length) + "]");
}
}  // namespace detail

// Throws when a kind's sizes are not ones a real tensor can have (see check_extent), with
// a message that names `who` (the module it was given to) and the sizes.
template <index D, class Who>
void check_input(const Feat<D>& x, const Who& who) {
  detail::check_extent(who, x.name(), {{"batch", x.batch}}, D, sizeof(float), x.data);
}
template <index D, class Who>
void check_input(const Seq<D>& x, const Who& who) {
  detail::check_extent(who, x.name(), {{"batch", x.batch}, {"length", x.length}}, D, sizeof(float), x.data);
  detail::check_lengths(who, x.name(), x.lengths, x.batch, x.length);
}
template <index C, class Who>
void check_input(const Map<C>& x, const Who& who) {
  detail::check_extent(who, x.name(), {{"batch", x.batch}, {"height", x.height}, {"width", x.width}}, C, sizeof(float),
                       x.data);
}
template <class Who>
void check_input(const Tokens& x, const Who& who) {
  detail::check_extent(who, x.name(), {{"batch", x.batch}, {"length", x.length}}, 1, sizeof(std::int32_t), x.ids);
  detail::check_lengths(who, x.name(), x.lengths, x.batch, x.length);
}
template <class... Ks, class Who>
void check_input(const Branches<Ks...>& x, const Who& who) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (check_input(x.template get<I>(), [&] { return detail::who_text(who) + " (branch " + std::to_string(I) + ")"; }), ...);
  }(std::make_index_sequence<sizeof...(Ks)>{});
}

// The family of a kind with one static size, and that size: Seq<37> is of family Seq with
// size 37, Map<3> of family Map with size 3. Modules that take "a Seq of any size" and give
// a kind of the same size (MeanPool: Seq<D> → Feat<D>) are written with these.
template <class K, template <index> class Family>
struct kind_of_family : std::false_type {};
template <template <index> class Family, index N>
struct kind_of_family<Family<N>, Family> : std::true_type {
  static constexpr index size = N;
};
template <class K, template <index> class Family>
concept KindOfFamily = kind_of_family<K, Family>::value;

// A kind that views `data` with the shape of `like` (same batch/length/size, same lengths).
template <index D>
Feat<D> same_shape(const Feat<D>& like, const float* data) { return {data, like.batch}; }
template <index D>
Seq<D> same_shape(const Seq<D>& like, const float* data) { return {data, like.batch, like.length, like.lengths}; }
template <index C>
Map<C> same_shape(const Map<C>& like, const float* data) { return {data, like.batch, like.height, like.width}; }

// A row kind's rows with a new last dimension, over `data`.
template <index N, index D>
Feat<N> with_rows(const Feat<D>& like, const float* data) { return {data, like.batch}; }
template <index N, index D>
Seq<N> with_rows(const Seq<D>& like, const float* data) { return {data, like.batch, like.length, like.lengths}; }

}  // namespace mmm
