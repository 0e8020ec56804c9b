#pragma once
// The kernels of LSTM, GRU and RNN layers: one layer (every direction) over a sequence, and
// one frame of a stream. torch's equations, per step t and batch row:
//
//   LSTM  i, f, g, o = σ, σ, tanh, σ (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)   (gate rows i|f|g|o)
//         c' = f⊙c + i⊙g,  h' = o⊙tanh(c')   (with proj_size: h' = (o⊙tanh(c'))·W_hrᵀ)
//   GRU   r, z = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr), σ(… z …)                 (rows r|z|n)
//         n = tanh(x·W_inᵀ + b_in + r⊙(h·W_hnᵀ + b_hn)),  h' = (1 − z)⊙n + z⊙h
//   RNN   h' = tanh or relu (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
//
// How it is computed. The input part of every step of a layer is one GEMM before the
// recurrence (x·W_ihᵀ + biases for all T·N rows: `gx`). Its columns, like the recurrent
// weights', are in the *step layout*: a group of registers holds every gate of the same
// units (an LSTM group is i, f, g, o of 16 units with AVX-512), so one tile of the
// recurrent product ends with all the gates of its units in registers, and the gate math
// and the state update run right there — no gate buffer, one pass over W_hh per step.
// Each thread owns the same groups (the same slice of W_hh) at every step, so its slice
// stays in its own caches; all threads live in one parallel region for the whole
// sequence and meet at a spin barrier after each step (no wake-up per step, whether
// OpenMP waits actively or passively). A batch row whose sequence has ended takes no more
// steps (packed-sequence semantics: its state stays at its last step, the reverse
// direction starts at its own last step).
//
// Streaming one frame of a small model (real-time audio: hidden 8–128, one sample at a
// time) skips the GEMM call and the threads (`Frame`): the input part of each group is
// summed right beside its recurrent tile, in the same order as the GEMM sums it for a
// whole sequence, so both give the same bits.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/gate_math.hpp"
#include "mmm/kernels/detail/grouped_tile.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/kernels/gemm_grouped.hpp"
#include "mmm/kernels/grouped_weights.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels {

// Where one batch row's step reads and writes.
struct StepRow {
  const float* h = nullptr;   // h_{t-1}
  const float* gx = nullptr;  // this step's input gates, step layout (null in a Frame)
  float* c = nullptr;         // LSTM: the cell state, updated in place
  float* out = nullptr;       // h_t (LSTM with a projection: o⊙tanh(c), before W_hr)
};

// ---- The cells: their step layout and their gate math, on one group of registers. ----
// vectors: registers per group; unit(g, v, lane): the hidden unit of that column; gate(v):
// which of torch's gate row blocks it is. finish() gets, per register, the input part gx
// (biases folded in) and the recurrent product gh, and writes the row's new state.

struct LstmCell {
  static constexpr const char* name = "LSTM";
  static constexpr int gates = 4, vectors = 4;
  static constexpr bool has_cell = true;
  static constexpr index group_units = GroupedWeights::lanes;
  static constexpr index unit(index g, int, index lane) { return g * group_units + lane; }
  static constexpr int gate(int v) { return v; }
  static constexpr bool folds_recurrent_bias(int) { return true; }
  // The σ gates' weights and biases are stored halved (see gate_sigmoid_of_double).
  static constexpr bool halved(int gate) { return gate != 2; }

  template <class A>
  [[gnu::always_inline]] static void finish(const detail::Floats<A> (&gx)[4], const detail::Floats<A> (&gh)[4],
                                            const StepRow& row, index g, index hidden, const float*) {
    const index u0 = g * group_units;
    detail::store_first<A>(row.out + u0, hidden - u0, update<A>(gx, gh, row, u0, hidden - u0, nullptr));
  }
  // The same for the `valid` units from u0 in one register of each gate (any width): stores
  // their c, returns their h.
  template <class A>
  [[gnu::always_inline]] static detail::Floats<A> update(const detail::Floats<A> (&gx)[4], const detail::Floats<A> (&gh)[4],
                                            const StepRow& row, index u0, index valid, const float*) {
    using F = detail::Floats<A>;
    const F i = detail::gate_sigmoid_of_double<A>(gx[0] + gh[0]);
    const F f = detail::gate_sigmoid_of_double<A>(gx[1] + gh[1]);
    const F n = detail::gate_tanh<A>(gx[2] + gh[2]);
    const F o = detail::gate_sigmoid_of_double<A>(gx[3] + gh[3]);
    const F c = detail::Simd<A>::fma(f, detail::load_first<A>(row.c + u0, valid), i * n);
    detail::store_first<A>(row.c + u0, valid, c);
    return o * detail::gate_tanh<A>(c);
  }
};

