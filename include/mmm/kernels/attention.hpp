#pragma once
// Scaled dot-product attention over many heads, for Attention and the transformer layers:
//
//   out[b, t, h] = Σ_j softmax_j(scale · q[b, t, h]·k[b, j, g]ᵀ + mask) · v[b, j, g],  g = h / (Hq / Hkv)
//
// as plain pointers, sizes and strides (AttentionProblem), in two forms:
//   attention()               tiles of queries and keys with an online softmax: the T×S score
//                             matrix is never formed, scratch grows with S, not with T·S;
//   attention_with_weights()  the scores formed head by head and kept, for callers that ask
//                             for the attention weights (torch's need_weights).
//
// Which keys a query sees: keys [0, kv_lengths[b]) of its batch item (key padding), with
// `causal` only keys j ≤ q_offsets[b] + t (q_offsets: keys already cached before these
// queries), and besides these the element masks of ScoreMasks (torch's attn_mask and
// key_padding_mask, boolean or additive). A query that sees no key gives NaN, as torch's
// softmax over a row of −inf does.
//
// Keys and values reach the tiled kernel either as the rows a projection wrote (then each
// thread packs its head's keys and values once, into pages of its scratch) or already
// packed in pages (a KV cache, KvPages). A page holds `page_keys` keys of one head in the
// GEMM micro-kernel's operand layout, so that q·Kᵀ and P·V are register-tiled products
// with no further copies:
//   keys    page_keys/NR panels of [head_dim][NR]       (Kᵀ, NR keys side by side)
//   values  ⌈head_dim/NR⌉ panels of [page_keys][NR]    (V, NR columns side by side)
// NR is the micro-kernel's panel width for the compiled instruction set.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/kernels/detail/gemm_kernel.hpp"
#include "mmm/kernels/detail/math_simd.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/kernels/math.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels {

// Masks on individual scores, as torch's MultiheadAttention takes them. Each may be given
// as boolean (nonzero: this query may not attend to this key, torch's True) or additive
// (added to the score; −inf blocks), or both; null when absent.
//   attn_mask      element (b, h, t, j) at t·row_stride + j + h·head_stride + b·batch_stride:
//                  a [T, S] mask has head and batch strides 0, a [N·H, T, S] one T·S and H·T·S
//   key_padding    element (b, j) at b·key_batch_stride + j
struct ScoreMasks {
  const std::uint8_t* blocked = nullptr;
  const float* added = nullptr;
  index row_stride = 0, head_stride = 0, batch_stride = 0;
  const std::uint8_t* key_blocked = nullptr;
  const float* key_added = nullptr;
  index key_batch_stride = 0;

  bool any() const noexcept { return blocked || added || key_blocked || key_added; }
};

// Keys and values already in the page layout (a KV cache). Page i of batch item b is
// pages + page_table[b·table_stride + i]·page_stride; within it head g starts at
// g·head_stride (keys first, values at value_offset from there).
struct KvPages {
  const float* pages = nullptr;
  const std::int32_t* page_table = nullptr;
  index table_stride = 0;
  index page_stride = 0;
  index head_stride = 0;
  index value_offset = 0;
  index page_keys = 0;
};

struct AttentionProblem {
  index batch = 1, q_heads = 1, kv_heads = 1, head_dim = 0;
  index q_len = 0;   // queries per batch item
  index kv_len = 0;  // keys per batch item (rows of k and v; the most a page table covers)
  // Query (b, t, h) at q + (b·q_len + t)·ldq + h·head_dim.
  const float* q = nullptr;
  index ldq = 0;
  // Keys and values as rows: key (b, j, g) at k + (b·kv_len + j)·ldk + g·head_dim; or `paged`.
  const float* k = nullptr;
  const float* v = nullptr;
  index ldk = 0, ldv = 0;
  const KvPages* paged = nullptr;
  const std::int32_t* kv_lengths = nullptr;  // valid keys per item; null: kv_len
  bool causal = false;
  const std::int32_t* q_offsets = nullptr;  // with causal: keys before query 0 of each item; null: 0
  ScoreMasks masks;
  float scale = 1.0f;  // applied to q·kᵀ (1/√head_dim)
  // Output (b, t, h) at out + (b·q_len + t)·ldo + h·head_dim. It may be q itself (same
  // strides): each query is read before its output is written, by the same thread.
  float* out = nullptr;
  index ldo = 0;
};

