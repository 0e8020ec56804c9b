#pragma once
// What LSTM, GRU and RNN share (layers/lstm.hpp, gru.hpp, rnn.hpp are the modules): the
// options, torch's parameter names and shapes, the forward over a whole sequence with
// optional initial and final states, variable lengths, and the streaming state and step.
//
//   Rnn{.layers, .bidirectional, .bias, .proj_size, .weights}
//       as torch's num_layers, bidirectional, bias, proj_size (LSTM only); weights stores
//       the packed weights as float32 or bfloat16 (WeightType::bf16: half the bytes per
//       step, float32 accumulation; AVX-512 BF16 dot products where compiled in).
//   Seq<In> (batch-first, torch's batch_first=True)  →  Seq<state·directions>, where state
//       is Hidden, or proj_size for an LSTM with a projection.
//   Variable lengths (Seq::lengths): torch's packed sequences. Outputs past an item's end
//       are 0, its final state is the one at its last valid step, and the reverse direction
//       starts at that step.
//
// Parameters, per layer l and direction (suffix "_reverse" for the second), as torch names
// them: weight_ih_l{l} [gates·Hidden, in_l] (in_0 = In, then state·directions),
// weight_hh_l{l} [gates·Hidden, state], bias_ih_l{l} and bias_hh_l{l} [gates·Hidden]
// (without Rnn{.bias = false}), weight_hr_l{l} [proj_size, Hidden] (LSTM with proj_size).
//
// Streaming (unidirectional layers): State holds h (and c) of every layer for a fixed number
// of batch rows; step() takes one frame or a chunk, updates the state and gives exactly what
// the whole-sequence forward gives for those steps; no allocation per step.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/dtype.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/recurrent.hpp"

namespace mmm {

// The options of a recurrent layer, a template argument:
// LSTM<128, 256, Rnn{.layers = 2, .bidirectional = true}>.
struct Rnn {
  index layers = 1;
  bool bidirectional = false;
  bool bias = true;
  index proj_size = 0;  // LSTM only: h is o⊙tanh(c) projected to this size (0: none)
  WeightType weights = WeightType::f32;
};

// torch's (h_0, c_0) for forward_with_states: [layers·directions, batch, state] and
// [layers·directions, batch, Hidden]; an empty view (no data) means zeros.
struct InitialStates {
  TensorView<const float> h0;
  TensorView<const float> c0;
};

// torch's output, (h_n, c_n), viewing the caller's Workspace. c_n is empty for GRU and RNN.
template <index Out>
struct RecurrentOutput {
  Seq<Out> output;
  TensorView<const float> h_n;  // [layers·directions, batch, state]
  TensorView<const float> c_n;  // [layers·directions, batch, Hidden]
};

// The state a streaming layer carries from one step to the next: h (and, for an LSTM, c)
// of every layer and direction, for a fixed number of batch rows, laid out as torch's h_n
// and c_n: [layers·directions, rows, State] and [layers·directions, rows, Cell].
// Owned by the caller; one per stream (or one per batch of streams, a row each).
template <index Layers, index Directions, index StateSize, index CellSize>
class RecurrentState {
  static constexpr index Slots = Layers * Directions;

 public:
  static constexpr index layers = Layers;
  static constexpr index directions = Directions;
  static constexpr index state_size = StateSize;
  static constexpr index cell_size = CellSize;

  RecurrentState() : RecurrentState(1) {}
  // Zeros for `rows` batch rows; this is the only allocation a state makes.
  explicit RecurrentState(index rows)
      : rows_(rows),
        h_(Shape{Slots, rows, StateSize}),
        c_(CellSize > 0 ? Shape{Slots, rows, CellSize} : Shape{0}),
        spare_(Shape{std::max(rows * StateSize, CellSize > 0 ? rows * CellSize : index{0})}) {}

  index rows() const noexcept { return rows_; }

  // Back to zeros: a new stream.
  void reset() noexcept {
    std::fill_n(h_.data(), h_.numel(), 0.0f);
    std::fill_n(c_.data(), c_.numel(), 0.0f);
  }