struct GruCell {
  static constexpr const char* name = "GRU";
  static constexpr int gates = 3, vectors = 3;
  static constexpr bool has_cell = false;
  static constexpr index group_units = GroupedWeights::lanes;
  static constexpr index unit(index g, int, index lane) { return g * group_units + lane; }
  static constexpr int gate(int v) { return v; }
  // b_hn stays inside r⊙(h·W_hnᵀ + b_hn); b_hr and b_hz fold into the input part.
  static constexpr bool folds_recurrent_bias(int gate) { return gate < 2; }
  static constexpr bool halved(int gate) { return gate < 2; }  // r and z: σ

  template <class A>
  [[gnu::always_inline]] static void finish(const detail::Floats<A> (&gx)[3], const detail::Floats<A> (&gh)[3],
                                            const StepRow& row, index g, index hidden, const float* bias_hn) {
    constexpr index W = GroupedWeights::lanes;
    const index u0 = g * group_units;
    detail::store_first<A>(row.out + u0, hidden - u0, update<A>(gx, gh, row, u0, hidden - u0, bias_hn + g * 3 * W + 2 * W));
  }
  // The same for the `valid` units from u0 in one register of each gate (any width), b_hn
  // the n gate's b_hn of those units: returns their h.
  template <class A>
  [[gnu::always_inline]] static detail::Floats<A> update(const detail::Floats<A> (&gx)[3], const detail::Floats<A> (&gh)[3],
                                            const StepRow& row, index u0, index valid, const float* b_hn) {
    using F = detail::Floats<A>;
    const F r = detail::gate_sigmoid_of_double<A>(gx[0] + gh[0]);
    const F z = detail::gate_sigmoid_of_double<A>(gx[1] + gh[1]);
    const F n = detail::gate_tanh<A>(detail::Simd<A>::fma(r, gh[2] + F::load_unaligned(b_hn), gx[2]));
    const F h = detail::load_first<A>(row.h + u0, valid);
    return detail::Simd<A>::fma(z, h - n, n);
  }
};

template <Activation Act>
struct RnnCell {
  static_assert(Act == Activation::tanh || Act == Activation::relu, "RNN's nonlinearity is tanh or relu");
  static constexpr const char* name = "RNN";
  static constexpr int gates = 1, vectors = 4;
  static constexpr bool has_cell = false;
  static constexpr index group_units = 4 * GroupedWeights::lanes;
  static constexpr index unit(index g, int v, index lane) { return (g * 4 + v) * GroupedWeights::lanes + lane; }
  static constexpr int gate(int) { return 0; }
  static constexpr bool folds_recurrent_bias(int) { return true; }
  static constexpr bool halved(int) { return false; }

  template <class A>
  [[gnu::always_inline]] static void finish(const detail::Floats<A> (&gx)[4], const detail::Floats<A> (&gh)[4],
                                            const StepRow& row, index g, index hidden, const float*) {
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      const index u0 = unit(g, v, 0);
      if (u0 >= hidden) break;
      const auto pre = gx[v] + gh[v];
      detail::store_first<A>(row.out + u0, hidden - u0, Act == Activation::tanh ? detail::gate_tanh<A>(pre) : simd::relu<A>(pre));
    }
  }
};

// ---- One direction of one layer, packed for the kernels. ----

// torch's tensors of one layer and direction (row-major, as in its state_dict).
struct RecurrentSource {
  const float* w_ih = nullptr;  // [gates·hidden, in]
  const float* w_hh = nullptr;  // [gates·hidden, state]
  const float* b_ih = nullptr;  // [gates·hidden] or null (bias=False)
  const float* b_hh = nullptr;
  const float* w_hr = nullptr;  // LSTM proj_size: [state, hidden], else null
  bool fixed_frames = false;    // the layer steps by run_fixed_frame: pack its frame weights
};

