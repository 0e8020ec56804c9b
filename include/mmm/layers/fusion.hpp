#pragma once
// FusionConcat: joins the branches of a Parallel by concatenating their features.
//   Branches<Feat<A>, Feat<B>, …>  → Feat<A + B + …>
//   Branches<Seq<A>, Feat<B>, …>   → Seq<A + B + …>, each Feat repeated at every step
// (any order, any number of branches; Seq branches must share batch and length, and the
// output keeps the first Seq's valid lengths). As torch.cat(..., dim=-1) after expanding
// the Feat branches to the sequence length. No parameters.

#include <cstring>
#include <string>
#include <tuple>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

// For messages: FusionConcat expects Branches whose elements are all Feat or Seq.
struct branches_of_feat_or_seq {};

namespace detail {
template <class K>
struct concat_part {
  static constexpr bool ok = false;
};
template <index D>
struct concat_part<Feat<D>> {
  static constexpr bool ok = true, is_seq = false;
  static constexpr index features = D;
};
template <index D>
struct concat_part<Seq<D>> {
  static constexpr bool ok = true, is_seq = true;
  static constexpr index features = D;
};

template <class K>
struct concat_fit {
  static constexpr bool ok = false;
};
template <class... Ks>
struct concat_fit<Branches<Ks...>> {
  static constexpr bool ok = (concat_part<Ks>::ok && ...);
};
template <class K>
struct concat_result;
template <class... Ks>
struct concat_result<Branches<Ks...>> {
  static constexpr index features = (concat_part<Ks>::features + ...);
  static constexpr bool any_seq = (concat_part<Ks>::is_seq || ...);
  using type = std::conditional_t<any_seq, Seq<features>, Feat<features>>;
};
}  // namespace detail

struct FusionConcat : ModuleBase<FusionConcat> {
  template <class K>
  static constexpr bool accepts = detail::concat_fit<K>::ok;
  template <class K>
  using output = typename detail::concat_result<K>::type;
  template <class K>
  using expects = branches_of_feat_or_seq;
  using candidate_inputs = kinds<>;
  static std::string name() { return "FusionConcat"; }

  template <class... Ks>
    requires(detail::concat_part<Ks>::ok && ...)
  auto forward(const Branches<Ks...>& in, Workspace& ws) const {
    using Out = typename detail::concat_result<Branches<Ks...>>::type;
    constexpr index D = Out::features;
    const index batch = std::get<0>(in.items).batch;
    index length = 1;
    const std::int32_t* lengths = nullptr;
    bool seen_seq = false;
    std::size_t branch = 0;
    auto check = [&](const auto& k) {
      if (k.batch != batch)
        throw ShapeError(name() + ": branch " + std::to_string(branch) + " has batch " + std::to_string(k.batch) +
                         ", branch 0 has " + std::to_string(batch) + "; every branch needs the same batch");
      if constexpr (detail::concat_part<std::remove_cvref_t<decltype(k)>>::is_seq) {
        if (seen_seq && k.length != length)
          throw ShapeError(name() + ": branch " + std::to_string(branch) + " has " + std::to_string(k.length) +
                           " steps, an earlier sequence branch has " + std::to_string(length) +
                           "; sequence branches need the same length");
        if (!seen_seq) length = k.length, lengths = k.lengths;
        seen_seq = true;
      }
      ++branch;
    };
    std::apply([&](const auto&... k) { (check(k), ...); }, in.items);

    const index rows = batch * length;
    float* y = ws.allocate<float>(rows * D);
    index offset = 0;
    auto copy = [&](const auto& k) {
      using Part = detail::concat_part<std::remove_cvref_t<decltype(k)>>;
      constexpr index d = Part::features;
      for (index r = 0; r < rows; ++r) {
        // A Feat branch has one row per item, repeated over the item's steps.
        const float* src = k.data + (Part::is_seq ? r : r / length) * d;
        std::memcpy(y + r * D + offset, src, sizeof(float) * static_cast<std::size_t>(d));
      }
      offset += d;
    };
    std::apply([&](const auto&... k) { (copy(k), ...); }, in.items);

    if constexpr (detail::concat_result<Branches<Ks...>>::any_seq) return Out(y, batch, length, lengths);
    else return Out(y, batch);
  }

  // Called directly with something else: the readable join error, not a failed overload.
  template <class K>
    requires(!detail::concat_fit<K>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<FusionConcat, mmm::expects<branches_of_feat_or_seq>, input_is<K>>);
    return x;
  }
};

}  // namespace mmm