  // Row i becomes what row sources[i] was, for every layer (beam search keeps the beams it
  // extends; a source may repeat). sources.size() must be rows(); no allocation.
  void reorder(std::span<const index> sources) {
    if (static_cast<index>(sources.size()) != rows_)
      throw ShapeError("RecurrentState::reorder: " + std::to_string(sources.size()) + " sources for a state of " +
                       std::to_string(rows_) + " rows");
    for (std::size_t i = 0; i < sources.size(); ++i)
      if (sources[i] < 0 || sources[i] >= rows_)
        throw RangeError("RecurrentState::reorder: source " + std::to_string(sources[i]) + " for row " +
                         std::to_string(i) + " is not one of the " + std::to_string(rows_) + " rows");
    gather(h_, StateSize, sources);
    if constexpr (CellSize > 0) gather(c_, CellSize, sources);
  }

  // Sets every layer's state from torch's layout, h [layers·directions, rows, State] and c
  // [layers·directions, rows, Cell] (LSTM), as forward_with_states' h_n and c_n (to go on
  // from where a forward stopped); an empty view (no data) means zeros.
  void set(TensorView<const float> h, TensorView<const float> c = {}) {
    if (!h.data()) {
      std::fill_n(h_.data(), h_.numel(), 0.0f);
    } else {
      expect(h, h_.shape(), "h");
      std::copy_n(h.data(), h_.numel(), h_.data());
    }
    if constexpr (CellSize > 0) {
      if (!c.data()) {
        std::fill_n(c_.data(), c_.numel(), 0.0f);
      } else {
        expect(c, c_.shape(), "c");
        std::copy_n(c.data(), c_.numel(), c_.data());
      }
    }
  }

  // h of one layer and direction: [rows, State]; c: [rows, Cell].
  TensorView<float> h(index layer, index direction = 0) { return {h_slot(layer, direction), Shape{rows_, StateSize}}; }
  TensorView<const float> h(index layer, index direction = 0) const {
    return {const_cast<RecurrentState*>(this)->h_slot(layer, direction), Shape{rows_, StateSize}};
  }
  TensorView<float> c(index layer, index direction = 0) requires(CellSize > 0) {
    return {c_slot(layer, direction), Shape{rows_, CellSize}};
  }
  TensorView<const float> c(index layer, index direction = 0) const requires(CellSize > 0) {
    return {const_cast<RecurrentState*>(this)->c_slot(layer, direction), Shape{rows_, CellSize}};
  }
  // Every layer at once, as torch's h_n and c_n.
  TensorView<const float> h_n() const noexcept { return h_.view(); }
  TensorView<const float> c_n() const noexcept requires(CellSize > 0) { return c_.view(); }

  // For the layers: the rows of slot s = layer·directions + direction, and a buffer of
  // rows·max(State, Cell) floats the layer may use during a step.
  float* slot_h(index s) noexcept { return h_.data() + s * rows_ * StateSize; }
  float* slot_c(index s) noexcept { return CellSize > 0 ? c_.data() + s * rows_ * CellSize : nullptr; }
  float* spare() noexcept { return spare_.data(); }
  // The order a layer's frame takes its groups in (kernels::Frame::reverse_groups), which
  // alternates from step to step: bits never depend on it, only which weights are in L1.
  bool reverse_groups() const noexcept { return reverse_groups_; }
  void alternate_groups() noexcept { reverse_groups_ = !reverse_groups_; }

