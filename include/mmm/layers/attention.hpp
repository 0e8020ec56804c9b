#pragma once
// Attention<D, Heads, Attn{…}>: multi-head attention, as torch.nn.MultiheadAttention(D,
// Heads, batch_first=True):
//
//   out = concat_h softmax(q_h·k_hᵀ/√d + mask) · v_h · W_outᵀ + b_out,
//   q = query·W_qᵀ + b_q,  k = key·W_kᵀ + b_k,  v = value·W_vᵀ + b_v,   d = D/Heads
//
// Takes Seq<D> (self-attention: query = key = value; its per-item lengths mask the padded
// keys) or Branches<Seq<D>, Seq<KDim>> (cross-attention: queries, and a memory that is both
// keys and values, of its own length; its lengths mask its padding). Gives Seq<D>. The full
// call, attend(query, key, value, AttentionOptions{…}), takes torch's key_padding_mask and
// attn_mask (boolean or additive), is_causal, and gives the attention weights averaged over
// heads or per head (need_weights, average_attn_weights).
//
// Options (Attn, part of the type):
//   kv_heads   fewer key/value heads than query heads: grouped-query attention (query head h
//              reads key/value head h / (Heads / kv_heads)); 0 = Heads
//   kdim/vdim  the keys' and values' feature sizes (torch's kdim, vdim); 0 = D
//   bias       biases on the projections (torch's bias)
//   causal     queries see only keys at or before their own position, always (a decoder)
//   rope       rotary position embedding of queries and keys (self-attention)
//   names      the state_dict names of the parameters:
//     torch  in_proj_weight [D + 2·kv, D], in_proj_bias, out_proj.weight [D, D], out_proj.bias;
//            with kdim/vdim ≠ D or kv_heads ≠ Heads: q_proj_weight, k_proj_weight [kv, KDim],
//            v_proj_weight [kv, VDim] and in_proj_bias (kv = kv_heads·d)
//     gpt2   c_attn.weight [3D, D], c_attn.bias, c_proj.weight, c_proj.bias (GPT-2, nanoGPT)
//     llama  q_proj.weight, k_proj.weight, v_proj.weight, o_proj.weight (+ .bias) (LLaMA)
//
// How it runs: self-attention projects queries, keys and values with one GEMM; the heads
// meet in kernels::attention (tiles of queries and keys, online softmax: the T×S score
// matrix is never formed, scratch grows with S); the attention output overwrites the
// queries it came from and the output projection reads it there, with the caller's
// residual (a transformer layer's x + attention(x)) added in its epilogue. Asking for the
// weights forms the scores instead (kernels::attention_with_weights).
//
// Incremental decoding (a KVCache, generate/kv_cache.hpp): step() projects the new
// positions, appends their keys and values to the cache and attends over everything
// cached; cache_memory() and step_cross() do cross-attention over a memory projected once.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/kernels/attention.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/layers/gemm_weights.hpp"
#include "mmm/layers/positional.hpp"

namespace mmm {

enum class AttnNames : std::uint8_t { torch, gpt2, llama };

struct Attn {
  index kv_heads = 0;
  index kdim = 0;
  index vdim = 0;
  bool bias = true;
  bool causal = false;
  Rope rope = {};
  AttnNames names = AttnNames::torch;
};

// One of torch's masks: boolean (nonzero: may not attend, torch's True), additive (added
// to the scores; −inf blocks), or both. Empty views: no mask.
struct AttentionMask {
  TensorView<const std::uint8_t> blocked = {};
  TensorView<const float> added = {};
  bool empty() const noexcept { return blocked.data() == nullptr && added.data() == nullptr; }
};

// torch's MultiheadAttention.forward arguments besides query, key and value.
struct AttentionOptions {
  AttentionMask key_padding_mask = {};  // [N, S]; Seq lengths of the keys mask their padding too
  AttentionMask attn_mask = {};         // [T, S], or [N·Heads, T, S]
  bool is_causal = false;          // also mask keys after each query's position
  bool need_weights = false;
  bool average_attn_weights = true;
};

// What attend() gives: the output, and the weights when asked for ([N, T, S] averaged over
// heads, or [N, Heads, T, S]), in the Workspace.
template <index D>
struct Attended {
  Seq<D> output;
  TensorView<const float> weights;
};

template <index D, index Heads = 1, Attn A = Attn{}>
class Attention : public ModuleBase<Attention<D, Heads, A>> {
  static_assert(D > 0 && Heads > 0, "Attention<D, Heads>: sizes must be positive");
  static_assert(D % Heads == 0, "Attention<D, Heads>: D must be divisible by Heads (each head gets D / Heads features)");
  static constexpr index KVHeads = A.kv_heads ? A.kv_heads : Heads;
  static_assert(KVHeads > 0 && Heads % KVHeads == 0,
                "Attention: kv_heads must divide Heads (each key/value head serves Heads / kv_heads query heads)");