// The page layout, for whoever fills pages (a KV cache, the packing below).
template <class Arch = detail::kernel_arch>
struct KvPageLayout {
  static constexpr index nr = detail::KernelTraits<Arch>::nr;
  static constexpr index value_panels(index head_dim) { return (head_dim + nr - 1) / nr; }
  // Floats of one head's page: keys, then values.
  static constexpr index head_floats(index page_keys, index head_dim) {
    return page_keys * head_dim + value_panels(head_dim) * page_keys * nr;
  }
  static constexpr index value_offset(index page_keys, index head_dim) { return page_keys * head_dim; }

  // Key and value of one position into slot `slot` of a head's page.
  static void store(float* head_page, index page_keys, index head_dim, index slot, const float* key, const float* value) {
    float* kp = head_page + (slot / nr) * head_dim * nr + slot % nr;
    for (index d = 0; d < head_dim; ++d) kp[d * nr] = key[d];
    float* vp = head_page + value_offset(page_keys, head_dim) + slot * nr;
    const index panels = value_panels(head_dim);
    for (index c = 0; c < panels; ++c) {
      const index w = std::min(nr, head_dim - c * nr);
      std::memcpy(vp + c * page_keys * nr, value + c * nr, static_cast<std::size_t>(w) * sizeof(float));
      std::fill(vp + c * page_keys * nr + w, vp + c * page_keys * nr + nr, 0.0f);
    }
  }

  // Slots [0, count) of a head's page into another page (copy-on-write of a shared page).
  static void copy_slots(const float* from, float* to, index page_keys, index head_dim, index count) {
    const index key_panels = (count + nr - 1) / nr;  // whole panels: the tail is unused either way
    std::memcpy(to, from, static_cast<std::size_t>(key_panels * head_dim * nr) * sizeof(float));
    const index vo = value_offset(page_keys, head_dim);
    for (index c = 0; c < value_panels(head_dim); ++c)
      std::memcpy(to + vo + c * page_keys * nr, from + vo + c * page_keys * nr,
                  static_cast<std::size_t>(count * nr) * sizeof(float));
  }

  // Rows [0, count) of keys (row stride ldk) and values (ldv) into consecutive pages of
  // page_keys keys, each head_floats() apart; slots past count up to the page's end are zero.
  static void pack(const float* k, index ldk, const float* v, index ldv, index count, index page_keys, index head_dim,
                   float* dst) {
    const index pages = std::max<index>(1, (count + page_keys - 1) / page_keys);
    const index stride = head_floats(page_keys, head_dim);
    const index vpanels = value_panels(head_dim);
    for (index pg = 0; pg < pages; ++pg) {
      float* page = dst + pg * stride;
      const index j0 = pg * page_keys, n = std::clamp<index>(count - j0, 0, page_keys);
      // Keys: Kᵀ panels, NR keys at a time, in strips of the head dimension that stay in L1.
      for (index p = 0; p < page_keys / nr; ++p) {
        float* panel = page + p * head_dim * nr;
        const index w = std::clamp<index>(n - p * nr, 0, nr);
        for (index j = 0; j < w; ++j) {
          const float* src = k + (j0 + p * nr + j) * ldk;
          for (index d = 0; d < head_dim; d += 16) {  // rows a stride apart: fetch ahead of the copy
            __builtin_prefetch(src + nr * ldk + d);
            __builtin_prefetch(v + (j0 + p * nr + j + nr) * ldv + d);
          }
          for (index d = 0; d < head_dim; ++d) panel[d * nr + j] = src[d];
        }
        if (w < nr)
          for (index d = 0; d < head_dim; ++d) std::fill(panel + d * nr + w, panel + d * nr + nr, 0.0f);
      }
      float* vpage = page + value_offset(page_keys, head_dim);
      for (index c = 0; c < vpanels; ++c) {
        float* panel = vpage + c * page_keys * nr;
        const index w = std::min(nr, head_dim - c * nr);
        for (index j = 0; j < n; ++j) {
          std::memcpy(panel + j * nr, v + (j0 + j) * ldv + c * nr, static_cast<std::size_t>(w) * sizeof(float));
          if (w < nr) std::fill(panel + j * nr + w, panel + j * nr + nr, 0.0f);
        }
        std::fill(panel + n * nr, panel + page_keys * nr, 0.0f);
      }
    }
  }
};

