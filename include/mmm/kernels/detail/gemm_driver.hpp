#pragma once
// The GEMM loop nest around the micro-kernel and its split over threads. Each thread owns
// a block of C (a range of B's column panels, or of rows when B is narrow) and runs:
//
//   for each block of KC depth          A's rows: read in place (row-major, rows not too
//                                       many 2 KB apart), or packed once per block in
//                                       panels of ≤MR rows (a memcpy per row) — by this
//                                       thread, or by a team that splits C by columns
//     for each block of NC columns      B block KC×NC: packed here, or given packed
//       for each row panel of ≤MR rows  the A panel MR×KC is read from L1/L2...
//         for each column panel of NR   ...while B's KC×NR panels stream past it
//           micro-kernel → C tile, epilogue fused while the tile is hot
//
// (With only a few row panels — small M — the two inner loops swap, so each B panel is
// used by every row panel while it is in L1.) Scratch (the packed A slice, the B block of
// an unpacked B) lives in thread-local buffers that only ever grow (a team's A in the
// calling thread's), so steady-state calls allocate nothing.

#include <algorithm>
#include <atomic>
#include <memory>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/detail/gemm_kernel.hpp"

namespace mmm::kernels::detail {

// Cache blocking, tuned on Zen 5 (48 KB L1d, 1 MB L2 per core) against oneDNN. A deep KC
// amortises each tile's read-modify-write of C: 1024 beat 512 by ~3% at 2048³ (and 512
// beat 384 by ~4%), although the A panel (MR·KC, 57 KB) then streams from L2 rather than
// staying in L1 — its lines are read at a sixth of B's rate. The B block (KC·NC, 512 KB)
// stays in half of L2; a block that fills L2 was 2–3% slower. Mutable for tests.
struct GemmBlocking {
  index kc = 1024;  // at most KernelTraits::a_stride
  index nc = 128;   // columns; rounded down to whole panels
};
// Up to this many row panels, the loop over them runs inside the loop over B panels.
inline constexpr index few_row_panels = 4;
inline GemmBlocking& gemm_blocking() {
  static GemmBlocking b;
  return b;
}

// Grows-only aligned buffers, one set per thread.
class GemmScratch {
 public:
  float* a(index count) { return grow(a_, a_cap_, count); }
  float* b(index count) { return grow(b_, b_cap_, count); }
  // The packed A a team of threads shares (in the scratch of the thread that called gemm),
  // and the state of each of its row panels, reset to zero.
  float* shared_a(index count) { return grow(shared_a_, shared_a_cap_, count); }
  std::atomic<int>* reset_panel_states(index count) {
    if (count > states_cap_) {
      states_ = std::make_unique<std::atomic<int>[]>(static_cast<std::size_t>(count));
      states_cap_ = count;
    }
    for (index i = 0; i < count; ++i) states_[static_cast<std::size_t>(i)].store(0, std::memory_order_relaxed);
    return states_.get();
  }

