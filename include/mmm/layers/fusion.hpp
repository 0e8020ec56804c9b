#pragma once
// Joins of the branches of a Parallel or Fork, without parameters:
//
//   FusionConcat   features side by side, as torch.cat(..., dim=-1)
//     Branches<Feat<A>, Feat<B>, …>  → Feat<A + B + …>
//     Branches<Seq<A>, Feat<B>, …>   → Seq<A + B + …>, each Feat repeated at every step
//     Branches<Map<A>, Feat<B>, …>   → Seq<A + B + …> over the map's H·W positions (row-major,
//                                      as x.flatten(2).transpose(1, 2)): image tokens, e.g. a
//                                      question vector tiled over an image's grid
//   FusionSum      element-wise sum of Feat<D>/Seq<D> branches (one D), Feat repeated over steps
//   FusionProduct  element-wise (Hadamard) product, likewise
//
// Branches that step (Seq, Map) must share their number of steps; every branch the batch.
// The output keeps the sequence branches' valid lengths: those given (non-null) must agree,
// item by item. Their torch counterparts are in tools/mmm_fusion.py.
//
// A join that does not fit is reported with the branch that breaks it:
//   join_error<FusionSum, expects<in_branch<1, Feat<8>>>, previous_module_gives<Branches<Feat<8>, Feat<7>>>>

#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>

#include "mmm/compose/branches.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm {

// For messages: what a fusion expects of its input, or of one of its branches.
struct branches_of_feat_seq_or_map {};  // Branches whose elements are Feat, Seq or Map
struct branches_of_feat_or_seq {};
struct feat_seq_or_map {};
template <index D>
struct feat_or_seq {};  // Feat<D> or Seq<D>

