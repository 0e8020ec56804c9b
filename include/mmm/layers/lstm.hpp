#pragma once
// LSTM<In, Hidden, Rnn{.layers, .bidirectional, .bias, .proj_size, .weights}>: a long
// short-term memory over Seq<In>, as torch.nn.LSTM(In, Hidden, num_layers, bias,
// batch_first=True, bidirectional, proj_size) in eval mode. Gives Seq<directions·state>
// (state = Hidden, or proj_size); per step and batch row
//   i, f, g, o = σ, σ, tanh, σ (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh),   gate rows i|f|g|o
//   c' = f⊙c + i⊙g,   h' = o⊙tanh(c')   (·W_hrᵀ with proj_size)
// Parameters per layer l (and _reverse): weight_ih_l{l} [4·Hidden, in_l], weight_hh_l{l}
// [4·Hidden, state], bias_ih_l{l}, bias_hh_l{l} [4·Hidden], weight_hr_l{l} [proj_size, Hidden].
//
//   LSTM<37, 53> lstm;   load(lstm, "lstm.safetensors");
//   Seq<53> y = lstm(Seq<37>(x, lengths), ws);                     // packed-sequence lengths
//   auto [y, h_n, c_n] = lstm.forward_with_states(x, ws, {h_0, c_0});
//   LSTM<37, 53>::State state(batch);                              // streaming:
//   Feat<53> h_t = lstm.step(Feat<37>(x_t), state, ws);            // one frame per row
//   state.reorder(beams); state.reset();
// layers/recurrent.hpp states the shared behaviour (lengths, states, streaming) in full.

#include <string>

#include "mmm/kernels/recurrent.hpp"
#include "mmm/layers/recurrent.hpp"

namespace mmm {

template <index In, index Hidden, Rnn R = Rnn{}>
class LSTM : public detail::Recurrent<LSTM<In, Hidden, R>, kernels::LstmCell, In, Hidden, R> {
 public:
  static std::string name() { return detail::rnn_name("LSTM", In, Hidden, R); }
};

}  // namespace mmm
