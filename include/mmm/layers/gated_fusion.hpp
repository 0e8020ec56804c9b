#pragma once
// GatedFusion<Out, In...>: a learned sigmoid gate mixes one projection per branch — the
// gated multimodal unit (Arevalo et al., 2017). For branches x₁ … x_K (Feat<Inₖ> or
// Seq<Inₖ>, one per In, a Feat repeated over the steps of the others):
//
//   hₖ = tanh(projₖ(xₖ))                         projₖ: Linear(Inₖ → Out)
//   K = 2:  z = σ(gate([x₁; x₂]))                 gate: Linear(In₁ + In₂ → Out)
//           y = z ⊙ h₁ + (1 − z) ⊙ h₂
//   K > 2:  [z₁ … z_K] = σ(gate([x₁; …; x_K]))    gate: Linear(ΣIn → K·Out), zₖ its k-th Out slice
//           y = Σ zₖ ⊙ hₖ
//
// giving Feat<Out>, or Seq<Out> when a branch is a Seq. Parameters, as the torch reference
// module (tools/mmm_fusion.py, GatedFusion) names them: proj.0.weight [Out, In₁],
// proj.0.bias [Out], …, gate.weight [G, ΣIn], gate.bias [G] (G = Out, or K·Out for K > 2).

#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "mmm/compose/module_base.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/linear.hpp"

namespace mmm {

namespace detail {
template <class K, index... In>
struct gated_fit {
  static constexpr bool ok = false;
  using expects = one_input_per_branch<sizeof...(In)>;
};
template <class... Ks, index... In>
  requires(sizeof...(Ks) == sizeof...(In))
struct gated_fit<Branches<Ks...>, In...> {
  static constexpr std::size_t bad = first_false<RowKindOf<Ks, In>...>();
  static constexpr bool ok = bad == sizeof...(In);
  static constexpr std::size_t at = ok ? 0 : bad;
  static constexpr index wanted = std::get<at>(std::tuple{In...});
  using expects = in_branch<at, like_first<nth_t<at, Ks...>, wanted>>;
};
}  // namespace detail

template <index Out, index... In>
class GatedFusion : public ModuleBase<GatedFusion<Out, In...>> {
  static constexpr std::size_t branches = sizeof...(In);
  static_assert(branches >= 2, "GatedFusion<Out, In...>: give the feature sizes of at least two branches");
  static_assert(Out > 0 && ((In > 0) && ...), "GatedFusion<Out, In...>: sizes must be positive");
  static constexpr index concat_features = (In + ...);
  static constexpr index gate_features = branches == 2 ? Out : static_cast<index>(branches) * Out;

 public:
  template <class K>
  static constexpr bool accepts = detail::gated_fit<K, In...>::ok;
  template <class K>
  using output = with_last_dim_t<typename detail::concat_result<K>::type, Out>;
  template <class K>
  using expects = typename detail::gated_fit<K, In...>::expects;
  using candidate_inputs = kinds<>;

  static std::string name() {
    std::string s = "GatedFusion<" + std::to_string(Out);
    ((s += ", " + std::to_string(In)), ...);
    return s + ">";
  }

  static void parameters(auto& self, auto&& p) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (p("proj." + std::to_string(I), std::get<I>(self.proj_)), ...);
    }(std::make_index_sequence<branches>{});
    p("gate", self.gate_);
  }

  template <class... Ks>
    requires detail::gated_fit<Branches<Ks...>, In...>::ok
  output<Branches<Ks...>> forward(const Branches<Ks...>& in, Workspace& ws) const {
    const detail::FusedShape s = detail::fused_shape<GatedFusion>(in);
    const index rows = s.rows();
    float* y = ws.allocate<float>(rows * Out);
    const Workspace::Mark scratch = ws.mark();
    const float* z = gate_.forward_fused(FusionConcat{}.forward(in, ws), ws, kernels::Activation::sigmoid).data;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      const float* h[] = {std::get<I>(proj_).forward_fused(std::get<I>(in.items), ws, kernels::Activation::tanh).data...};
      // A Feat branch's projection has one row per item, read at every step.
      const bool per_item[] = {!detail::part_of<Ks>::steps_over_time...};
      auto row = [&](std::size_t k, index r) { return h[k] + (per_item[k] ? r / s.steps : r) * Out; };
      for (index r = 0; r < rows; ++r) {
        float* out = y + r * Out;
        const float* gate = z + r * gate_features;
        if constexpr (branches == 2) {
          const float *h1 = row(0, r), *h2 = row(1, r);
          for (index o = 0; o < Out; ++o) out[o] = gate[o] * h1[o] + (1.0f - gate[o]) * h2[o];
        } else {
          for (index o = 0; o < Out; ++o) out[o] = 0.0f;
          for (std::size_t k = 0; k < branches; ++k) {
            const float* hk = row(k, r);
            const float* zk = gate + static_cast<index>(k) * Out;
            for (index o = 0; o < Out; ++o) out[o] += zk[o] * hk[o];
          }
        }
      }
    }(std::index_sequence_for<Ks...>{});
    ws.release(scratch);
    return detail::fused_kind<output<Branches<Ks...>>>(y, s);
  }

  template <class K>
    requires(!detail::gated_fit<K, In...>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<GatedFusion, mmm::expects<expects<K>>, input_is<K>>);
    return x;
  }

 private:
  std::tuple<Linear<In, Out>...> proj_;
  Linear<concat_features, gate_features> gate_;
};

}  // namespace mmm
