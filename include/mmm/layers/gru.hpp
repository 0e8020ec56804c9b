#pragma once
// GRU<In, Hidden, Rnn{.layers, .bidirectional, .bias, .weights}>: a gated recurrent unit
// over Seq<In>, as torch.nn.GRU(In, Hidden, num_layers, bias, batch_first=True,
// bidirectional) in eval mode. Gives Seq<directions·Hidden>; per step and batch row
//   r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr),  z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)
//   n = tanh(x·W_inᵀ + b_in + r⊙(h·W_hnᵀ + b_hn)),  h' = (1 − z)⊙n + z⊙h     (rows r|z|n)
// Parameters per layer l (and _reverse): weight_ih_l{l} [3·Hidden, in_l], weight_hh_l{l}
// [3·Hidden, Hidden], bias_ih_l{l}, bias_hh_l{l} [3·Hidden].
// Streaming, states and lengths as LSTM's (layers/recurrent.hpp); the State has no c.

#include <string>

#include "mmm/kernels/recurrent.hpp"
#include "mmm/layers/recurrent.hpp"

namespace mmm {

template <index In, index Hidden, Rnn R = Rnn{}>
class GRU : public detail::Recurrent<GRU<In, Hidden, R>, kernels::GruCell, In, Hidden, R> {
 public:
  static std::string name() { return detail::rnn_name("GRU", In, Hidden, R); }
};

}  // namespace mmm