// Which of the tuning below applies: mutable for tests, which make small layers use threads.
struct RecurrentTuning {
  // A layer's step uses a team of threads only from this many multiply-adds per step: below,
  // the barrier (~0.1–0.3 µs between two cores) costs more than the split saves.
  index min_team_macs = index{1} << 17;
};
inline RecurrentTuning& recurrent_tuning() {
  static RecurrentTuning t;
  return t;
}

// A layer's weights in groups of L units (each group V registers of L lanes, one per
// gate), for run_fixed_frame: group g's input part at input + g·in·V·L ([in][V][L], depth-
// major), its recurrent part at recurrent + g·state·V·L, its biases at bias_x + g·V·L and
// bias_hn + g·V·L ([V][L]). The same values as the step layout, only the width differs.
struct FrameWeights {
  const float* input = nullptr;
  const float* recurrent = nullptr;
  const float* bias_x = nullptr;
  const float* bias_hn = nullptr;
};

// Lanes per group of a fixed-size frame: 8 or the register width, whichever pads fewer of
// the hidden units (the wider on a tie). A hidden size of 8, 24 or 40 takes 8-float
// registers: no padded lanes (on Zen 4 two 8-float FMAs cost what one 16-float FMA does).
constexpr index frame_lanes(index hidden) {
  constexpr index wide = GroupedWeights::lanes;
  if (wide <= 8) return wide;
  const index pad_wide = (wide - hidden % wide) % wide, pad_narrow = (8 - hidden % 8) % 8;
  return pad_narrow < pad_wide ? 8 : wide;
}

template <class Cell, WeightType Type>
class RecurrentWeights {
 public:
  static constexpr int vectors = Cell::vectors;
  static constexpr index lanes = GroupedWeights::lanes;

  RecurrentWeights() = default;

  // `state` is the size of h (hidden, or the LSTM's proj_size).
  RecurrentWeights(index in, index hidden, index state, const RecurrentSource& s)
      : in_(in), hidden_(hidden), state_(state) {
    constexpr WeightType type = Type;
    groups_ = (hidden + Cell::group_units - 1) / Cell::group_units;
    width_ = groups_ * vectors * lanes;
    auto row_of = [hidden](index g, int v, index l) -> index {
      const index u = Cell::unit(g, v, l);
      return u < hidden ? Cell::gate(v) * hidden + u : -1;
    };
    auto scale_of = [](index, int v, index) { return Cell::halved(Cell::gate(v)) ? 0.5f : 1.0f; };
    recurrent_ = GroupedWeights(type, s.w_hh, state, state, groups_, vectors, row_of, scale_of);
    input_ = GroupedWeights(type, s.w_ih, in, in, groups_, vectors, row_of, scale_of);
    bias_x_ = allocate_aligned<float>(width_);
    bias_hn_ = allocate_aligned<float>(width_);
    // The biases of gate row `row` (−1: padding) in register v: folded into the input part,
    // and b_hn (GRU), kept apart.
    auto bias_of = [&s](index row, int v) {
      const float b_ih = row >= 0 && s.b_ih ? s.b_ih[row] : 0.0f;
      const float b_hh = row >= 0 && s.b_hh ? s.b_hh[row] : 0.0f;
      const bool folds = Cell::folds_recurrent_bias(Cell::gate(v));
      const float scale = Cell::halved(Cell::gate(v)) ? 0.5f : 1.0f;
      return std::pair<float, float>{(b_ih + (folds ? b_hh : 0.0f)) * scale, folds ? 0.0f : b_hh};
    };
    for (index col = 0; col < width_; ++col) {
      const int v = static_cast<int>(col / lanes % vectors);
      std::tie(bias_x_[col], bias_hn_[col]) = bias_of(row_of(col / (vectors * lanes), v, col % lanes), v);
    }
    if (s.w_hr) projection_ = pack_grouped(type, s.w_hr, state, hidden, hidden);
    // A fixed-size frame (run_fixed_frame) in groups of frame_lanes(hidden) units: the packing
    // above when that is the register width, else a copy in narrower groups.
    frame_lanes_ = frame_lanes(hidden);
    if (s.fixed_frames && Type == WeightType::f32 && Cell::gates == vectors && !s.w_hr && frame_lanes_ != lanes) {
      const index L = frame_lanes_, ng = (hidden + L - 1) / L, gw = vectors * L;
      narrow_ = allocate_aligned<float>(checked_mul(checked_mul(ng, gw, "LSTM weights"), in + state + 2, "LSTM weights"));
      float* input = narrow_.get();
      float* recurrent = input + ng * in * gw;
      float* bias_x = recurrent + ng * state * gw;
      float* bias_hn = bias_x + ng * gw;
      for (index g = 0; g < ng; ++g)
        for (int v = 0; v < vectors; ++v)
          for (index l = 0; l < L; ++l) {
            const index u = g * L + l, row = u < hidden ? Cell::gate(v) * hidden + u : -1;
            const float scale = scale_of(g, v, l);
            for (index d = 0; d < in; ++d) input[(g * in + d) * gw + v * L + l] = row < 0 ? 0.0f : s.w_ih[row * in + d] * scale;
            for (index d = 0; d < state; ++d)
              recurrent[(g * state + d) * gw + v * L + l] = row < 0 ? 0.0f : s.w_hh[row * state + d] * scale;
            std::tie(bias_x[g * gw + v * L + l], bias_hn[g * gw + v * L + l]) = bias_of(row, v);
          }
      frame_ = {input, recurrent, bias_x, bias_hn};
    } else if (Type == WeightType::f32) {
      frame_ = {input_.f32_group(0), recurrent_.f32_group(0), bias_x_.get(), bias_hn_.get()};
    }
  }

