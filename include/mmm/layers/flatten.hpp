#pragma once
// Flattening a Map<C> (N×C×H×W) into Feat (N×C·H·W), as torch.nn.Flatten() on NCHW:
// channel-major, then rows, then columns. No copy: NCHW already is N rows of C·H·W.
//
// The feature size of the result is part of its type, so it must be known at compile time,
// while H and W are run-time values. Three ways to say it:
//   Flatten<C, H, W>  the map must be H×W: gives Feat<C·H·W>.
//   FlattenTo<D>      any Map<C> whose C divides D, of any H×W with C·H·W = D: gives Feat<D>
//                     (a 7×7 or a 1×49 map of 64 channels both flatten to FlattenTo<3136>).
//   Flatten<>         in a Sequential, FlattenTo<D> with D the size the next module takes
//                     (Sequential<…, Flatten<>, Linear<3136, 10>> flattens to 3136). The next
//                     module must name one Feat<D> among the kinds it takes, as Linear does;
//                     an activation or anything else that takes every size cannot say.
// What cannot be known at compile time is H×W itself, so every form checks it when called:
// a map of the wrong size is a ShapeError naming the module and the sizes.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

// For messages: what FlattenTo<D> and Flatten<> take.
template <index D>
struct map_whose_channels_divide {};
struct flatten_in_a_sequential_before_a_sized_module {};

template <index D>
struct FlattenTo : ModuleBase<FlattenTo<D>> {
  static_assert(D > 0, "FlattenTo<D>: D must be positive");

  template <class K>
  static constexpr bool accepts = [] {
    if constexpr (KindOfFamily<K, Map>)
      return D % kind_of_family<K, Map>::size == 0;
    else
      return false;
  }();
  template <class K>
  using output = Feat<D>;
  template <class K>
  using expects = map_whose_channels_divide<D>;
  using candidate_inputs = kinds<>;

  static std::string name() { return "FlattenTo<" + std::to_string(D) + ">"; }

  template <index C>
    requires(D % C == 0)
  Feat<D> forward(const Map<C>& x, Workspace&) const {
    if (x.height * x.width != D / C)
      throw ShapeError(name() + ": a " + std::to_string(C) + "×" + std::to_string(x.height) + "×" +
                       std::to_string(x.width) + " map flattens to " + std::to_string(C * x.height * x.width) +
                       " features, not " + std::to_string(D) + " (resize the image first)");
    return {x.data, x.batch};
  }
};

namespace detail {
template <class Kinds>
struct first_feat_size {
  static constexpr index value = 0;
};
template <index D, class... Ks>
struct first_feat_size<kinds<Feat<D>, Ks...>> {
  static constexpr index value = D;
};
template <class K, class... Ks>
struct first_feat_size<kinds<K, Ks...>> : first_feat_size<kinds<Ks...>> {};
}  // namespace detail

template <index C = 0, index H = 0, index W = 0>
struct Flatten : ModuleBase<Flatten<C, H, W>, Takes<Map<C>, Feat<C * H * W>>> {
  static_assert(C > 0 && H > 0 && W > 0,
                "Flatten<C, H, W>: give all three sizes, or none (Flatten<>) to take the size from the next module");
  static constexpr index features = C * H * W;

  static std::string name() {
    return "Flatten<" + std::to_string(C) + ", " + std::to_string(H) + ", " + std::to_string(W) + ">";
  }

  Feat<features> forward(const Map<C>& x, Workspace&) const {
    if (x.height != H || x.width != W)
      throw ShapeError(name() + ": needs " + std::to_string(H) + "×" + std::to_string(W) + " maps, got " +
                       std::to_string(x.height) + "×" + std::to_string(x.width) + " (resize the image first)");
    return {x.data, x.batch};
  }
};

// Flatten<>: in a Sequential, the chain replaces it by resolve<Next> (see compose/module.hpp).
template <>
struct Flatten<0, 0, 0> : ModuleBase<Flatten<0, 0, 0>> {
  static constexpr bool sized_by_next_module = true;

  template <class Next>
  struct resolution {
    static constexpr index size = detail::first_feat_size<typename Next::candidate_inputs>::value;
    static_assert(size > 0,
                  "Flatten<>: the module after it does not name the one feature size it takes (it takes any, as an "
                  "activation does); write FlattenTo<D> or Flatten<C, H, W> instead");
    using type = FlattenTo<size>;
  };
  template <class Next>
  using resolve = typename resolution<Next>::type;

  // Outside a Sequential, or last in one, there is no next module to take the size from.
  template <class K>
  static constexpr bool accepts = false;
  template <class K>
  using output = K;
  template <class K>
  using expects = flatten_in_a_sequential_before_a_sized_module;
  using candidate_inputs = kinds<>;

  static std::string name() { return "Flatten<>"; }
};

}  // namespace mmm