 public:
  static constexpr index heads = Heads;
  static constexpr index kv_heads = KVHeads;
  static constexpr index head_dim = D / Heads;
  static constexpr index kdim = A.kdim ? A.kdim : D;
  static constexpr index vdim = A.vdim ? A.vdim : D;
  static constexpr index kv_features = KVHeads * head_dim;
  static constexpr index projected = D + 2 * kv_features;  // q, k, v side by side
  static constexpr bool causal = A.causal;

 private:
  static constexpr bool same_dims = kdim == D && vdim == D;
  // One weight tensor for q, k and v (torch's in_proj_weight, GPT-2's c_attn).
  static constexpr bool one_in_weight =
      A.names == AttnNames::gpt2 || (A.names == AttnNames::torch && same_dims && KVHeads == Heads);
  static constexpr bool rotary = A.rope.theta > 0;
  static_assert(A.names != AttnNames::gpt2 || (same_dims && KVHeads == Heads),
                "Attention with GPT-2 names: c_attn packs q, k and v of size D, so kdim, vdim and kv_heads must be defaults");
  static_assert(!rotary || head_dim % 2 == 0, "Attention with a rotary embedding: the head size must be even");
  // Named only under `if constexpr (rotary)`; the placeholder arguments are never instantiated.
  using Rotary = RotaryEmbedding<(rotary ? head_dim : 2), (rotary ? A.rope : Rope{1.0f})>;

 public:
  template <class In>
  static constexpr bool accepts = std::same_as<In, Seq<D>> || std::same_as<In, Branches<Seq<D>, Seq<kdim>>>;
  template <class In>
  using output = Seq<D>;
  template <class In>
  using expects = Seq<D>;
  using candidate_inputs = kinds<Seq<D>, Branches<Seq<D>, Seq<kdim>>>;

  static std::string name() {
    std::string s = "Attention<" + std::to_string(D) + ", " + std::to_string(Heads);
    if (KVHeads != Heads) s += ", kv_heads " + std::to_string(KVHeads);
    if (kdim != D || vdim != D) s += ", kdim " + std::to_string(kdim) + ", vdim " + std::to_string(vdim);
    if (A.causal) s += ", causal";
    if (rotary) s += ", rope";
    if (!A.bias) s += ", no bias";
    return s + ">";
  }

  Attention() : out_(Shape{D, D}) {
    if constexpr (one_in_weight) {
      in_w_ = Tensor(Shape{projected, D});
    } else {
      q_w_ = Tensor(Shape{D, D});
      k_w_ = Tensor(Shape{kv_features, kdim});
      v_w_ = Tensor(Shape{kv_features, vdim});
    }
    if constexpr (A.bias) {
      if constexpr (A.names == AttnNames::llama) {
        q_b_ = Tensor(Shape{D});
        k_b_ = Tensor(Shape{kv_features});
        v_b_ = Tensor(Shape{kv_features});
      } else {
        in_b_ = Tensor(Shape{projected});
      }
    }
    if constexpr (rotary) (void)Rotary::shared();  // build the table now, not in a forward
  }