  static constexpr WeightType type() noexcept { return Type; }
  index in() const noexcept { return in_; }
  index hidden() const noexcept { return hidden_; }
  index state() const noexcept { return state_; }
  index groups() const noexcept { return groups_; }
  // Columns of a row of input gates (gx): the step layout, padded to whole groups.
  index width() const noexcept { return width_; }
  bool has_projection() const noexcept { return !projection_.empty(); }

  // gx[rows × width] = x[rows × in] (ldx) · W_ihᵀ + the folded biases: one GEMM for every
  // step of a layer. gemm_grouped rather than kernels::gemm, whose order of summation
  // depends on how many rows a tile has: a row's gates must not depend on how many rows
  // were computed with it (one frame or the whole sequence).
  void input_gates(index rows, const float* x, index ldx, float* gx) const {
    detail::gemm_grouped_checked<detail::product_for(Type)>(rows, x, ldx, input_, width_, gx, width_, bias_x_.get(),
                                                            Activation::none);
  }

  const GroupedWeights& recurrent() const noexcept { return recurrent_; }
  const GroupedWeights& input() const noexcept { return input_; }
  const GroupedWeights& projection() const noexcept { return projection_; }
  const float* bias_x() const noexcept { return bias_x_.get(); }
  const float* bias_hn() const noexcept { return bias_hn_.get(); }
  // float32 LSTM and GRU without a projection: the weights in groups of frame_lanes(hidden).
  const FrameWeights& frame() const noexcept { return frame_; }

 private:
  index in_ = 0, hidden_ = 0, state_ = 0, groups_ = 0, width_ = 0, frame_lanes_ = 0;
  GroupedWeights input_, recurrent_, projection_;
  AlignedArray<float> bias_x_, bias_hn_, narrow_;
  FrameWeights frame_;
};

// ---- A layer over a whole sequence. ----

template <class Cell, WeightType Type>
struct RecurrentDirection {
  const RecurrentWeights<Cell, Type>* weights = nullptr;
  const float* gx = nullptr;   // input gates of row b, step t at gx + (b·steps + t)·width
  float* out = nullptr;        // h_t of row b, step t at out + b·out_item + t·out_step
  index out_item = 0, out_step = 0;
  const float* h0 = nullptr;   // h_{-1} of row b at h0 + b·state; null: zeros
  float* c = nullptr;          // LSTM: c of row b at c + b·hidden, updated in place from c_{-1}
  bool reverse = false;
};

template <class Cell, WeightType Type>
struct Recurrence {
  index batch = 0, steps = 0;
  const std::int32_t* lengths = nullptr;  // steps of each row, in [0, steps]; null: all
  int directions = 1;
  RecurrentDirection<Cell, Type> dir[2];
};