namespace detail {

// One branch as rows of features: a Feat has one row per item, repeated over the steps of
// the others; a Seq one per step; a Map one per position, strided by H·W in memory.
template <class K>
struct fusion_part {
  static constexpr bool ok = false, row_kind = false, steps_over_time = false;
  static constexpr index features = 0;
};
template <index D>
struct fusion_part<Feat<D>> {
  static constexpr bool ok = true, row_kind = true, steps_over_time = false, is_map = false;
  static constexpr index features = D;
  static index steps(const Feat<D>&) { return 1; }
  static const std::int32_t* lengths(const Feat<D>&) { return nullptr; }
};
template <index D>
struct fusion_part<Seq<D>> {
  static constexpr bool ok = true, row_kind = true, steps_over_time = true, is_map = false;
  static constexpr index features = D;
  static index steps(const Seq<D>& s) { return s.length; }
  static const std::int32_t* lengths(const Seq<D>& s) { return s.lengths; }
};
template <index C>
struct fusion_part<Map<C>> {
  static constexpr bool ok = true, row_kind = false, steps_over_time = true, is_map = true;
  static constexpr index features = C;
  static index steps(const Map<C>& m) { return m.height * m.width; }
  static const std::int32_t* lengths(const Map<C>&) { return nullptr; }
};

template <class K>
using part_of = fusion_part<std::remove_cvref_t<K>>;

// The shape every branch of a fusion agrees on: batch, steps (1 when no branch steps) and
// the valid lengths of the sequence branches.
struct FusedShape {
  index batch = 0, steps = 1;
  const std::int32_t* lengths = nullptr;
  bool any_steps = false;
  index rows() const noexcept { return batch * steps; }
};

template <class Who, class... Ks>
FusedShape fused_shape(const Branches<Ks...>& in) {
  check_same_batch<Who>(in);
  FusedShape s;
  s.batch = std::get<0>(in.items).batch;
  std::size_t branch = 0, first_stepping = 0;
  auto visit = [&](const auto& k) {
    using Part = part_of<decltype(k)>;
    if constexpr (Part::steps_over_time) {
      const index n = Part::steps(k);
      if (s.any_steps && n != s.steps)
        throw ShapeError(Who::name() + ": branch " + std::to_string(branch) + " has " + std::to_string(n) +
                         " steps, branch " + std::to_string(first_stepping) + " has " + std::to_string(s.steps) +
                         "; sequence and map branches need the same number of steps");
      if (!s.any_steps) s.steps = n, first_stepping = branch;
      s.any_steps = true;
      if (const std::int32_t* l = Part::lengths(k)) {
        if (s.lengths) {
          for (index b = 0; b < s.batch; ++b)
            if (l[b] != s.lengths[b])
              throw ShapeError(Who::name() + ": branch " + std::to_string(branch) + " gives item " + std::to_string(b) +
                               " " + std::to_string(l[b]) + " valid steps, an earlier branch " +
                               std::to_string(s.lengths[b]) + "; joined sequences need the same valid lengths");
        } else {
          s.lengths = l;
        }
      }
    }
    ++branch;
  };
  std::apply([&](const auto&... k) { (visit(k), ...); }, in.items);
  return s;
}

// Row r (item r / steps, step r % steps) of a Feat or Seq branch, in the fused shape.
template <class K>
const float* fused_row(const K& k, const FusedShape& s, index r) {
  constexpr index d = part_of<K>::features;
  if constexpr (part_of<K>::steps_over_time) return k.data + r * d;
  else return k.data + (r / s.steps) * d;
}

// ---- The join rules: which Branches each fusion takes, and what a message shows. ----

template <class K>
struct concat_fit {
  static constexpr bool ok = false;
  using expects = branches_of_feat_seq_or_map;
};
template <class... Ks>
struct concat_fit<Branches<Ks...>> {
  static constexpr std::size_t bad = first_false<fusion_part<Ks>::ok...>();
  static constexpr bool ok = bad == sizeof...(Ks);
  using expects = in_branch<(ok ? 0 : bad), feat_seq_or_map>;
};
template <class K>
struct concat_result;
template <class... Ks>
struct concat_result<Branches<Ks...>> {
  static constexpr index features = (fusion_part<Ks>::features + ...);
  static constexpr bool any_steps = (fusion_part<Ks>::steps_over_time || ...);
  using type = std::conditional_t<any_steps, Seq<features>, Feat<features>>;
};

// Element-wise joins: Feat<D> or Seq<D> branches, D the first branch's size.
template <class K, index D>
using like_first = std::conditional_t<RowKind<K>, with_last_dim_t<K, D>, feat_or_seq<D>>;

template <class K>
struct elementwise_fit {
  static constexpr bool ok = false;
  using expects = branches_of_feat_or_seq;
};
template <class K0, class... Ks>
struct elementwise_fit<Branches<K0, Ks...>> {
  static constexpr bool first_ok = fusion_part<K0>::row_kind;
  static constexpr index d = first_ok ? fusion_part<K0>::features : 1;
  static constexpr std::size_t bad =
      first_ok ? first_false<true, (fusion_part<Ks>::row_kind && fusion_part<Ks>::features == d)...>() : 0;
  static constexpr bool ok = bad == 1 + sizeof...(Ks);
  using expects =
      std::conditional_t<first_ok, in_branch<(ok ? 0 : bad), like_first<nth_t<(ok ? 0 : bad), K0, Ks...>, d>>,
                         in_branch<0, any_row_kind>>;
  using output = std::conditional_t<(fusion_part<K0>::steps_over_time || (fusion_part<Ks>::steps_over_time || ...)),
                                    Seq<d>, Feat<d>>;
};

// The four facts of a fusion module from one of the fit rules above.
template <template <class> class Fit, template <class> class Result>
struct FusionSignature {
  template <class K>
  static constexpr bool accepts = Fit<K>::ok;
  template <class K>
  using output = typename Result<K>::type;
  template <class K>
  using expects = typename Fit<K>::expects;
  using candidate_inputs = kinds<>;
};
template <class K>
struct elementwise_result {
  using type = typename elementwise_fit<K>::output;
};

template <class Out>
Out fused_kind(float* y, const FusedShape& s) {
  if constexpr (kind_traits<Out>::has_last_dim && std::is_same_v<Out, Seq<Out::features>>)
    return Out(y, s.batch, s.steps, s.lengths);
  else
    return Out(y, s.batch);
}

// FusionSum and FusionProduct: the first branch copied (repeated over steps), then each
// other branch combined into it row by row.
template <class Who, class Combine, class... Ks>
auto elementwise_join(const Branches<Ks...>& in, Workspace& ws, Combine&& combine) {
  using Out = typename elementwise_fit<Branches<Ks...>>::output;
  constexpr index D = Out::features;
  const FusedShape s = fused_shape<Who>(in);
  const index rows = s.rows();
  float* y = ws.allocate<float>(rows * D);
  const auto& first = std::get<0>(in.items);
  for (index r = 0; r < rows; ++r)
    std::memcpy(y + r * D, fused_row(first, s, r), sizeof(float) * static_cast<std::size_t>(D));
  auto join = [&](const auto& k) {
    if constexpr (part_of<decltype(k)>::steps_over_time) {
      combine(y, k.data, y, rows * D);  // one call over the whole sequence
    } else {
      for (index r = 0; r < rows; ++r) combine(y + r * D, fused_row(k, s, r), y + r * D, D);
    }
  };
  std::apply([&](const auto&, const auto&... rest) { (join(rest), ...); }, in.items);
  return fused_kind<Out>(y, s);
}

}  // namespace detail