  static void parameters(auto& self, auto&& p) {
    if constexpr (A.names == AttnNames::torch) {
      if constexpr (one_in_weight) {
        p("in_proj_weight", self.in_w_);
      } else {
        p("q_proj_weight", self.q_w_);
        p("k_proj_weight", self.k_w_);
        p("v_proj_weight", self.v_w_);
      }
      if constexpr (A.bias) p("in_proj_bias", self.in_b_);
      p("out_proj", self.out_);
    } else if constexpr (A.names == AttnNames::gpt2) {
      p("c_attn.weight", self.in_w_);
      if constexpr (A.bias) p("c_attn.bias", self.in_b_);
      p("c_proj", self.out_);
    } else {
      p("q_proj.weight", self.q_w_);
      if constexpr (A.bias) p("q_proj.bias", self.q_b_);
      p("k_proj.weight", self.k_w_);
      if constexpr (A.bias) p("k_proj.bias", self.k_b_);
      p("v_proj.weight", self.v_w_);
      if constexpr (A.bias) p("v_proj.bias", self.v_b_);
      p("o_proj", self.out_);
    }
  }

  // Packs the projections: q, k and v as one weight when their inputs are the same size
  // (self-attention runs one GEMM; cross-attention uses its q and k/v columns, packed apart
  // only when they do not split on a panel boundary), else one per input.
  void prepare() {
    this->prepare_children();
    bias_ = Tensor(Shape{projected});
    if constexpr (A.bias) {
      if constexpr (A.names == AttnNames::llama) {
        std::copy_n(q_b_.data(), D, bias_.data());
        std::copy_n(k_b_.data(), kv_features, bias_.data() + D);
        std::copy_n(v_b_.data(), kv_features, bias_.data() + D + kv_features);
      } else {
        std::copy_n(in_b_.data(), projected, bias_.data());
      }
    }
    if constexpr (same_dims) {
      const float* w = in_w_.data();
      Tensor joined;
      if constexpr (!one_in_weight) {
        joined = Tensor(Shape{projected, D});
        std::copy_n(q_w_.data(), D * D, joined.data());
        std::copy_n(k_w_.data(), kv_features * D, joined.data() + D * D);
        std::copy_n(v_w_.data(), kv_features * D, joined.data() + (D + kv_features) * D);
        w = joined.data();
      }
      qkv_ = kernels::PackedWeights::from_nk(w, projected, D);
      if (!qkv_.splits_at(D)) {
        q_ = kernels::PackedWeights::from_nk(w, D, D);
        kv_ = kernels::PackedWeights::from_nk(w + D * D, 2 * kv_features, D);
      }
      if (!qkv_.splits_at(D) || !qkv_.splits_at(D + kv_features)) {
        k_ = kernels::PackedWeights::from_nk(w + D * D, kv_features, D);
        v_ = kernels::PackedWeights::from_nk(w + (D + kv_features) * D, kv_features, D);
      }
    } else {
      q_ = kernels::PackedWeights::from_nk(q_w_.data(), D, D);
      k_ = kernels::PackedWeights::from_nk(k_w_.data(), kv_features, kdim);
      v_ = kernels::PackedWeights::from_nk(v_w_.data(), kv_features, vdim);
    }
    has_bias_ = A.bias;
  }

  // ---- Forward -------------------------------------------------------------------------

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const { return self_attention(x, AttentionOptions{}, ws, nullptr).output; }

  Seq<D> forward(const Branches<Seq<D>, Seq<kdim>>& in, Workspace& ws) const
    requires(kdim == vdim)
  {
    const Seq<kdim>& memory = in.template get<1>();
    return cross_attention(in.template get<0>(), memory, memory, AttentionOptions{}, ws, nullptr).output;
  }