 private:
  float* h_slot(index layer, index direction) {
    check_slot(layer, direction);
    return slot_h(layer * Directions + direction);
  }
  float* c_slot(index layer, index direction) {
    check_slot(layer, direction);
    return slot_c(layer * Directions + direction);
  }
  static void check_slot(index layer, index direction) {
    if (layer < 0 || layer >= Layers || direction < 0 || direction >= Directions)
      throw RangeError("RecurrentState: no layer " + std::to_string(layer) + ", direction " + std::to_string(direction) +
                       " in a state of " + std::to_string(Layers) + " layers and " + std::to_string(Directions) +
                       " directions");
  }
  static void expect(TensorView<const float> t, const Shape& want, const char* what) {
    if (!(t.shape() == want))
      throw ShapeError(std::string("RecurrentState::set: ") + what + " must be " + want.str() + ", got " + t.shape().str());
  }
  void gather(Tensor& t, index size, std::span<const index> sources) {
    for (index s = 0; s < Slots; ++s) {
      float* slot = t.data() + s * rows_ * size;
      for (index i = 0; i < rows_; ++i) std::copy_n(slot + sources[static_cast<std::size_t>(i)] * size, size, spare_.data() + i * size);
      std::copy_n(spare_.data(), rows_ * size, slot);
    }
  }

  index rows_ = 0;
  Tensor h_, c_, spare_;
  bool reverse_groups_ = false;
};

namespace detail {

inline std::string rnn_name(const char* kind, index in, index hidden, Rnn r, const char* extra = "") {
  std::string s = std::string(kind) + "<" + std::to_string(in) + ", " + std::to_string(hidden);
  if (r.layers != 1) s += ", layers " + std::to_string(r.layers);
  if (r.bidirectional) s += ", bidirectional";
  if (!r.bias) s += ", no bias";
  if (r.proj_size) s += ", proj " + std::to_string(r.proj_size);
  if (r.weights == WeightType::bf16) s += ", bf16";
  return s + extra + ">";
}

// A one-frame step reads W_ih in the step layout (no GEMM) when the layer's two weights
// take at most this many floats there (512 KB: L2-resident; hidden ≤ 128 for small inputs).
inline constexpr index frame_path_max_floats = index{1} << 17;

// The implementation of LSTM, GRU and RNN over Cell (kernels/recurrent.hpp).
template <class Derived, class Cell, index In, index Hidden, Rnn R>
class Recurrent;

template <index In, index Hidden, Rnn R>
using recurrent_signature = Takes<Seq<In>, Seq<(R.bidirectional ? 2 : 1) * (R.proj_size > 0 ? R.proj_size : Hidden)>>;

template <class Derived, class Cell, index In, index Hidden, Rnn R>
class Recurrent : public ModuleBase<Derived, recurrent_signature<In, Hidden, R>> {
  static_assert(In > 0 && Hidden > 0, "a recurrent layer's input and hidden sizes must be positive");
  static_assert(R.layers >= 1, "Rnn{.layers}: a recurrent layer has at least one layer");
  static_assert(R.proj_size >= 0 && R.proj_size < Hidden,
                "Rnn{.proj_size} must be smaller than the hidden size (as torch requires), or 0 for none");
  static_assert(R.proj_size == 0 || Cell::has_cell, "Rnn{.proj_size}: only an LSTM has a projection");

 public:
  static constexpr index input_size = In;
  static constexpr index hidden_size = Hidden;
  static constexpr index num_layers = R.layers;
  static constexpr index directions = R.bidirectional ? 2 : 1;
  static constexpr index state_size = R.proj_size > 0 ? R.proj_size : Hidden;  // h
  static constexpr index cell_size = Cell::has_cell ? Hidden : 0;              // c
  static constexpr index output_size = directions * state_size;
  static constexpr index gates = Cell::gates;
  static constexpr Rnn options = R;

  // h (and c) of every layer, per batch row, carried between streaming steps.
  using State = RecurrentState<R.layers, directions, state_size, cell_size>;

  Recurrent() {
    for (index l = 0; l < R.layers; ++l)
      for (index d = 0; d < directions; ++d) {
        const index s = l * directions + d;
        w_ih_[s] = Tensor(Shape{gates * Hidden, layer_input(l)});
        w_hh_[s] = Tensor(Shape{gates * Hidden, state_size});
        if constexpr (R.bias) {
          b_ih_[s] = Tensor(Shape{gates * Hidden});
          b_hh_[s] = Tensor(Shape{gates * Hidden});
        }
        if constexpr (R.proj_size > 0) w_hr_[s] = Tensor(Shape{R.proj_size, Hidden});
      }
  }