namespace detail {

// Tile sizes of the online-softmax kernel. A block of query rows (of the heads that share
// one key/value head) meets keys one block at a time; its scores (rows × block keys, 56 KB)
// stay in L2 between the product that makes them, the softmax and the product that uses
// them. One page per block lets P·V run its tiles over all 512 keys at once: half the passes
// of its accumulators through memory and half the softmax corrections of 256-key blocks in
// 128-key pages (−3% for 1×2048×512 self-attention on one core, interleaved runs).
struct AttentionBlocking {
  index rows = 28;         // query rows per block: two micro-kernel row panels (AVX-512)
  index page_keys = 512;   // keys per page when the kernel packs keys itself
  index block_keys = 512;  // keys per softmax block (whole pages; at most a_stride)
};
inline AttentionBlocking& attention_blocking() {
  static AttentionBlocking b;
  return b;
}

inline constexpr float neg_inf = -std::numeric_limits<float>::infinity();

// The keys query t of item b may see: [0, limit).
inline index key_limit(const AttentionProblem& p, index b, index t) {
  index limit = p.kv_lengths ? std::clamp<index>(p.kv_lengths[b], 0, p.kv_len) : p.kv_len;
  if (p.causal) limit = std::min(limit, (p.q_offsets ? p.q_offsets[b] : 0) + t + 1);
  return std::max<index>(limit, 0);
}

// Scores s[0, n) of query (b, h, t) against keys [j0, j0 + n), with the element masks applied;
// additive masks count `unit` times (the tiled kernel's scores are in base-2 units).
inline void apply_masks(const ScoreMasks& m, index b, index h, index t, index j0, index n, float* s, float unit = 1.0f) {
  if (m.added) {
    const float* a = m.added + b * m.batch_stride + h * m.head_stride + t * m.row_stride + j0;
    for (index j = 0; j < n; ++j) s[j] += unit * a[j];
  }
  if (m.key_added) {
    const float* a = m.key_added + b * m.key_batch_stride + j0;
    for (index j = 0; j < n; ++j) s[j] += unit * a[j];
  }
  if (m.blocked) {
    const std::uint8_t* z = m.blocked + b * m.batch_stride + h * m.head_stride + t * m.row_stride + j0;
    for (index j = 0; j < n; ++j)
      if (z[j]) s[j] = neg_inf;
  }
  if (m.key_blocked) {
    const std::uint8_t* z = m.key_blocked + b * m.key_batch_stride + j0;
    for (index j = 0; j < n; ++j)
      if (z[j]) s[j] = neg_inf;
  }
}

// The row-wise half of the online softmax, over one block of scores in base-2 units (the
// queries carry the factor log2 e, so that e^x = 2^s):
//   m' = max(m, max_j s_j),  p_j = 2^{s_j − m'},  l' = l·2^{m − m'} + Σ p_j,
// p written over s; returns 2^{m − m'}, the factor the row's output accumulator needs.
// A row that has seen only −inf keeps m = −inf and l = 0 (its p are 0).
template <class A>
struct OnlineSoftmax {
  using F = xsimd::batch<float, A>;
  static constexpr index W = static_cast<index>(F::size);

  // 2^t for t ≤ 0: t = n + f with f ∈ [−½, ½], 2^f by a degree-5 polynomial (relative
  // error 1.8e-7 in float, fitted here), times 2^n; below −150 it is 0.
  static F exp2(F t) {
    t = xsimd::max(t, F(-150.0f));
    const F n = xsimd::nearbyint(t), f = t - n;
    static constexpr float c[] = {1.3264698209241033e-3f, 9.671509265899658e-3f, 5.550733953714371e-2f,
                                  2.4022242426872253e-1f, 6.931470036506653e-1f, 1.0f};
    return simd::detail::scale_pow2<A>(simd::detail::horner<A>(f, c), n, A{});
  }