  // torch's forward(query, key, value, key_padding_mask, need_weights, attn_mask,
  // average_attn_weights, is_causal). Self-attention (one projection GEMM) when query, key
  // and value are the same tensor. `residual` (rows of D, or null) is added to the output.
  Attended<D> attend(const Seq<D>& query, const Seq<kdim>& key, const Seq<vdim>& value, const AttentionOptions& options,
                     Workspace& ws, const float* residual = nullptr) const {
    if constexpr (same_dims) {
      if (query.data == key.data && key.data == value.data && query.batch == key.batch && query.length == key.length &&
          key.length == value.length)
        return self_attention(query, options, ws, residual);
    }
    return cross_attention(query, key, value, options, ws, residual);
  }

  // Self-attention of x with `residual` added to the output (null: none); what the
  // transformer layers call.
  Attended<D> self_attention(const Seq<D>& x, const AttentionOptions& options, Workspace& ws,
                             const float* residual) const
    requires(same_dims)
  {
    const kernels::PackedWeights& w = packed();
    const index rows = x.rows();
    float* y = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    const TensorView<float> weights = allocate_weights(options, x.batch, x.length, x.length, ws);
    const Workspace::Mark scratch = ws.mark();
    float* qkv = ws.allocate<float>(checked_mul(rows, projected, "Attention"));
    kernels::gemm(rows, x.data, D, w, qkv, projected, bias_epilogue(0));
    if constexpr (rotary) {
      Rotary::shared().apply(qkv, projected, Heads, x.batch, x.length, nullptr, nullptr, &name);
      Rotary::shared().apply(qkv + D, projected, KVHeads, x.batch, x.length, nullptr, nullptr, &name);
    }
    const kernels::AttentionProblem p = problem(x.batch, x.length, x.length, qkv, projected, qkv + D, projected,
                                                qkv + D + kv_features, projected, x.lengths, options);
    run_heads(p, weights, options, ws);
    project_out(rows, qkv, projected, y, residual);
    ws.release(scratch);
    return {same_shape(x, y), weights};
  }

  Attended<D> cross_attention(const Seq<D>& query, const Seq<kdim>& key, const Seq<vdim>& value,
                              const AttentionOptions& options, Workspace& ws, const float* residual) const {
    if (key.batch != query.batch || value.batch != query.batch)
      throw ShapeError(name() + ": the query has batch " + std::to_string(query.batch) + " but the keys have " +
                       std::to_string(key.batch) + " and the values " + std::to_string(value.batch) +
                       "; they need the same batch");
    if (key.length != value.length)
      throw ShapeError(name() + ": " + std::to_string(key.length) + " keys but " + std::to_string(value.length) +
                       " values; every key needs a value");
    if (key.lengths != value.lengths && key.lengths && value.lengths)
      for (index b = 0; b < key.batch; ++b)
        if (key.lengths[b] != value.lengths[b])
          throw ShapeError(name() + ": item " + std::to_string(b) + " has " + std::to_string(key.lengths[b]) +
                           " valid keys but " + std::to_string(value.lengths[b]) + " valid values");
    const index rows = query.rows(), mem_rows = key.rows();
    float* y = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    const TensorView<float> weights = allocate_weights(options, query.batch, query.length, key.length, ws);
    const Workspace::Mark scratch = ws.mark();
    float* q = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    float* kv = ws.allocate<float>(checked_mul(mem_rows, 2 * kv_features, "Attention"));
    project_q(rows, query.data, q);
    project_kv(mem_rows, key.data, value.data, kv);
    const kernels::AttentionProblem p =
        problem(query.batch, query.length, key.length, q, D, kv, 2 * kv_features, kv + kv_features, 2 * kv_features,
                key.lengths ? key.lengths : value.lengths, options);
    run_heads(p, weights, options, ws);
    project_out(rows, q, D, y, residual);
    ws.release(scratch);
    return {same_shape(query, y), weights};
  }

  // ---- Incremental decoding ------------------------------------------------------------