namespace detail {

// The gate math of one row and group, out of line: it runs once per group and step, after
// the whole depth, and inlining it into every tile shape would multiply the code.
template <class A, class Cell>
[[gnu::noinline]] void finish_row(const Floats<A>* gx, const Floats<A>* gh, const StepRow& row, index g, index hidden,
                                  const float* bias_hn) {
  constexpr int V = Cell::vectors;
  Floats<A> x[V], h[V];
  for (int v = 0; v < V; ++v) x[v] = gx[v], h[v] = gh[v];
  Cell::template finish<A>(x, h, row, g, hidden, bias_hn);
}

template <class A, class Cell, WeightType Type>
void run_recurrence_with(const Recurrence<Cell, Type>& rec, Workspace& ws) {
  constexpr Product P = product_for(Type);
  using Op = Operand<P>;
  constexpr int V = Cell::vectors;
  constexpr int PV = plain_group_vectors;
  constexpr index W = GroupedWeights::lanes;
  const RecurrentWeights<Cell, Type>& w0 = *rec.dir[0].weights;
  const index batch = rec.batch, steps = rec.steps, hidden = w0.hidden(), state = w0.state();
  const int dirs = rec.directions;
  const bool proj = w0.has_projection();
  const index groups = w0.groups();
  const index proj_groups = proj ? w0.projection().groups() : 0;

  const double macs = static_cast<double>(dirs) * static_cast<double>(batch) * static_cast<double>(w0.width()) *
                      static_cast<double>(state + (proj ? hidden : 0));
  int threads = macs >= static_cast<double>(recurrent_tuning().min_team_macs) ? num_threads() : 1;
  threads = static_cast<int>(std::min<index>(threads, groups));

  // Scratch, all taken before the parallel region: per thread and direction, the rows of a
  // step, their operands (bfloat16 pairs of h, or pointers to h) and the projection's rows.
  const index op_len = (operand_length(P, std::max(state, proj ? hidden : 0)) + 15) / 16 * 16;
  const index slots = checked_mul(checked_mul(threads, dirs, "LSTM scratch"), batch, "LSTM scratch");
  StepRow* rows_all = ws.allocate<StepRow>(slots);
  const Op** ops_all = ws.allocate<const Op*>(slots);
  float** proj_out_all = ws.allocate<float*>(slots);
  std::uint32_t* pairs_all = P == Product::bf16_dot ? ws.allocate<std::uint32_t>(checked_mul(slots, op_len, "LSTM scratch")) : nullptr;
  float* zeros = ws.allocate<float>(std::max<index>(state, 1));
  std::fill_n(zeros, std::max<index>(state, 1), 0.0f);
  float* m_all = proj ? ws.allocate<float>(checked_mul(checked_mul(dirs, batch, "LSTM scratch"), hidden, "LSTM scratch")) : nullptr;

  SpinBarrier barrier;
  parallel_team(threads, [&](const Team& team) {
    const int rank = team.rank(), size = team.size();
    const index g0 = groups * rank / size, g1 = groups * (rank + 1) / size;
    const index p0 = proj_groups * rank / size, p1 = proj_groups * (rank + 1) / size;
    index active[2] = {0, 0};
    for (index s = 0; s < steps; ++s) {
      for (int d = 0; d < dirs; ++d) {
        const RecurrentDirection<Cell, Type>& dir = rec.dir[d];
        const RecurrentWeights<Cell, Type>& w = *dir.weights;
        const index slot = (static_cast<index>(rank) * dirs + d) * batch;
        StepRow* rows = rows_all + slot;
        const Op** ops = ops_all + slot;
        float** proj_out = proj_out_all + slot;
        index n = 0;
        for (index b = 0; b < batch; ++b) {
          const index len = rec.lengths ? rec.lengths[b] : steps;
          if (s >= len) continue;
          const index t = dir.reverse ? len - 1 - s : s;
          StepRow& row = rows[n];
          row.h = s == 0 ? (dir.h0 ? dir.h0 + b * state : zeros) : dir.out + b * dir.out_item + (dir.reverse ? t + 1 : t - 1) * dir.out_step;
          row.gx = dir.gx + (b * steps + t) * w.width();
          row.c = Cell::has_cell ? dir.c + b * hidden : nullptr;
          float* h_out = dir.out + b * dir.out_item + t * dir.out_step;
          row.out = proj ? m_all + (d * batch + b) * hidden : h_out;
          proj_out[n] = h_out;
          if constexpr (P == Product::bf16_dot) {
            std::uint32_t* pairs = pairs_all + (slot + n) * op_len;
            to_bf16_pairs(row.h, state, pairs);
            ops[n] = pairs;
          } else {
            ops[n] = row.h;
          }
          ++n;
        }
        active[d] = n;
        for_each_tile<A, P, V>(n, ops, w.recurrent(), g0, g1, [&](auto& tile, index i0, index g) {
          using Tile = std::remove_cvref_t<decltype(tile)>;
#pragma GCC unroll 8
          for (int r = 0; r < Tile::rows; ++r)
#pragma GCC unroll 4
            for (int j = 0; j < Tile::groups; ++j) {
              const StepRow& row = rows[i0 + r];
              Floats<A> gx[V];
#pragma GCC unroll 4
              for (int v = 0; v < V; ++v) gx[v] = Floats<A>::load_unaligned(row.gx + ((g + j) * V + v) * W);
              finish_row<A, Cell>(gx, tile.acc[r][j], row, g + j, hidden, w.bias_hn());
            }
        });
      }
      if (proj) {
        // h_t = m_t·W_hrᵀ needs every unit of m_t: a second phase.
        barrier.wait(team);
        for (int d = 0; d < dirs; ++d) {
          const RecurrentWeights<Cell, Type>& w = *rec.dir[d].weights;
          const index slot = (static_cast<index>(rank) * dirs + d) * batch;
          const StepRow* rows = rows_all + slot;
          const Op** ops = ops_all + slot;
          float** proj_out = proj_out_all + slot;
          const index n = active[d];
          if (p0 >= p1) continue;
          for (index i = 0; i < n; ++i) {
            if constexpr (P == Product::bf16_dot) {
              std::uint32_t* pairs = pairs_all + (slot + i) * op_len;
              to_bf16_pairs(rows[i].out, hidden, pairs);
              ops[i] = pairs;
            } else {
              ops[i] = rows[i].out;
            }
          }
          for_each_tile<A, P, PV>(n, ops, w.projection(), p0, p1, [&](auto& tile, index i0, index g) {
            using Tile = std::remove_cvref_t<decltype(tile)>;
#pragma GCC unroll 4
            for (int j = 0; j < Tile::groups; ++j)
#pragma GCC unroll 4
              for (int v = 0; v < PV; ++v) {
                const index col = ((g + j) * PV + v) * W;
                if (col >= state) break;
#pragma GCC unroll 8
                for (int r = 0; r < Tile::rows; ++r) store_first<A>(proj_out[i0 + r] + col, state - col, tile.acc[r][j][v]);
              }
          });
        }
      }
      if (s + 1 < steps) barrier.wait(team);
    }
  });
}

}  // namespace detail