  static float update(float* s, index n, float& m, float& l) {
    const float block_max = MathKernels<A>::reduce_max(s, n);
    if (std::isnan(block_max) || std::isnan(m)) {  // a NaN score: the row's output is NaN, as torch's
      m = l = std::numeric_limits<float>::quiet_NaN();
      std::fill_n(s, n, 0.0f);
      return 1.0f;
    }
    const float m_new = std::max(m, block_max);
    if (m_new == neg_inf) {  // nothing visible yet
      std::fill_n(s, n, 0.0f);
      return 1.0f;
    }
    const float correction = m == neg_inf ? 0.0f : std::exp2(m - m_new);
    const F mv(m_new);
    F sum0(0.0f), sum1(0.0f);
    index j = 0;
    for (; j + 2 * W <= n; j += 2 * W) {
      const F a = exp2(F::load_unaligned(s + j) - mv);
      const F c = exp2(F::load_unaligned(s + j + W) - mv);
      a.store_unaligned(s + j);
      c.store_unaligned(s + j + W);
      sum0 += a;
      sum1 += c;
    }
    for (; j < n; j += W) {
      const index k = std::min(W, n - j);
      const F x = k == W ? F::load_unaligned(s + j) : MathKernels<A>::load_partial(s + j, k, neg_inf);
      const F a = exp2(x - mv);
      sum0 += a;
      if (k == W)
        a.store_unaligned(s + j);
      else
        MathKernels<A>::store_partial(s + j, k, a);
    }
    l = l * correction + xsimd::hadd(sum0 + sum1);
    m = m_new;
    return correction;
  }
};

// One thread's scratch for the tiled kernel, carved from one slab.
struct AttentionScratch {
  float* packed = nullptr;  // one head's keys and values, when the kernel packs them
  float* q = nullptr;       // rows × a_stride: the block's queries, scaled
  float* s = nullptr;       // rows × a_stride: scores, then probabilities
  float* o = nullptr;       // rows × value width: output accumulators
  float* m = nullptr;       // running max per row
  float* l = nullptr;       // running sum per row
  index* limit = nullptr;   // visible keys per row
};

template <class Arch>
struct AttentionTiles {
  static constexpr index MR = KernelTraits<Arch>::mr;
  static constexpr index NR = KernelTraits<Arch>::nr;
  static constexpr index AS = KernelTraits<Arch>::a_stride;
  static constexpr float log2e = 1.44269504088896341f;
  using Layout = KvPageLayout<Arch>;
  using Math = xsimd::default_arch;

  // Where the keys of item b, head g live: page i's head block.
  struct Source {
    const float* base;
    const std::int32_t* table;  // null: pages consecutive from base
    index page_stride, head_offset, value_offset, page_keys;
    const float* page(index i) const {
      return base + (table ? static_cast<index>(table[i]) : i) * page_stride + head_offset;
    }
  };

