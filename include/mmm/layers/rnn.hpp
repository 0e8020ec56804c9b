#pragma once
// RNN<In, Hidden, Rnn{.layers, .bidirectional, .bias, .weights}, Nonlinearity>: an Elman
// RNN over Seq<In>, as torch.nn.RNN(In, Hidden, num_layers, nonlinearity, bias,
// batch_first=True, bidirectional). Gives Seq<directions·Hidden>; per step and batch row
//   h' = tanh or relu (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)
// Parameters per layer l (and _reverse): weight_ih_l{l} [Hidden, in_l], weight_hh_l{l}
// [Hidden, Hidden], bias_ih_l{l}, bias_hh_l{l} [Hidden].
// Streaming, states and lengths as LSTM's (layers/recurrent.hpp); the State has no c.

#include <cstdint>
#include <string>

#include "mmm/kernels/recurrent.hpp"
#include "mmm/layers/recurrent.hpp"

namespace mmm {

// torch.nn.RNN's nonlinearity.
enum class Nonlinearity : std::uint8_t { tanh, relu };

template <index In, index Hidden, Rnn R = Rnn{}, Nonlinearity N = Nonlinearity::tanh>
class RNN : public detail::Recurrent<RNN<In, Hidden, R, N>,
                                     kernels::RnnCell<N == Nonlinearity::tanh ? kernels::Activation::tanh : kernels::Activation::relu>,
                                     In, Hidden, R> {
 public:
  static std::string name() { return detail::rnn_name("RNN", In, Hidden, R, N == Nonlinearity::relu ? ", relu" : ""); }
};

}  // namespace mmm
