#pragma once
// SequenceJoin: the branches one after another in time, as the input of a decoder that reads
// projected image or audio tokens in front of text tokens (LLaVA-style):
//
//   Branches<Seq<D>, Seq<D>, …> → Seq<D>      (a Feat<D> branch is one token)
//
// Each item's valid steps are packed: item b holds branch 0's first valid₀(b) steps, then
// branch 1's first valid₁(b), …, then zeros up to the longest item, and the output's valid
// length is Σₖ validₖ(b). So a causal mask with the key-padding mask of those lengths is
// exactly the mask of each item's own sequence, and a token's position (for positional
// encodings) is its index — no padding sits between an item's image and text tokens. The
// output has Σₖ lengthₖ steps; its lengths are null (every item full) only when no branch
// has padding. torch: tools/mmm_fusion.py, SequenceJoin (also gives the key-padding mask).
//
// Every branch needs the same batch and, at compile time, the same D; no parameters (the
// projection of image features to D is the Linear before it, LLaVA's projector).

#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>

#include "mmm/compose/module_base.hpp"
#include "mmm/layers/fusion.hpp"

namespace mmm {

namespace detail {
template <class K>
struct join_result {
  using type = Seq<elementwise_fit<K>::d>;
};
}  // namespace detail

struct SequenceJoin : ModuleBase<SequenceJoin, detail::FusionSignature<detail::elementwise_fit, detail::join_result>> {
  static std::string name() { return "SequenceJoin"; }

  template <class... Ks>
    requires detail::elementwise_fit<Branches<Ks...>>::ok
  auto forward(const Branches<Ks...>& in, Workspace& ws) const {
    constexpr index D = detail::elementwise_fit<Branches<Ks...>>::d;
    detail::check_same_batch<SequenceJoin>(in);
    const index batch = std::get<0>(in.items).batch;
    index steps = 0;
    bool padded = false;
    auto count = [&](const auto& k) {
      steps = checked_add(steps, detail::part_of<decltype(k)>::steps(k), "SequenceJoin");
      if constexpr (detail::part_of<decltype(k)>::steps_over_time) padded = padded || k.lengths != nullptr;
    };
    std::apply([&](const auto&... k) { (count(k), ...); }, in.items);

    float* y = ws.allocate<float>(checked_mul(checked_mul(batch, steps, "SequenceJoin"), D, "SequenceJoin"));
    std::int32_t* lengths = padded ? ws.allocate<std::int32_t>(batch) : nullptr;
    for (index b = 0; b < batch; ++b) {
      float* out = y + b * steps * D;
      index at = 0;
      std::size_t branch = 0;
      auto append = [&](const auto& k) {
        using Part = detail::part_of<decltype(k)>;
        index valid = 1;
        const float* src = k.data + b * D;
        if constexpr (Part::steps_over_time) {
          valid = k.valid_length(b);
          if (valid < 0 || valid > k.length)
            throw RangeError(name() + ": branch " + std::to_string(branch) + " says item " + std::to_string(b) +
                             " has " + std::to_string(valid) + " valid steps of " + std::to_string(k.length));
          src = k.data + b * k.length * D;
        }
        std::memcpy(out + at * D, src, sizeof(float) * static_cast<std::size_t>(valid * D));
        at += valid;
        ++branch;
      };
      std::apply([&](const auto&... k) { (append(k), ...); }, in.items);
      std::memset(out + at * D, 0, sizeof(float) * static_cast<std::size_t>((steps - at) * D));
      if (lengths) lengths[b] = static_cast<std::int32_t>(at);
    }
    return Seq<D>(y, batch, steps, lengths);
  }

  template <class K>
    requires(!detail::elementwise_fit<K>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<SequenceJoin, mmm::expects<typename detail::elementwise_fit<K>::expects>, input_is<K>>);
    return x;
  }
};

}  // namespace mmm