  // Queries [t0, t0 + positions) of the heads [h0, h0 + group) of item b: rows in head-major
  // order (row r is head h0 + r / positions, position t0 + r % positions).
  static void block(const AttentionProblem& p, const Source& src, index b, index h0, index group, index t0,
                    index positions, const AttentionScratch& w) {
    const index dh = p.head_dim;
    const index rows = group * positions;
    const index vw = Layout::value_panels(dh) * NR;
    const index P = src.page_keys;
    const AttentionBlocking& blk = attention_blocking();
    const index pages_per_block = std::max<index>(1, std::min(blk.block_keys, AS) / P);

    index max_limit = 0;
    const float q_scale = p.scale * log2e;  // scores in base-2 units: e^x = 2^(x·log2 e)
    // The next block's queries (most often this thread's next item) arrive while this one computes.
    for (index r = 0; r < rows; ++r) {
      const index t = t0 + positions + r % positions;
      if (t < p.q_len)
        for (index d = 0; d < dh; d += 16) __builtin_prefetch(p.q + (b * p.q_len + t) * p.ldq + (h0 + r / positions) * dh + d);
    }
    for (index r = 0; r < rows; ++r) {
      const index h = h0 + r / positions, t = t0 + r % positions;
      MathKernels<Math>::scale(p.q + (b * p.q_len + t) * p.ldq + h * dh, q_scale, w.q + r * AS, dh);
      w.limit[r] = key_limit(p, b, t);
      max_limit = std::max(max_limit, w.limit[r]);
      w.m[r] = neg_inf;
      w.l[r] = 0.0f;
      std::fill_n(w.o + r * vw, vw, 0.0f);
    }
    const TileEpilogue write{1.0f, nullptr, nullptr, 0, Activation::none, true, true};
    const TileEpilogue accumulate{1.0f, nullptr, nullptr, 0, Activation::none, false, true};

    for (index page0 = 0; page0 * P < max_limit; page0 += pages_per_block) {
      const index j0 = page0 * P;
      const index keys = std::min(pages_per_block * P, max_limit - j0);  // this block's visible keys
      const index npages = (keys + P - 1) / P;
      // Scores: S[rows × keys] = Q·Kᵀ, page by page, NR keys per tile.
      for (index pg = 0; pg < npages; ++pg) {
        const float* kpage = src.page(page0 + pg);
        const index panels = (std::min(P, keys - pg * P) + NR - 1) / NR;
        for (index r0 = 0; r0 < rows; r0 += MR)
          for (index kp = 0; kp < panels; ++kp)
            tile<Arch>(std::min(MR, rows - r0), dh, w.q + r0 * AS, AS, kpage + kp * dh * NR,
                       w.s + r0 * AS + pg * P + kp * NR, AS, NR, write);
      }
      // Masks and the online softmax, row by row; corrections rescale the accumulators.
      for (index r = 0; r < rows; ++r) {
        float* s = w.s + r * AS;
        const index n = std::clamp<index>(w.limit[r] - j0, 0, keys);
        if (p.masks.any() && n > 0) apply_masks(p.masks, b, h0 + r / positions, t0 + r % positions, j0, n, s, log2e);
        const float correction = n > 0 ? OnlineSoftmax<Math>::update(s, n, w.m[r], w.l[r]) : 1.0f;
        std::fill(s + n, s + keys, 0.0f);
        if (correction != 1.0f) MathKernels<Math>::scale(w.o + r * vw, correction, w.o + r * vw, vw);
      }
      // Output: O += P·V, page by page.
      for (index pg = 0; pg < npages; ++pg) {
        const float* vpage = src.page(page0 + pg) + src.value_offset;
        const index kc = std::min(P, keys - pg * P);
        for (index r0 = 0; r0 < rows; r0 += MR)
          for (index c = 0; c * NR < vw; ++c)
            tile<Arch>(std::min(MR, rows - r0), kc, w.s + r0 * AS + pg * P, AS, vpage + c * P * NR,
                       w.o + r0 * vw + c * NR, vw, NR, accumulate);
      }
    }
    for (index r = 0; r < rows; ++r) {
      const index h = h0 + r / positions, t = t0 + r % positions;
      float* out = p.out + (b * p.q_len + t) * p.ldo + h * dh;
      // l = 0 (no visible key) gives 0·inf = NaN, as torch.
      MathKernels<Math>::scale(w.o + r * vw, 1.0f / w.l[r], out, dh);
    }
  }
};

// The number of query positions per block for `group` heads sharing keys.
inline index block_positions(index group, index q_len) {
  const index rows = attention_blocking().rows;
  return std::clamp<index>(rows / std::max<index>(group, 1), 1, std::max<index>(q_len, 1));
}

inline void check_problem(const AttentionProblem& p) {
  if (p.batch < 0 || p.q_len < 0 || p.kv_len < 0 || p.head_dim <= 0 || p.q_heads <= 0 || p.kv_heads <= 0 ||
      p.q_heads % p.kv_heads != 0)
    throw ShapeError("kernels::attention: bad sizes (batch " + std::to_string(p.batch) + ", heads " +
                     std::to_string(p.q_heads) + "/" + std::to_string(p.kv_heads) + ", head_dim " +
                     std::to_string(p.head_dim) + ", lengths " + std::to_string(p.q_len) + "/" + std::to_string(p.kv_len) + ")");
  constexpr index AS = KernelTraits<kernel_arch>::a_stride, NR = KernelTraits<kernel_arch>::nr;
  if (p.head_dim > AS)
    throw ShapeError("kernels::attention: head_dim " + std::to_string(p.head_dim) + " is more than " +
                     std::to_string(AS) + ", the most a query block row holds");
  if (p.paged && (p.paged->page_keys <= 0 || p.paged->page_keys % NR != 0 || p.paged->page_keys > AS))
    throw ShapeError("kernels::attention: pages of " + std::to_string(p.paged->page_keys) + " keys; a page holds a multiple of " +
                     std::to_string(NR) + " keys, at most " + std::to_string(AS));
}

}  // namespace detail

