#pragma once
// CrossAttentionFusion<Dq, Dkv, Heads>: one modality attends to another — text queries over
// image patches or audio frames — with a residual and a post-norm, the cross-attention block
// of a transformer decoder layer:
//
//   y = norm(x + attn(x, m, m))      attn: nn.MultiheadAttention(Dq, Heads, kdim = vdim = Dkv)
//                                    norm: nn.LayerNorm(Dq)
//
//   Branches<Seq<Dq>, Seq<Dkv>>  → Seq<Dq>    queries keep their lengths; the memory's
//                                             lengths mask its padding (key_padding_mask)
//   Branches<Seq<Dq>, Map<Dkv>>  → Seq<Dq>    the map's H·W positions are the memory
//   Branches<Feat<Dq>, …>        → Feat<Dq>   one query per item: attention pooling
//
// Parameters, as tools/mmm_fusion.py's CrossAttentionFusion names them: attn.q_proj_weight
// [Dq, Dq], attn.k_proj_weight [Dq, Dkv], attn.v_proj_weight [Dq, Dkv], attn.in_proj_bias
// [3·Dq], attn.out_proj.weight/bias (torch's names when kdim ≠ embed_dim; with Dkv = Dq torch
// packs them as attn.in_proj_weight [3·Dq, Dq]), norm.weight, norm.bias. Queries and memory
// need the same batch (ShapeError naming the branch).

#include <cstring>
#include <string>
#include <type_traits>

#include "mmm/compose/branches.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/layers/attention.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/fusion.hpp"
#include "mmm/layers/norm.hpp"

namespace mmm {

namespace detail {
template <class K, index Dq, index Dkv>
struct cross_fit {
  static constexpr bool ok = false;
  using expects = one_input_per_branch<2>;
  using output = void;
};
template <class Q, class M, index Dq, index Dkv>
struct cross_fit<Branches<Q, M>, Dq, Dkv> {
  static constexpr bool query_ok = RowKindOf<Q, Dq>;
  static constexpr bool memory_ok = std::is_same_v<M, Seq<Dkv>> || std::is_same_v<M, Map<Dkv>>;
  static constexpr bool ok = query_ok && memory_ok;
  using expects = std::conditional_t<!query_ok, in_branch<0, feat_or_seq<Dq>>, in_branch<1, Seq<Dkv>>>;
  using output = std::conditional_t<query_ok, with_last_dim_t<Q, Dq>, void>;
};
}  // namespace detail

template <index Dq, index Dkv, index Heads>
class CrossAttentionFusion : public ModuleBase<CrossAttentionFusion<Dq, Dkv, Heads>> {
  static_assert(Dq % Heads == 0, "CrossAttentionFusion<Dq, Dkv, Heads>: Dq must be a multiple of Heads");
  using Attend = Attention<Dq, Heads, Attn{.kdim = Dkv, .vdim = Dkv}>;

 public:
  template <class K>
  static constexpr bool accepts = detail::cross_fit<K, Dq, Dkv>::ok;
  template <class K>
  using output = typename detail::cross_fit<K, Dq, Dkv>::output;
  template <class K>
  using expects = typename detail::cross_fit<K, Dq, Dkv>::expects;
  using candidate_inputs = kinds<Branches<Seq<Dq>, Seq<Dkv>>, Branches<Seq<Dq>, Map<Dkv>>, Branches<Feat<Dq>, Seq<Dkv>>,
                                 Branches<Feat<Dq>, Map<Dkv>>>;

  static std::string name() {
    return "CrossAttentionFusion<" + std::to_string(Dq) + ", " + std::to_string(Dkv) + ", " + std::to_string(Heads) + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("attn", self.attn_);
    p("norm", self.norm_);
  }

  template <class Q, class M>
    requires detail::cross_fit<Branches<Q, M>, Dq, Dkv>::ok
  output<Branches<Q, M>> forward(const Branches<Q, M>& in, Workspace& ws) const {
    detail::check_same_batch<CrossAttentionFusion>(in);
    const Q& x = in.template get<0>();
    const Workspace::Mark start = ws.mark();
    Seq<Dkv> memory;
    if constexpr (std::is_same_v<M, Map<Dkv>>) memory = MapToSeq{}.forward(in.template get<1>(), ws);
    else memory = in.template get<1>();
    Seq<Dq> queries;
    if constexpr (std::is_same_v<Q, Feat<Dq>>) queries = Seq<Dq>(x.data, x.batch, 1);
    else queries = x;
    // x + attn(x, m, m): the residual is added in the output projection's epilogue.
    const Seq<Dq> attended = attn_.cross_attention(queries, memory, memory, AttentionOptions{}, ws, x.data).output;
    const Seq<Dq> y = norm_.forward(attended, ws);
    ws.release_except(start, y);
    if constexpr (std::is_same_v<Q, Feat<Dq>>) return Feat<Dq>(y.data, y.batch);
    else return y;
  }

  template <class K>
    requires(!detail::cross_fit<K, Dq, Dkv>::ok)
  K forward(const K& x, Workspace&) const {
    (void)sizeof(join_error<CrossAttentionFusion, mmm::expects<expects<K>>, input_is<K>>);
    return x;
  }

 private:
  Attend attn_;
  LayerNorm<Dq> norm_;
};

}  // namespace mmm