  static void parameters(auto& self, auto&& p) {
    for (index l = 0; l < R.layers; ++l)
      for (index d = 0; d < directions; ++d) {
        const index s = l * directions + d;
        const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
        p("weight_ih" + suffix, self.w_ih_[s]);
        p("weight_hh" + suffix, self.w_hh_[s]);
        if constexpr (R.bias) {
          p("bias_ih" + suffix, self.b_ih_[s]);
          p("bias_hh" + suffix, self.b_hh_[s]);
        }
        if constexpr (R.proj_size > 0) p("weight_hr" + suffix, self.w_hr_[s]);
      }
  }

  // Packs every layer for the kernels; load() calls it.
  void prepare() {
    for (index l = 0; l < R.layers; ++l)
      for (index d = 0; d < directions; ++d) {
        const index s = l * directions + d;
        kernels::RecurrentSource src;
        src.w_ih = w_ih_[s].data();
        src.w_hh = w_hh_[s].data();
        src.b_ih = R.bias ? b_ih_[s].data() : nullptr;
        src.b_hh = R.bias ? b_hh_[s].data() : nullptr;
        src.w_hr = R.proj_size > 0 ? w_hr_[s].data() : nullptr;
        src.fixed_frames = fixed_frames;
        packed_[s] = Weights(layer_input(l), Hidden, state_size, src);
      }
    prepared_ = true;
  }

  // The whole sequence, from zero states.
  Seq<output_size> forward(const Seq<In>& x, Workspace& ws) const { return run(x, ws, {}, nullptr).output; }

  // torch's output, (h_n, c_n) = module(x, (h_0, c_0)); either initial state may be left
  // empty (zeros). Everything returned views ws.
  RecurrentOutput<output_size> forward_with_states(const Seq<In>& x, Workspace& ws, const InitialStates& initial = {}) const {
    return run(x, ws, initial, nullptr);
  }

  // Streaming, one frame per batch row: x_t [rows, In] → the last layer's h_t [rows,
  // output_size], a view of the state (valid until the state changes). Updates every
  // layer's state; nothing stays allocated in ws.
  Feat<output_size> step(const Feat<In>& x, State& state, Workspace& ws) const {
    static_assert(!R.bidirectional, "step(): a bidirectional layer needs the whole sequence, it cannot stream");
    check_prepared();
    check_state_rows(state, x.batch);
    if constexpr (fixed_frames) {
      // Sizes known here: each layer's frame with constant loop bounds, no scratch.
      [&]<index... L>(std::integer_sequence<index, L...>) {
        (fixed_frame<L>(L == 0 ? x.data : state.slot_h(L - 1), x.batch, state), ...);
      }(std::make_integer_sequence<index, R.layers>{});
      state.alternate_groups();
      return {state.slot_h(R.layers - 1), x.batch};
    }
    const Workspace::Mark m = ws.mark();
    if constexpr (frame_steps) {
      const float* in = x.data;
      index in_stride = In;
      for (index l = 0; l < R.layers; ++l) {
        kernels::Frame f;
        f.batch = x.batch;
        f.x = in;
        f.x_stride = in_stride;
        f.h = state.slot_h(l);
        f.c = state.slot_c(l);
        f.out = state.spare();
        kernels::run_frame(packed_[l], f, ws);
        kernels::copy(state.spare(), state.slot_h(l), x.batch * state_size);
        in = state.slot_h(l);
        in_stride = state_size;
      }
    } else {
      (void)run(Seq<In>(x.data, x.batch, 1), ws, {}, &state);
    }
    ws.release(m);
    return {state.slot_h(R.layers - 1), x.batch};
  }

  // Whether SharedFrame applies: a unidirectional layer without a projection.
  static constexpr bool shares_frames = !R.bidirectional && R.proj_size == 0;