// The tiled online-softmax attention. Scratch from `ws` (given back before returning):
// per thread one head's packed keys and values (≈ 2·kv_len·head_dim floats; none for paged
// keys) and a few query blocks' worth of rows.
inline void attention(const AttentionProblem& p, Workspace& ws) {
  detail::check_problem(p);
  if (p.batch == 0 || p.q_len == 0) return;
  using Arch = detail::kernel_arch;
  using Tiles = detail::AttentionTiles<Arch>;
  using Layout = KvPageLayout<Arch>;
  constexpr index AS = Tiles::AS;
  const detail::AttentionBlocking& blk = detail::attention_blocking();

  const index dh = p.head_dim;
  const index group = p.q_heads / p.kv_heads;
  const index positions = detail::block_positions(group, p.q_len);
  const index rows = group * positions;
  const index q_blocks = (p.q_len + positions - 1) / positions;
  const index items = p.batch * p.kv_heads * q_blocks;

  // Pages this kernel packs itself: one head's keys in pages of page_keys (a multiple of NR).
  const index most_page = AS / Tiles::NR * Tiles::NR;
  const index own_page = std::clamp<index>(std::min(blk.page_keys, (p.kv_len + Tiles::NR - 1) / Tiles::NR * Tiles::NR),
                                           Tiles::NR, most_page) / Tiles::NR * Tiles::NR;
  const index pages = p.paged ? 0 : std::max<index>(1, (p.kv_len + own_page - 1) / own_page);
  const index packed_floats = p.paged ? 0 : checked_mul(pages, Layout::head_floats(own_page, dh), "kernels::attention");
  const index vw = Layout::value_panels(dh) * Tiles::NR;
  const index per_thread = checked_add(packed_floats, rows * (2 * AS + vw + 2) + 64, "kernels::attention");

  // Below ~4 MFLOP a parallel region costs more than it saves — unless the keys and values
  // to read reach a megabyte (a decoder step over a long cache: bound by memory).
  const double work = static_cast<double>(p.batch) * p.q_heads * p.q_len * std::max<index>(p.kv_len, 1) * dh;
  const double kv_bytes = 2.0 * sizeof(float) * static_cast<double>(p.batch) * p.kv_heads * p.kv_len * dh;
  const int threads = work < 1e6 && kv_bytes < (1 << 20) ? 1 : static_cast<int>(std::min<index>(num_threads(), items));
  const Workspace::Mark scratch = ws.mark();
  float* slab = ws.allocate<float>(checked_mul(per_thread, threads, "kernels::attention"));
  index* limits = ws.allocate<index>(checked_mul(rows, threads, "kernels::attention"));

  // Work is split by its cost (query rows × visible keys, so causal blocks weigh less);
  // each thread takes a contiguous run of items, which mostly share a head: its keys are
  // packed once per run.
  auto cost = [&](index item) {
    const index qb = item % q_blocks, b = item / (p.kv_heads * q_blocks);
    const index t_last = std::min(p.q_len, (qb + 1) * positions) - 1;
    return detail::key_limit(p, b, t_last) + 16;
  };
  index total = 0;
  if (threads > 1)
    for (index i = 0; i < items; ++i) total += cost(i);

  parallel_team(threads, [&](const Team& team) {
    float* mine = slab + team.rank() * per_thread;
    detail::AttentionScratch w;
    w.packed = mine;
    w.q = mine + packed_floats;
    w.s = w.q + rows * AS;
    w.o = w.s + rows * AS;
    w.m = w.o + rows * vw;
    w.l = w.m + rows;
    w.limit = limits + team.rank() * rows;

    index begin = 0, end = items;
    if (team.size() > 1) {
      // Items whose cost starts in this thread's share of the total.
      const index lo = total * team.rank() / team.size(), hi = total * (team.rank() + 1) / team.size();
      index acc = 0;
      begin = items, end = items;
      for (index i = 0; i < items; ++i) {
        if (acc >= lo && begin == items) begin = i;
        if (acc >= hi) {
          end = i;
          break;
        }
        acc += cost(i);
      }
      if (begin > end) begin = end;
    }
    index packed_item = -1;  // (b, g) whose keys are in w.packed
    for (index i = begin; i < end; ++i) {
      const index qb = i % q_blocks, g = (i / q_blocks) % p.kv_heads, b = i / (p.kv_heads * q_blocks);
      typename Tiles::Source src{};
      if (p.paged) {
        const KvPages& kv = *p.paged;
        src = {kv.pages, kv.page_table + b * kv.table_stride, kv.page_stride, g * kv.head_stride, kv.value_offset,
               kv.page_keys};
      } else {
        if (packed_item != b * p.kv_heads + g) {
          const index count = p.kv_lengths ? std::clamp<index>(p.kv_lengths[b], 0, p.kv_len) : p.kv_len;
          Layout::pack(p.k + b * p.kv_len * p.ldk + g * dh, p.ldk, p.v + b * p.kv_len * p.ldv + g * dh, p.ldv, count,
                       own_page, dh, w.packed);
          packed_item = b * p.kv_heads + g;
        }
        src = {w.packed, nullptr, Layout::head_floats(own_page, dh), 0, Layout::value_offset(own_page, dh), own_page};
      }
      const index t0 = qb * positions;
      Tiles::block(p, src, b, g * group, group, t0, std::min(positions, p.q_len - t0), w);
    }
  });
  ws.release(scratch);
}