  // The step's new positions x (row b: its first valid_length(b) steps, at positions
  // cache.length(b) on) attend causally to everything cached and to each other; their keys
  // and values join the cache's layer `layer`. Between the cache's begin_step() and
  // commit_step() (a decoder's step does both).
  Seq<D> step(const Seq<D>& x, KVCache& cache, index layer, Workspace& ws, const float* residual = nullptr) const
    requires(same_dims)
  {
    const kernels::PackedWeights& w = packed();
    const index rows = x.rows();
    float* y = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    const Workspace::Mark scratch = ws.mark();
    float* qkv = ws.allocate<float>(checked_mul(rows, projected, "Attention"));
    kernels::gemm(rows, x.data, D, w, qkv, projected, bias_epilogue(0));
    const std::int32_t* begin = cache.step_begin();
    if constexpr (rotary) {
      Rotary::shared().apply(qkv, projected, Heads, x.batch, x.length, begin, x.lengths, &name);
      Rotary::shared().apply(qkv + D, projected, KVHeads, x.batch, x.length, begin, x.lengths, &name);
    }
    using Layout = kernels::KvPageLayout<>;
    for (index b = 0; b < x.batch; ++b)
      for (index t = 0; t < x.valid_length(b); ++t) {
        const float* row = qkv + (b * x.length + t) * projected;
        const auto [page, slot] = cache.position(layer, b, begin[b] + t);
        for (index g = 0; g < KVHeads; ++g)
          Layout::store(page + g * cache.head_floats(), KVCache::page_tokens, head_dim, slot, row + D + g * head_dim,
                        row + D + kv_features + g * head_dim);
      }
    const kernels::KvPages pages = cache.self_pages(layer);
    kernels::AttentionProblem p;
    p.batch = x.batch;
    p.q_heads = Heads;
    p.kv_heads = KVHeads;
    p.head_dim = head_dim;
    p.q_len = x.length;
    p.kv_len = cache.capacity();
    p.q = qkv;
    p.ldq = projected;
    p.paged = &pages;
    p.kv_lengths = cache.step_end();
    p.causal = true;
    p.q_offsets = begin;
    p.scale = scale();
    p.out = qkv;
    p.ldo = projected;
    kernels::attention(p, ws);
    project_out(rows, qkv, projected, y, residual);
    ws.release(scratch);
    return same_shape(x, y);
  }

  // Projects a memory's keys and values once into the cache's memory layer `layer`, for
  // step_cross(); its lengths mask its padding. One memory row per cache row in use.
  void cache_memory(const Seq<kdim>& memory, KVCache& cache, index layer, Workspace& ws) const
    requires(kdim == vdim)
  {
    if (memory.batch != cache.batch())
      throw ShapeError(name() + ": the memory has batch " + std::to_string(memory.batch) + " but the cache has " +
                       std::to_string(cache.batch()) + " rows in use; give one memory item per row");
    const Workspace::Mark scratch = ws.mark();
    float* kv = ws.allocate<float>(checked_mul(memory.rows(), 2 * kv_features, "Attention"));
    project_kv(memory.rows(), memory.data, memory.data, kv);
    for (index b = 0; b < memory.batch; ++b) {
      const float* rows = kv + b * memory.length * 2 * kv_features;
      cache.set_memory_row(layer, b, rows, 2 * kv_features, rows + kv_features, 2 * kv_features,
                           memory.valid_length(b), &name);
    }
    ws.release(scratch);
  }

  // The queries x attend to the memory cached by cache_memory() for layer `layer`.
  Seq<D> step_cross(const Seq<D>& x, const KVCache& cache, index layer, Workspace& ws,
                    const float* residual = nullptr) const {
    if (x.batch != cache.batch())
      throw ShapeError(name() + ": the step has " + std::to_string(x.batch) + " rows but the cache has " +
                       std::to_string(cache.batch()) + " in use");
    const index rows = x.rows();
    float* y = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    const Workspace::Mark scratch = ws.mark();
    float* q = ws.allocate<float>(checked_mul(rows, D, "Attention"));
    project_q(rows, x.data, q);
    const kernels::KvPages pages = cache.memory_pages(layer);
    kernels::AttentionProblem p;
    p.batch = x.batch;
    p.q_heads = Heads;
    p.kv_heads = KVHeads;
    p.head_dim = head_dim;
    p.q_len = x.length;
    p.kv_len = cache.memory_capacity();
    p.q = q;
    p.ldq = D;
    p.paged = &pages;
    p.kv_lengths = cache.memory_lengths();
    p.scale = scale();
    p.out = q;
    p.ldo = D;
    kernels::attention(p, ws);
    project_out(rows, q, D, y, residual);
    ws.release(scratch);
    return same_shape(x, y);
  }