// Runs one layer over a sequence: rec.dir[d].out gets h_t of every valid step, c is left
// at each row's last step. Rows past their length are not written (the caller zeroes
// them). Scratch comes from ws (and is left allocated: release it with a mark).
template <class Cell, WeightType Type>
void run_recurrence(const Recurrence<Cell, Type>& rec, Workspace& ws) {
  if (rec.batch <= 0 || rec.steps <= 0) return;
  detail::run_recurrence_with<detail::step_arch>(rec, ws);
}

// ---- One frame of a stream: no GEMM, no threads (for small layers). ----

struct Frame {
  index batch = 0;
  const float* x = nullptr;  // row b at x + b·x_stride (in floats)
  index x_stride = 0;
  const float* h = nullptr;  // h_{t-1}, row b at h + b·state
  float* c = nullptr;        // LSTM: row b at c + b·hidden, in place
  float* out = nullptr;      // h_t, row b at out + b·state (not h)
  // run_fixed_frame: the groups last to first. Only the order of the groups, never of a
  // sum: alternated frame by frame, the groups a frame reads first are the ones the frame
  // before read last, still in L1 when the weights are larger than L1 (LSTM(1→64): 64 KB).
  bool reverse_groups = false;

  // Where row b reads and writes, for a layer of `state` (h) and `cell` (c; 0: none) sizes.
  StepRow row(index b, index state, index cell) const noexcept {
    StepRow r;
    r.h = h + b * state;
    r.c = cell > 0 ? c + b * cell : nullptr;
    r.out = out + b * state;
    return r;
  }
};