  // One frame of every layer, computed by a team of threads inside the caller's own
  // parallel region, so that a decoder's whole token (layers, then its head) takes one
  // region instead of one per layer and product: each member computes its share of every
  // layer's units (input and recurrent parts together, as a small layer's frame does) and
  // the members meet at a spin barrier after each layer. Made before the region (the checks
  // and the buffers, from ws, for up to `threads` members); every member then calls
  // run(team), which returns the last layer's h_t [rows × state], complete for every member.
  // The state is complete after the region. The same bits as step(); nothing throws in run.
  class SharedFrame {
   public:
    SharedFrame(const Recurrent& layer, const Feat<In>& x, State& state, Workspace& ws, int threads)
        requires shares_frames
        : layer_(layer), state_(state), x_(x.data), rows_(x.batch) {
      layer.check_prepared();
      layer.check_state_rows(state, x.batch);
      out_ = ws.allocate<float>(checked_mul(R.layers * rows_, state_size, "recurrent layer outputs"));
      for (index l = 0; l < R.layers; ++l) words_ = std::max(words_, kernels::frame_operand_words(layer.packed_[l]));
      if (words_ > 0) pairs_ = ws.allocate<std::uint32_t>(checked_mul(std::max(threads, 1), words_, "recurrent scratch"));
    }
    SharedFrame(const SharedFrame&) = delete;
    SharedFrame& operator=(const SharedFrame&) = delete;

    const float* run(const Team& team) {
      std::uint32_t* pairs = words_ > 0 ? pairs_ + team.rank() * words_ : nullptr;
      const float* in = x_;
      index in_stride = In;
      for (index l = 0; l < R.layers; ++l) {
        // This member's units of the layer below go into the state now that every member has
        // read that layer's old h (the barrier behind); this layer reads them from out_.
        if (l > 0) keep(team, l - 1);
        kernels::Frame f;
        f.batch = rows_;
        f.x = in;
        f.x_stride = in_stride;
        f.h = state_.slot_h(l);
        f.c = state_.slot_c(l);
        f.out = out_ + l * rows_ * state_size;
        const Weights& w = layer_.packed_[l];
        const auto [g0, g1] = groups_of(team, w);
        kernels::run_frame_groups(w, f, g0, g1, pairs);
        barrier_.wait(team);
        in = f.out;
        in_stride = state_size;
      }
      keep(team, R.layers - 1);
      return out_ + (R.layers - 1) * rows_ * state_size;
    }

   private:
    static std::pair<index, index> groups_of(const Team& team, const auto& w) {
      return {w.groups() * team.rank() / team.size(), w.groups() * (team.rank() + 1) / team.size()};
    }
    // This member's units of layer l's new h, from out_ into the state.
    void keep(const Team& team, index l) {
      const auto [g0, g1] = groups_of(team, layer_.packed_[l]);
      const index u0 = std::min(g0 * Cell::group_units, Hidden), u1 = std::min(g1 * Cell::group_units, Hidden);
      if (u0 >= u1) return;
      for (index b = 0; b < rows_; ++b)
        std::copy(out_ + (l * rows_ + b) * state_size + u0, out_ + (l * rows_ + b) * state_size + u1,
                  state_.slot_h(l) + b * state_size + u0);
    }

    const Recurrent& layer_;
    State& state_;
    const float* x_;
    index rows_;
    float* out_ = nullptr;
    index words_ = 0;
    std::uint32_t* pairs_ = nullptr;
    SpinBarrier barrier_;
  };

  // Streaming, a chunk of frames per batch row (x.lengths honoured: a row's state stops at
  // its last valid frame): the outputs of those frames, in ws, exactly as forward() gives
  // them for the same steps of the whole sequence.
  Seq<output_size> step(const Seq<In>& x, State& state, Workspace& ws) const {
    static_assert(!R.bidirectional, "step(): a bidirectional layer needs the whole sequence, it cannot stream");
    check_state_rows(state, x.batch);
    return run(x, ws, {}, &state).output;
  }