struct FusionConcat : ModuleBase<FusionConcat, detail::FusionSignature<detail::concat_fit, detail::concat_result>> {
  static std::string name() { return "FusionConcat"; }

  template <class... Ks>
    requires(detail::fusion_part<Ks>::ok && ...)
  auto forward(const Branches<Ks...>& in, Workspace& ws) const {
    using Out = typename detail::concat_result<Branches<Ks...>>::type;
    constexpr index D = Out::features;
    const detail::FusedShape s = detail::fused_shape<FusionConcat>(in);
    const index rows = s.rows();
    float* y = ws.allocate<float>(rows * D);
    index offset = 0;
    auto copy = [&](const auto& k) {
      using Part = detail::part_of<decltype(k)>;
      constexpr index d = Part::features;
      if constexpr (Part::is_map) {
        // NCHW: channel c of item b is one contiguous plane; position t is step t.
        const index plane = s.steps;
        for (index b = 0; b < s.batch; ++b)
          for (index c = 0; c < d; ++c) {
            const float* src = k.data + (b * d + c) * plane;
            float* dst = y + b * plane * D + offset + c;
            for (index t = 0; t < plane; ++t) dst[t * D] = src[t];
          }
      } else {
        for (index r = 0; r < rows; ++r)
          std::memcpy(y + r * D + offset, detail::fused_row(k, s, r), sizeof(float) * static_cast<std::size_t>(d));
      }
      offset += d;
    };
    std::apply([&](const auto&... k) { (copy(k), ...); }, in.items);
    return detail::fused_kind<Out>(y, s);
  }

  // Called directly with something else: the readable join error, not a failed overload.
  template <class K>
    requires(!detail::concat_fit<K>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<FusionConcat, mmm::expects<typename detail::concat_fit<K>::expects>, input_is<K>>);
    return x;
  }
};

namespace detail {
// The element-wise fusions differ only in their name and their combine kernel.
template <class Derived>
struct ElementwiseFusion : ModuleBase<Derived, FusionSignature<elementwise_fit, elementwise_result>> {
  template <class K>
    requires elementwise_fit<K>::ok
  auto forward(const K& in, Workspace& ws) const {
    return elementwise_join<Derived>(in, ws, Derived::combine);
  }
  template <class K>
    requires(!elementwise_fit<K>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<Derived, mmm::expects<typename elementwise_fit<K>::expects>, input_is<K>>);
    return x;
  }
};
}  // namespace detail

// Σ of the branches, as a + b + … in torch (with Feat branches unsqueezed over the steps).
struct FusionSum : detail::ElementwiseFusion<FusionSum> {
  static std::string name() { return "FusionSum"; }
  static void combine(const float* a, const float* b, float* y, index n) { kernels::add(a, b, y, n); }
};

// Π of the branches, element by element, as a * b * … in torch.
struct FusionProduct : detail::ElementwiseFusion<FusionProduct> {
  static std::string name() { return "FusionProduct"; }
  static void combine(const float* a, const float* b, float* y, index n) { kernels::mul(a, b, y, n); }
};

}  // namespace mmm