namespace detail {

// Groups [g0, g1) of every row of the frame; `pairs` holds frame_operand_words(w) words for
// bfloat16 weights (null for float32).
template <class A, class Cell, WeightType Type>
void run_frame_with(const RecurrentWeights<Cell, Type>& w, const Frame& f, index g0, index g1, std::uint32_t* pairs) {
  constexpr Product P = product_for(Type);
  using Op = Operand<P>;
  constexpr int V = Cell::vectors;
  constexpr index W = GroupedWeights::lanes;
  const index hidden = w.hidden(), state = w.state(), in = w.in();
  for (index b = 0; b < f.batch; ++b) {
    const StepRow row = f.row(b, state, Cell::has_cell ? hidden : 0);
    const float* x = f.x + b * f.x_stride;
    const Op* x_op;
    const Op* h_op;
    if constexpr (P == Product::bf16_dot) {
      to_bf16_pairs(x, in, pairs);
      to_bf16_pairs(row.h, state, pairs + operand_length(P, in));
      x_op = pairs;
      h_op = pairs + operand_length(P, in);
    } else {
      (void)pairs;
      x_op = x;
      h_op = row.h;
    }
    // The recurrent product over several groups at once, then per group its input part
    // (in the order gemm_grouped sums it for a whole sequence) and the gate math.
    for_each_tile<A, P, V>(1, &h_op, w.recurrent(), g0, g1, [&](auto& tile, index, index g) {
      using Tile = std::remove_cvref_t<decltype(tile)>;
#pragma GCC unroll 4
      for (int j = 0; j < Tile::groups; ++j) {
        GroupTile<A, P, 1, 1, V> input;
        input.multiply(&x_op, w.input(), g + j);
        Floats<A> gx[V];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) gx[v] = input.acc[0][0][v] + Floats<A>::load_unaligned(w.bias_x() + ((g + j) * V + v) * W);
        Cell::template finish<A>(gx, tile.acc[0][j], row, g + j, hidden, w.bias_hn());
      }
    });
  }
}

}  // namespace detail

// ---- One frame of a small float32 LSTM or GRU whose sizes are known at compile time. ----
//
// A real-time model (one sample at a time through LSTM(1→8…128)) spends a frame in a chain
// of dependent operations, not in arithmetic: this path has no tile dispatch, no operand
// pointers and no scratch, every loop bound is a constant (the input part of In = 1 is one
// product per gate register), and a hidden size of 8 takes 8-float registers instead of
// half-empty 16-float ones (frame_lanes). The sums are the ones GroupTile computes, in its
// order — four depth blocks, each one chain from zero, (b0 + b1) + (b2 + b3) — and the gate
// math is the cells' own, so a frame gives the whole sequence's bits.

namespace detail {

// acc[v] = Σ_d x[d]·w[d][v] over K depths (w: [K][V][lanes]), in GroupTile's order.
template <class A, int V, index K>
[[gnu::always_inline]] inline void fixed_product(const float* x, const float* w, Floats<A> (&acc)[V]) {
  using F = Floats<A>;
  constexpr index L = static_cast<index>(F::size);
  constexpr index start[5] = {0, K / 4, K * 2 / 4, K * 3 / 4, K};
  constexpr index shortest = std::min({start[1] - start[0], start[2] - start[1], start[3] - start[2], start[4] - start[3]});
  constexpr index longest = std::max({start[1] - start[0], start[2] - start[1], start[3] - start[2], start[4] - start[3]});
  F p[4][V];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) p[j][v] = F(0.0f);
#pragma GCC unroll 4
  for (index d = 0; d < longest; ++d)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      if (d >= shortest && start[j + 1] - start[j] < longest) continue;  // the blocks one shorter
      const index e = start[j] + d;
      const F xe(x[e]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) p[j][v] = Simd<A>::fma(xe, F::load_unaligned(w + (e * V + v) * L), p[j][v]);
    }
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) acc[v] = (p[0][v] + p[1][v]) + (p[2][v] + p[3][v]);
}