 private:
  static float* grow(AlignedArray<float>& buf, index& cap, index count) {
    if (count > cap) {
      buf = allocate_aligned<float>(count);
      cap = count;
    }
    return buf.get();
  }
  AlignedArray<float> a_, b_, shared_a_;
  std::unique_ptr<std::atomic<int>[]> states_;
  index a_cap_ = 0, b_cap_ = 0, shared_a_cap_ = 0, states_cap_ = 0;
};
inline GemmScratch& gemm_scratch() {
  thread_local GemmScratch s;
  return s;
}

// B as the driver sees it: either panels packed ahead of time (the whole depth k per
// panel, panel p at packed + p·k·NR) or a plain matrix packed block by block here.
struct OperandB {
  const float* packed = nullptr;
  const float* plain = nullptr;
  index ldb = 0;
  bool trans = false;  // plain only: stored n×k
};

struct ProductEpilogue {
  float alpha = 1.0f;
  const float* bias = nullptr;
  const float* residual = nullptr;
  index ld_residual = 0;
  Activation activation = Activation::none;
};

// Threads that split C by columns all read every row of A. Packed once between them, A
// costs each of T threads about 1/T of the packing instead of all of it. Each row panel is
// packed by whichever thread needs it first (the others wait for it, briefly) and threads
// start at different row panels, so they share the packing without waiting on each other
// as a barrier would (the thread woken last starts a few µs late). Depth blocks after the
// first begin with a barrier: nobody may overwrite the slot while another still reads it.
// state[rp] counts the depth block: 2·block is "not yet packed", +1 packing, +2 ready.
// Teams are formed only for more than few_row_panels row panels, so only the loop over
// many rows meets an unpacked panel.
struct SharedA {
  const Team* team = nullptr;
  float* slot = nullptr;
  std::atomic<int>* state = nullptr;  // one per row panel, 0 before the first block
};

// Rows of A a multiple of this many floats (2 KB) apart put a panel's MR rows in at most
// two sets of L1 (12 ways, B's lines too): the kernel ran 5–11% slower on them.
inline constexpr index crowding_lda = 512;

// Whether the kernel reads A where it is: a row-major A (packing it cost ~3.5% at 256³)
// whose rows do not crowd L1 sets; everything else is packed at a_stride.
inline bool a_in_place(bool ta, index lda, index k) {
  return a_stride_at_run_time && !ta && k > 0 && lda % crowding_lda != 0;
}

// One thread's share: rows [r0, r1) × panels [p0, p1) of C. With `shared`, every member of
// the team calls this with the same rows (and possibly no columns), and the members pack A
// together.
template <class Arch>
void gemm_part(index r0, index r1, index p0, index p1, index n, index k, bool ta, const float* a, index lda,
               const OperandB& bop, float* c, index ldc, const ProductEpilogue& ep, const SharedA* shared = nullptr) {
  constexpr index MR = KernelTraits<Arch>::mr;
  constexpr index NR = KernelTraits<Arch>::nr;
  const GemmBlocking& blk = gemm_blocking();
  constexpr index AS = KernelTraits<Arch>::a_stride;
  const index kcb = std::max<index>(1, std::min({blk.kc, AS, k}));
  const index ncp = std::max<index>(1, blk.nc / NR);  // panels per column block

  // Row panels of balanced height (16 rows → 8+8, not 14+2) keep every tile efficient.
  const index rows_total = r1 - r0;
  const index row_panels = (rows_total + MR - 1) / MR;
  const index base_rows = rows_total / row_panels, extra_rows = rows_total % row_panels;
  auto panel_offset = [&](index rp) { return rp * base_rows + std::min(rp, extra_rows); };  // from r0
  auto panel_rows = [&](index rp) { return base_rows + (rp < extra_rows ? 1 : 0); };

  const bool in_place = a_in_place(ta, lda, k) && !shared;
  const index a_ld = in_place ? lda : AS;
  GemmScratch& scratch = gemm_scratch();
  float* a_buf = in_place ? nullptr : shared ? shared->slot : scratch.a(row_panels * MR * AS);
  float* b_buf = bop.packed || p0 >= p1 ? nullptr : scratch.b(std::min(ncp, p1 - p0) * NR * kcb);
  // Team members walk the row panels from different starting points (see SharedA).
  const index first_panel = shared ? row_panels * shared->team->rank() / shared->team->size() : 0;

  for (index pc = 0, block = 0; pc == 0 || pc < k; pc += kcb, ++block) {
    const index kc = std::min(kcb, k - pc);
    // The depth slice of these rows of A, packed once and reused by every column block:
    // the panel of rows i0.. sits at a_buf + (i0 - r0)·AS.
    auto pack_panel = [&](index rp) {
      const index i0 = r0 + panel_offset(rp);
      pack_a(ta, panel_rows(rp), kc, ta ? a + pc * lda + i0 : a + i0 * lda + pc, lda, a_buf + (i0 - r0) * AS, AS);
    };
    const float* a_panels = in_place ? a + r0 * lda + pc : a_buf;
    auto ensure_packed = [&](index rp) {
      if (!shared) return;
      std::atomic<int>& st = shared->state[rp];
      const int before = static_cast<int>(2 * block), ready = before + 2;
      int expected = before;
      if (st.load(std::memory_order_acquire) == ready) return;
      if (st.compare_exchange_strong(expected, before + 1, std::memory_order_acquire)) {
        pack_panel(rp);
        st.store(ready, std::memory_order_release);
      } else {
        spin_until([&] { return st.load(std::memory_order_acquire) == ready; });
      }
    };
    if (shared) {
      if (block > 0) shared->team->barrier();
    } else if (!in_place) {
      for (index rp = 0; rp < row_panels; ++rp) pack_panel(rp);
    }
    TileEpilogue te{ep.alpha, nullptr, nullptr, ep.ld_residual, ep.activation, pc == 0, pc + kc >= k};
    for (index pj = p0; pj < p1; pj += ncp) {
      const index pe = std::min(p1, pj + ncp);
      const index col_begin = pj * NR, col_end = std::min(n, pe * NR);
      const float* b_block;
      index panel_stride;
      if (bop.packed) {
        b_block = bop.packed + pj * k * NR + pc * NR;
        panel_stride = k * NR;
      } else {
        const float* src = bop.trans ? bop.plain + col_begin * bop.ldb + pc : bop.plain + pc * bop.ldb + col_begin;
        pack_b<Arch>(bop.trans, kc, col_end - col_begin, src, bop.ldb, b_buf, kc * NR);
        b_block = b_buf;
        panel_stride = kc * NR;
      }
      auto run_tile = [&](index rp, index p, TilePrefetch next) {
        const index i0 = r0 + panel_offset(rp);
        const index col0 = p * NR;
        te.bias = ep.bias ? ep.bias + col0 : nullptr;
        te.residual = ep.residual ? ep.residual + i0 * ep.ld_residual + col0 : nullptr;
        tile<Arch>(panel_rows(rp), kc, a_panels + (i0 - r0) * a_ld, a_ld, b_block + (p - pj) * panel_stride,
                   c + i0 * ldc + col0, ldc, std::min(NR, n - col0), te, next);
      };
      // Weights packed ahead of time come from memory (or L3) on their first use in a call:
      // the first tile of each B panel prefetches the next panel into L2.
      auto next_b = [&](index p) -> const float* {
        if (!bop.packed) return nullptr;
        if (p + 1 < pe) return b_block + (p + 1 - pj) * panel_stride;
        return pe < p1 ? bop.packed + pe * k * NR + pc * NR : nullptr;
      };
      if (row_panels <= few_row_panels) {
        // Few rows (a Linear layer on a short sequence): every row panel uses a B panel
        // while it is still in L1.
        for (index p = pj; p < pe; ++p)
          for (index rp = 0; rp < row_panels; ++rp) run_tile(rp, p, {nullptr, 0, rp == 0 ? next_b(p) : nullptr});
      } else {
        // The packed A slice of many rows outgrows L2: the last tile of each row panel
        // prefetches the next one (the first of the next column block after the last).
        for (index t = 0; t < row_panels; ++t) {
          const index rp = (first_panel + t) % row_panels;
          const index next = t + 1 < row_panels ? (rp + 1) % row_panels : (pe < p1 ? first_panel : -1);
          const float* next_a = next < 0 ? nullptr : a_panels + panel_offset(next) * a_ld;
          const index next_rows = next < 0 ? 0 : panel_rows(next);
          ensure_packed(rp);
          for (index p = pj; p < pe; ++p)
            run_tile(rp, p, {p + 1 == pe ? next_a : nullptr, next_rows, t == 0 ? next_b(p) : nullptr});
        }
      }
    }
  }
}

// C[m×n] = epilogue(op(A)[m×k] · B), split over up to num_threads() threads.
template <class Arch>
void gemm_run(index m, index n, index k, bool ta, const float* a, index lda, const OperandB& bop, float* c,
              index ldc, const ProductEpilogue& ep) {
  if (m <= 0 || n <= 0) return;
  constexpr index MR = KernelTraits<Arch>::mr;
  constexpr index NR = KernelTraits<Arch>::nr;
  const index panels = (n + NR - 1) / NR;
  const index row_panels = (m + MR - 1) / MR;

  // Below ~2 MFLOP (a few µs on one core) a parallel region costs more than it saves,
  // unless the product streams a megabyte or more of packed weights for a few rows (a
  // decoder step's projections): that is bound by memory, and threads add bandwidth.
  index threads = num_threads();
  const bool streams_weights = bop.packed && row_panels <= few_row_panels &&
                               static_cast<double>(n) * static_cast<double>(k) * sizeof(float) >= (1 << 20);
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(std::max<index>(k, 1)) < 1e6 &&
      !streams_weights)
    threads = 1;
  threads = std::min(threads, panels * row_panels);
  if (threads <= 1) {
    gemm_part<Arch>(0, m, 0, panels, n, k, ta, a, lda, bop, c, ldc, ep);
    return;
  }
  // Split columns when there are enough panels (each thread then streams only its part of
  // B, which is what small-M products are bound by); otherwise split rows.
  index tn = threads, tm = 1;
  if (panels < 2 * threads && row_panels >= 2 * threads) {
    tn = 1;
    tm = threads;
  } else if (panels < threads) {
    tn = panels;
    tm = threads / panels;
  }
  if (tm == 1 && row_panels > few_row_panels && !a_in_place(ta, lda, k)) {
    // Columns split, many rows: the team packs A once, together.
    GemmScratch& scratch = gemm_scratch();
    float* slot = scratch.shared_a(row_panels * MR * KernelTraits<Arch>::a_stride);
    std::atomic<int>* state = scratch.reset_panel_states(row_panels);
    parallel_team(static_cast<int>(tn), [&](const Team& team) {
      const SharedA shared{&team, slot, state};
      const index p0 = panels * team.rank() / team.size(), p1 = panels * (team.rank() + 1) / team.size();
      gemm_part<Arch>(0, m, p0, p1, n, k, ta, a, lda, bop, c, ldc, ep, &shared);
    });
    return;
  }
  const index parts = tn * tm;
  parallel_for(parts, 1, [&](index begin, index end) {
    for (index t = begin; t < end; ++t) {
      const index ti = t / tn, tj = t % tn;
      const index p0 = panels * tj / tn, p1 = panels * (tj + 1) / tn;
      const index r0 = std::min(m, row_panels * ti / tm * MR), r1 = std::min(m, row_panels * (ti + 1) / tm * MR);
      if (p0 < p1 && r0 < r1) gemm_part<Arch>(r0, r1, p0, p1, n, k, ta, a, lda, bop, c, ldc, ep);
    }
  });
}

// B packed once for Arch's kernel: panels of NR columns, each k×NR, zero-padded past n.
template <class Arch>
class PackedPanels {
 public:
  static constexpr index nr = KernelTraits<Arch>::nr;
  PackedPanels() = default;
  // trans = false: b is k×n (ldb ≥ n); true: b is n×k (ldb ≥ k), i.e. a Linear weight.
  PackedPanels(bool trans, const float* b, index k, index n, index ldb) : n_(n), k_(k) {
    if (n < 0 || k < 0) throw ShapeError("gemm: cannot pack weights with negative sizes");
    const index panels = (n + nr - 1) / nr;
    data_ = allocate_aligned<float>(std::max<index>(1, panels * k * nr));
    if (k > 0 && n > 0) pack_b<Arch>(trans, k, n, b, ldb, data_.get(), k * nr);
  }
  index n() const noexcept { return n_; }
  index k() const noexcept { return k_; }
  bool empty() const noexcept { return !data_; }
  const float* data() const noexcept { return data_.get(); }

 private:
  index n_ = 0, k_ = 0;
  AlignedArray<float> data_;
};

}  // namespace mmm::kernels::detail