 protected:
  using Weights = kernels::RecurrentWeights<Cell, R.weights>;
  static constexpr index layer_input(index l) { return l == 0 ? In : output_size; }
  // Columns of a row of input gates in the kernels' step layout.
  static constexpr index step_width = Cell::vectors * kernels::GroupedWeights::lanes *
                                      ((Hidden + Cell::group_units - 1) / Cell::group_units);
  // Small unidirectional layers step one frame without a GEMM (see frame_path_max_floats).
  static constexpr bool frame_steps = !R.bidirectional && R.proj_size == 0 &&
                                      step_width * (std::max(In, output_size) + state_size) <= frame_path_max_floats;

  // Small float32 LSTM and GRU layers step with their sizes as constants (run_fixed_frame).
  static constexpr bool fixed_frames = frame_steps && kernels::has_fixed_frames<Cell, R.weights>;

  template <index L>
  void fixed_frame(const float* in, index rows, State& state) const {
    kernels::Frame f;
    f.batch = rows;
    f.x = in;
    f.x_stride = layer_input(L);
    f.h = state.slot_h(L);
    f.c = state.slot_c(L);
    f.out = state.slot_h(L);
    f.reverse_groups = state.reverse_groups();
    kernels::run_fixed_frame<layer_input(L), Hidden>(packed_[L], f);
  }

  void check_prepared() const {
    if (!prepared_)
      throw Error(Derived::name() + ": weights are not prepared; load() them, or call prepare() after setting them");
  }
  void check_state_rows(const State& state, index batch) const {
    if (state.rows() != batch)
      throw ShapeError(Derived::name() + ": the state has " + std::to_string(state.rows()) + " rows, the input " +
                       std::to_string(batch));
  }
  void check_input(const Seq<In>& x) const {
    if (x.lengths)
      for (index b = 0; b < x.batch; ++b)
        if (x.lengths[b] < 0 || x.lengths[b] > x.length)
          throw RangeError(Derived::name() + ": item " + std::to_string(b) + " has length " + std::to_string(x.lengths[b]) +
                           ", outside the " + std::to_string(x.length) + " steps of the sequence");
  }
  void check_initial(const TensorView<const float>& t, index size, index batch, const char* what) const {
    if (!t.data()) return;  // empty: zeros
    const Shape want{R.layers * directions, batch, size};
    if (!(t.shape() == want))
      throw ShapeError(Derived::name() + ": " + what + " must be [layers·directions, batch, " +
                       (size == state_size ? "state" : "hidden") + "] = " + want.str() + ", got " + t.shape().str());
  }