template <class A, class Cell, index In, index State, index Hidden>
void run_fixed_frame_with(const FrameWeights& w, const Frame& f) {
  using F = Floats<A>;
  constexpr int V = Cell::vectors;
  constexpr index L = static_cast<index>(F::size), groups = (Hidden + L - 1) / L;
  for (index b = 0; b < f.batch; ++b) {
    const StepRow row = f.row(b, State, Cell::has_cell ? Hidden : 0);
    const float* x = f.x + b * f.x_stride;
    F h[groups];  // stored once every group has read h_{t-1}: f.out may be f.h
#pragma GCC unroll 2
    for (index i = 0; i < groups; ++i) {
      const index g = f.reverse_groups ? groups - 1 - i : i;
      F gx[V], gh[V];
      fixed_product<A, V, In>(x, w.input + g * In * V * L, gx);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) gx[v] = gx[v] + F::load_unaligned(w.bias_x + (g * V + v) * L);
      fixed_product<A, V, State>(row.h, w.recurrent + g * State * V * L, gh);
      h[g] = Cell::template update<A>(gx, gh, row, g * L, std::min(L, Hidden - g * L), w.bias_hn + (g * V + V - 1) * L);
    }
#pragma GCC unroll 8
    for (index g = 0; g < groups; ++g) store_first<A>(row.out + g * L, Hidden - g * L, h[g]);
  }
}

// The registers a frame of Hidden units takes: 8 floats where frame_lanes says so.
template <index Hidden>
using frame_arch = std::conditional_t<frame_lanes(Hidden) == GroupedWeights::lanes, step_arch, xsimd::fma3<xsimd::avx2>>;

}  // namespace detail

// Whether run_fixed_frame applies: float32 LSTM and GRU (not RNN) without a projection.
template <class Cell, WeightType Type>
inline constexpr bool has_fixed_frames = Type == WeightType::f32 && Cell::gates == Cell::vectors;

// h_t of one frame from x_t and h_{t-1} (and c, in place), for every row of the frame, for a
// layer of these sizes (In inputs, State = Hidden: no projection); f.out may be f.h.
template <index In, index Hidden, class Cell, WeightType Type>
void run_fixed_frame(const RecurrentWeights<Cell, Type>& w, const Frame& f) {
  static_assert(has_fixed_frames<Cell, Type>, "run_fixed_frame: float32 LSTM and GRU only");
  detail::run_fixed_frame_with<detail::frame_arch<Hidden>, Cell, In, Hidden, Hidden>(w.frame(), f);
}

// Scratch words a frame of w needs (bfloat16 operands of x and h; 0 for float32 weights).
template <class Cell, WeightType Type>
index frame_operand_words(const RecurrentWeights<Cell, Type>& w) {
  constexpr detail::Product P = detail::product_for(Type);
  return P == detail::Product::bf16_dot ? detail::operand_length(P, w.in()) + detail::operand_length(P, w.state()) : 0;
}

// h_t of one frame from x_t and h_{t-1} (and c, in place), for every row of the frame.
template <class Cell, WeightType Type>
void run_frame(const RecurrentWeights<Cell, Type>& w, const Frame& f, Workspace& ws) {
  const Workspace::Mark m = ws.mark();
  const index words = frame_operand_words(w);
  std::uint32_t* pairs = words > 0 ? ws.allocate<std::uint32_t>(words) : nullptr;
  detail::run_frame_with<detail::step_arch>(w, f, 0, w.groups(), pairs);
  ws.release(m);
}

// The same for the units of groups [g0, g1) only (units g0·Cell::group_units up to
// g1·Cell::group_units): one member's share of a frame computed by a team of threads, each
// on its own groups. `pairs`: frame_operand_words(w) words of this member's own scratch
// (may be null when that is 0). The units' bits do not depend on how the groups are split.
template <class Cell, WeightType Type>
void run_frame_groups(const RecurrentWeights<Cell, Type>& w, const Frame& f, index g0, index g1, std::uint32_t* pairs) {
  detail::run_frame_with<detail::step_arch>(w, f, g0, g1, pairs);
}

}  // namespace mmm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
