#pragma once
// What a module takes and gives, as one base class instead of four declarations. A
// signature supplies the facts the join checks read (see compose/module.hpp):
//   accepts<In>, output<In>, expects<In> (for messages) and candidate_inputs.
//
//   Takes<Map<In>, Map<Out>>   exactly one kind, and what it gives       (Conv2D, Embedding)
//   Rows<In, Out>              Feat<In> or Seq<In>, the same kind of Out (Linear, heads, norms)
//   AnyFloatKind               any float kind, given back as the same    (activations)
//   AnyRowKind                 any Feat or Seq, given back as the same   (Softmax)
//   AnySize<Seq, Feat>         a Seq<D> of any D, gives Feat<D>          (MeanPool; <Map, Feat>: GlobalAvgPool)
//
// A module whose rule is none of these (Sequential's chain, a fusion over Branches) writes
// the four facts itself.

#include <concepts>

#include "mmm/compose/module.hpp"
#include "mmm/core/kinds.hpp"

namespace mmm {

// For messages: a module that takes a kind of this family in any size.
struct any_seq_kind {};
struct any_map_kind {};
struct any_feat_kind {};

namespace detail {
template <template <index> class Family>
struct any_size_tag;
template <>
struct any_size_tag<Seq> {
  using type = any_seq_kind;
};
template <>
struct any_size_tag<Map> {
  using type = any_map_kind;
};
template <>
struct any_size_tag<Feat> {
  using type = any_feat_kind;
};
}  // namespace detail

template <TensorKind In, TensorKind Out>
struct Takes {
  template <class K>
  static constexpr bool accepts = std::same_as<K, In>;
  template <class K>
  using output = Out;
  template <class K>
  using expects = In;
  using candidate_inputs = kinds<In>;
};

template <index In, index Out>
struct Rows {
  template <class K>
  static constexpr bool accepts = RowKindOf<K, In>;
  template <class K>
  using output = with_last_dim_t<K, Out>;
  template <class K>
  using expects = with_last_dim_t<K, In>;
  using candidate_inputs = kinds<Feat<In>, Seq<In>>;
};

struct AnyFloatKind {
  template <class K>
  static constexpr bool accepts = FloatKind<K>;
  template <class K>
  using output = K;
  template <class K>
  using expects = any_float_kind;
  using candidate_inputs = kinds<>;  // any: nothing to check before the real input is known
};

struct AnyRowKind {
  template <class K>
  static constexpr bool accepts = RowKind<K>;
  template <class K>
  using output = K;
  template <class K>
  using expects = any_row_kind;
  using candidate_inputs = kinds<>;
};

template <template <index> class From, template <index> class To>
struct AnySize {
  template <class K>
  static constexpr bool accepts = KindOfFamily<K, From>;
  template <class K>
  using output = To<kind_of_family<K, From>::size>;
  template <class K>
  using expects = typename detail::any_size_tag<From>::type;
  using candidate_inputs = kinds<>;
};

}  // namespace mmm