  // The forward of every layer. With a state: initial states from it, final states into it.
  RecurrentOutput<output_size> run(const Seq<In>& x, Workspace& ws, const InitialStates& initial, State* state) const {
    check_prepared();
    check_input(x);
    check_initial(initial.h0, state_size, x.batch, "h_0");
    if constexpr (Cell::has_cell) check_initial(initial.c0, Hidden, x.batch, "c_0");
    const index batch = x.batch, steps = x.length;
    const index rows = checked_mul(batch, steps, "recurrent layer rows");
    constexpr index slots = R.layers * directions;

    float* y = ws.allocate<float>(checked_mul(rows, output_size, "recurrent layer output"));
    float* h_n = state ? nullptr : ws.allocate<float>(checked_mul(slots * batch, state_size, "h_n"));
    float* c_n = state || !Cell::has_cell ? nullptr : ws.allocate<float>(checked_mul(slots * batch, Hidden, "c_n"));
    const Workspace::Mark scratch = ws.mark();

    const float* in = x.data;
    float* layer_out[2] = {nullptr, nullptr};
    if (R.layers > 1) {
      layer_out[0] = ws.allocate<float>(rows * output_size);
      if (R.layers > 2) layer_out[1] = ws.allocate<float>(rows * output_size);
    }
    for (index l = 0; l < R.layers; ++l) {
      const Workspace::Mark layer_scratch = ws.mark();
      float* out = l + 1 == R.layers ? y : layer_out[l % 2];
      kernels::Recurrence<Cell, R.weights> rec;
      rec.batch = batch;
      rec.steps = steps;
      rec.lengths = x.lengths;
      rec.directions = static_cast<int>(directions);
      for (index d = 0; d < directions; ++d) {
        const index s = l * directions + d;
        const Weights& w = packed_[s];
        float* gx = ws.allocate<float>(checked_mul(rows, w.width(), "recurrent layer gates"));
        w.input_gates(rows, in, layer_input(l), gx);
        kernels::RecurrentDirection<Cell, R.weights>& dir = rec.dir[d];
        dir.weights = &w;
        dir.gx = gx;
        dir.out = out + d * state_size;
        dir.out_item = steps * output_size;
        dir.out_step = output_size;
        dir.reverse = d == 1;
        float* h_final = state ? state->slot_h(s) : h_n + s * batch * state_size;
        if (state) {
          dir.h0 = h_final;  // read at the first step, overwritten only after the last
        } else if (initial.h0.data()) {
          dir.h0 = initial.h0.data() + s * batch * state_size;
        }
        if constexpr (Cell::has_cell) {
          float* c = state ? state->slot_c(s) : c_n + s * batch * Hidden;
          if (!state) {
            if (initial.c0.data())
              std::copy_n(initial.c0.data() + s * batch * Hidden, batch * Hidden, c);
            else
              std::fill_n(c, batch * Hidden, 0.0f);
          }
          dir.c = c;
        }
      }
      kernels::run_recurrence(rec, ws);
      for (index d = 0; d < directions; ++d) finish_direction(rec, d, l, x, out, state, h_n);
      zero_padding(x, out);
      ws.release(layer_scratch);
      in = out;
    }
    ws.release(scratch);

    RecurrentOutput<output_size> result;
    result.output = Seq<output_size>(y, batch, steps, x.lengths);
    if (state) {
      result.h_n = state->h_n();
      if constexpr (Cell::has_cell) result.c_n = state->c_n();
    } else {
      result.h_n = {h_n, Shape{slots, batch, state_size}};
      if constexpr (Cell::has_cell) result.c_n = {c_n, Shape{slots, batch, Hidden}};
    }
    return result;
  }

  // h_n of one direction: h at each row's last step (t = 0 for the reverse direction), or
  // its initial state when the row has no steps.
  static void finish_direction(const kernels::Recurrence<Cell, R.weights>& rec, index d, index l, const Seq<In>& x, const float* out,
                               State* state, float* h_n) {
    const index s = l * directions + d;
    float* h_final = state ? state->slot_h(s) : h_n + s * x.batch * state_size;
    for (index b = 0; b < x.batch; ++b) {
      const index len = x.valid_length(b);
      float* dst = h_final + b * state_size;
      if (len > 0) {
        const index t = d == 1 ? 0 : len - 1;
        std::copy_n(out + (b * x.length + t) * output_size + d * state_size, state_size, dst);
      } else if (!state) {
        const float* h0 = rec.dir[d].h0;
        if (h0)
          std::copy_n(h0 + b * state_size, state_size, dst);
        else
          std::fill_n(dst, state_size, 0.0f);
      }
    }
  }

  // Steps past an item's end are 0 in every layer's output, as in a padded packed sequence.
  static void zero_padding(const Seq<In>& x, float* out) {
    if (!x.lengths) return;
    for (index b = 0; b < x.batch; ++b) {
      const index len = x.lengths[b];
      std::fill(out + (b * x.length + len) * output_size, out + (b + 1) * x.length * output_size, 0.0f);
    }
  }

  std::array<Tensor, R.layers * directions> w_ih_, w_hh_, b_ih_, b_hh_, w_hr_;
  std::array<Weights, R.layers * directions> packed_;
  bool prepared_ = false;
};

}  // namespace detail

}  // namespace mmm