  // For KVCache::Shape: what each cached position holds per layer.
  static constexpr index cache_heads() { return KVHeads; }
  static constexpr index cache_head_dim() { return head_dim; }

 private:
  static float scale() { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

  const kernels::PackedWeights& packed() const {
    if (qkv_.empty()) throw Error(name() + ": weights are not prepared; load() them, or call prepare() after setting them");
    return qkv_;
  }
  void check_prepared() const {
    if (qkv_.empty() && q_.empty())
      throw Error(name() + ": weights are not prepared; load() them, or call prepare() after setting them");
  }

  kernels::Epilogue bias_epilogue(index first) const {
    kernels::Epilogue ep;
    if (has_bias_) ep.bias = bias_.data() + first;
    return ep;
  }

  void project_q(index rows, const float* x, float* q) const {
    check_prepared();
    if (!q_.empty())
      kernels::gemm(rows, x, D, q_, q, D, bias_epilogue(0));
    else
      kernels::gemm_columns(rows, x, D, qkv_, 0, D, q, D, bias_epilogue(0));
  }
  // Keys and values side by side: rows of [k | v] (2·kv_features).
  void project_kv(index rows, const float* key, const float* value, float* kv) const {
    check_prepared();
    constexpr index ld = 2 * kv_features;
    if constexpr (same_dims) {
      if (key == value) {
        if (!kv_.empty())
          kernels::gemm(rows, key, D, kv_, kv, ld, bias_epilogue(D));
        else
          kernels::gemm_columns(rows, key, D, qkv_, D, ld, kv, ld, bias_epilogue(D));
        return;
      }
      if (k_.empty()) {
        kernels::gemm_columns(rows, key, D, qkv_, D, kv_features, kv, ld, bias_epilogue(D));
        kernels::gemm_columns(rows, value, D, qkv_, D + kv_features, kv_features, kv + kv_features, ld,
                              bias_epilogue(D + kv_features));
        return;
      }
    }
    kernels::gemm(rows, key, kdim, k_, kv, ld, bias_epilogue(D));
    kernels::gemm(rows, value, vdim, v_, kv + kv_features, ld, bias_epilogue(D + kv_features));
  }

  void project_out(index rows, const float* attended, index lda, float* y, const float* residual) const {
    kernels::Epilogue ep = out_.epilogue(kernels::Activation::none);
    ep.residual = residual;
    ep.ld_residual = D;
    kernels::gemm(rows, attended, lda, out_.template packed<Attention>(), y, D, ep);
  }

  kernels::AttentionProblem problem(index batch, index q_len, index kv_len, float* q, index ldq, const float* k,
                                    index ldk, const float* v, index ldv, const std::int32_t* kv_lengths,
                                    const AttentionOptions& options) const {
    kernels::AttentionProblem p;
    p.batch = batch;
    p.q_heads = Heads;
    p.kv_heads = KVHeads;
    p.head_dim = head_dim;
    p.q_len = q_len;
    p.kv_len = kv_len;
    p.q = q;
    p.ldq = ldq;
    p.k = k;
    p.v = v;
    p.ldk = ldk;
    p.ldv = ldv;
    if (kv_lengths)
      for (index b = 0; b < batch; ++b)
        if (kv_lengths[b] < 0 || kv_lengths[b] > kv_len)
          throw RangeError(name() + ": item " + std::to_string(b) + " claims " + std::to_string(kv_lengths[b]) +
                           " valid keys of " + std::to_string(kv_len));
    p.kv_lengths = kv_lengths;
    p.causal = A.causal || options.is_causal;
    p.scale = scale();
    p.masks = score_masks(options, batch, q_len, kv_len);
    p.out = q;  // the output overwrites the queries
    p.ldo = ldq;
    return p;
  }

  // torch's masks as the kernel takes them, after checking their shapes.
  kernels::ScoreMasks score_masks(const AttentionOptions& o, index batch, index q_len, index kv_len) const {
    kernels::ScoreMasks m;
    auto check = [&](const Shape& s, const char* what) {
      const bool two = s.rank() == 2 && s[0] == q_len && s[1] == kv_len;
      const bool three = s.rank() == 3 && s[0] == batch * Heads && s[1] == q_len && s[2] == kv_len;
      if (!two && !three)
        throw ShapeError(name() + ": " + what + " has shape " + s.str() + "; it must be [" + std::to_string(q_len) + ", " +
                         std::to_string(kv_len) + "] (queries × keys) or [" + std::to_string(batch * Heads) + ", " +
                         std::to_string(q_len) + ", " + std::to_string(kv_len) + "] (batch·heads × queries × keys)");
      return three;
    };
    const AttentionMask& am = o.attn_mask;
    if (am.blocked.data() && am.added.data() && !(am.blocked.shape() == am.added.shape()))
      throw ShapeError(name() + ": the boolean attn_mask has shape " + am.blocked.shape().str() +
                       " and the additive one " + am.added.shape().str() + "; give them the same shape");
    if (!am.empty()) {
      const bool three = check(am.blocked.data() ? am.blocked.shape() : am.added.shape(), "attn_mask");
      m.blocked = am.blocked.data();
      m.added = am.added.data();
      m.row_stride = kv_len;
      m.head_stride = three ? q_len * kv_len : 0;
      m.batch_stride = three ? Heads * q_len * kv_len : 0;
    }
    const AttentionMask& kp = o.key_padding_mask;
    for (const Shape* s : {kp.blocked.data() ? &kp.blocked.shape() : nullptr, kp.added.data() ? &kp.added.shape() : nullptr})
      if (s && !(s->rank() == 2 && (*s)[0] == batch && (*s)[1] == kv_len))
        throw ShapeError(name() + ": key_padding_mask has shape " + s->str() + "; it must be [" + std::to_string(batch) +
                         ", " + std::to_string(kv_len) + "] (batch × keys)");
    m.key_blocked = kp.blocked.data();
    m.key_added = kp.added.data();
    m.key_batch_stride = kv_len;
    return m;
  }

  // Room for the weights, when asked for: [N, T, S] averaged, or [N, Heads, T, S].
  TensorView<float> allocate_weights(const AttentionOptions& o, index batch, index q_len, index kv_len,
                                           Workspace& ws) const {
    if (!o.need_weights) return {};
    const Shape shape = o.average_attn_weights ? Shape{batch, q_len, kv_len} : Shape{batch, Heads, q_len, kv_len};
    index n = checked_mul(checked_mul(batch, q_len, "Attention weights"), kv_len, "Attention weights");
    if (!o.average_attn_weights) n = checked_mul(n, Heads, "Attention weights");
    return {ws.allocate<float>(n), shape};
  }

  // The heads' attention into p.out: tiled, or with the scores formed when the weights are asked for.
  static void run_heads(const kernels::AttentionProblem& p, TensorView<float> weights, const AttentionOptions& o,
                        Workspace& ws) {
    if (weights.data())
      kernels::attention_with_weights(p, weights.data(), o.average_attn_weights, ws);
    else
      kernels::attention(p, ws);
  }

  Tensor in_w_, in_b_, q_w_, k_w_, v_w_, q_b_, k_b_, v_b_;
  GemmWeights<A.bias> out_;
  Tensor bias_;  // every projection's bias side by side (zeros without bias)
  kernels::PackedWeights qkv_, q_, kv_, k_, v_;
  bool has_bias_ = false;
};

}  // namespace mmm