// The same attention with the scores formed, one head at a time, and the probabilities
// written to `weights`: [batch, q_heads, q_len, kv_len] per head, or with `average` their
// mean over heads, [batch, q_len, kv_len]. Rows keys k and v only (no pages). Scratch: one
// head's scores (q_len × kv_len floats).
inline void attention_with_weights(const AttentionProblem& p, float* weights, bool average, Workspace& ws) {
  detail::check_problem(p);
  if (p.paged) throw Error("kernels::attention_with_weights: keys in pages are not supported; give rows");
  if (p.batch == 0 || p.q_len == 0) return;
  const index dh = p.head_dim, T = p.q_len, S = p.kv_len;
  const index group = p.q_heads / p.kv_heads;
  const Workspace::Mark scratch = ws.mark();
  float* scores = ws.allocate<float>(checked_mul(T, std::max<index>(S, 1), "kernels::attention_with_weights"));
  if (average) std::fill_n(weights, p.batch * T * S, 0.0f);
  const float inv_heads = 1.0f / static_cast<float>(p.q_heads);
  for (index b = 0; b < p.batch; ++b)
    for (index h = 0; h < p.q_heads; ++h) {
      const index g = h / group;
      const float* q = p.q + b * T * p.ldq + h * dh;
      const float* k = p.k + b * S * p.ldk + g * dh;
      const float* v = p.v + b * S * p.ldv + g * dh;
      float* probs = average ? scores : weights + ((b * p.q_heads + h) * T) * S;
      if (S > 0) gemm(Trans::no, Trans::yes, T, S, dh, q, p.ldq, k, p.ldk, probs, S, Epilogue{.alpha = p.scale});
      for (index t = 0; t < T; ++t) {
        float* row = probs + t * S;
        const index n = detail::key_limit(p, b, t);
        if (p.masks.any() && n > 0) detail::apply_masks(p.masks, b, h, t, 0, n, row);
        const float m = n > 0 ? reduce_max(row, n) : detail::neg_inf;
        if (m == detail::neg_inf || std::isnan(m)) {
          std::fill_n(row, S, std::numeric_limits<float>::quiet_NaN());  // torch: softmax of all −inf
          continue;
        }
        softmax(row, row, 1, n);
        std::fill(row + n, row + S, 0.0f);
      }
      float* out = p.out + b * T * p.ldo + h * dh;
      if (S > 0) {
        gemm(Trans::no, Trans::no, T, dh, S, probs, S, v, p.ldv, out, p.ldo);
      } else {
        for (index t = 0; t < T; ++t) std::fill_n(out + t * p.ldo, dh, std::numeric_limits<float>::quiet_NaN());
      }
      if (average) {
        float* avg = weights + b * T * S;
        for (index i = 0; i < T * S; ++i) avg[i] += probs[i] * inv_heads;
      }
    }
  ws.release(scratch);
}

}  // namespace mmm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
