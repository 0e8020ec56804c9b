#pragma once
// RecurrentDecoder<Vocab, Embed, Layer>: a token decoder on the decoder-step interface
// (generate/decoder.hpp) from a streaming recurrent layer — LSTM, GRU or RNN<Embed, H, Rnn{…}>,
// unidirectional:
//
//   logits_t = head(Layer(embedding(x_t), state))      embedding: Embedding<Vocab, Embed>
//                                                       head: Linear<Layer::output_size, Vocab>
//
// state_dict names "embedding.weight", "rnn.weight_ih_l0" … (torch.nn.LSTM's, under "rnn"),
// "head.weight", "head.bias": a torch module with members embedding, rnn (batch_first) and
// head loads as is. Its State is the layer's (h, c of every layer per row): reorder() moves
// rows for beam search, reset() zeroes them.
//
// A captioner (Show and Tell: the image, encoded to Embed features, is the LSTM's input before
// the first token) conditions the state with condition(state, image_features, ws) before
// decoding; with k·batch state rows (beams), each image conditions its k consecutive rows,
// as beam_search lays beams out.
//
//   RecurrentDecoder<8000, 256, LSTM<256, 512>> decoder;  load(decoder, "captioner.safetensors", "decoder");
//   auto state = decoder.make_state(images * width, 0);
//   decoder.condition(state, encoder(image, ws), ws);
//   generate::beam_search(decoder, state, bos, {.max_length = 20, .eos = 2, .width = width}, ws);

#include <algorithm>
#include <cstring>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/recurrent.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/linear.hpp"

namespace mmm::generate {

template <index Vocab, index Embed, class Layer>
class RecurrentDecoder : public ModuleBase<RecurrentDecoder<Vocab, Embed, Layer>, Takes<Tokens, Feat<Vocab>>> {
  static_assert(Layer::input_size == Embed, "RecurrentDecoder<Vocab, Embed, Layer>: the layer must take Embed features");
  static_assert(Layer::directions == 1, "RecurrentDecoder: a bidirectional layer cannot decode one token at a time");
  static constexpr index H = Layer::output_size;

 public:
  static constexpr index vocab_size = Vocab;
  using State = typename Layer::State;

  static std::string name() {
    return "RecurrentDecoder<" + std::to_string(Vocab) + ", " + std::to_string(Embed) + ", " + Layer::name() + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("embedding", self.embedding_);
    p("rnn", self.rnn_);
    p("head", self.head_);
  }

  // The layer keeps no positions, so capacity is not needed.
  State make_state(index rows, index /*capacity*/) const { return State(rows); }

  Feat<Vocab> step(const Tokens& tokens, State& state, Workspace& ws) const {
    const index rows = state.rows();
    if (tokens.batch != rows)
      throw ShapeError(name() + ": " + std::to_string(tokens.batch) + " rows of tokens for a state of " +
                       std::to_string(rows) + " rows");
    if constexpr (Layer::shares_frames)
      if (tokens.length == 1 && rows == 1) return step_in_one_region(tokens, state, ws);
    const Workspace::Mark start = ws.mark();
    const Seq<Embed> e = embedding_.forward(tokens, ws);
    Feat<H> last;
    if (tokens.length == 1) {
      last = rnn_.step(Feat<Embed>(e.data, rows), state, ws);  // a view of the state
    } else {
      // A prompt chunk: each row's output at its last valid token.
      const Seq<H> out = rnn_.step(e, state, ws);
      float* h = ws.allocate<float>(rows * H);
      for (index r = 0; r < rows; ++r)
        std::memcpy(h + r * H, out.data + (r * out.length + tokens.valid_length(r) - 1) * H, sizeof(float) * H);
      last = Feat<H>(h, rows);
    }
    const Feat<Vocab> logits = head_.forward(last, ws);
    ws.release_except(start, logits);
    return logits;
  }

  // The image (or any Embed-sized context) as the layer's first input: image_features.batch
  // items, each for state.rows() / batch consecutive rows. Call it on a reset state.
  void condition(State& state, const Feat<Embed>& image_features, Workspace& ws) const {
    const index rows = state.rows(), items = image_features.batch;
    if (items <= 0 || rows % items != 0)
      throw ShapeError(name() + ": " + std::to_string(items) + " conditioning items for a state of " +
                       std::to_string(rows) + " rows; the rows must be a multiple of the items");
    const Workspace::Mark start = ws.mark();
    float* x = ws.allocate<float>(rows * Embed);
    for (index r = 0; r < rows; ++r)
      std::memcpy(x + r * Embed, image_features.data + (r / (rows / items)) * Embed, sizeof(float) * Embed);
    (void)rnn_.step(Feat<Embed>(x, rows), state, ws);
    ws.release(start);
  }

  const Layer& rnn() const noexcept { return rnn_; }

 private:
  // A token of one row: every layer and the head in one parallel region (Layer::SharedFrame),
  // the threads splitting each layer's units and the head's columns and meeting at spin
  // barriers. Per token this streams every weight once (~12 MB at 8000 × 256, 2 layers); one
  // region instead of one per layer and product, and the layers' input parts split too
  // (the sequence path's one-row GEMM for them runs on one thread).
  Feat<Vocab> step_in_one_region(const Tokens& tokens, State& state, Workspace& ws) const {
    float* logits = ws.allocate<float>(Vocab);
    const Workspace::Mark scratch = ws.mark();
    const Seq<Embed> e = embedding_.forward(tokens, ws);  // checks the id
    head_.check_prepared();
    const double macs = static_cast<double>(Layer::num_layers) * Layer::gates * H * (Embed + H) +
                        static_cast<double>(H) * static_cast<double>(Vocab);
    const int threads = macs >= static_cast<double>(kernels::recurrent_tuning().min_team_macs) ? num_threads() : 1;
    typename Layer::SharedFrame frame(rnn_, Feat<Embed>(e.data, 1), state, ws, threads);
    parallel_team(threads, [&](const Team& team) {
      const float* h = frame.run(team);
      head_.forward_row_share(h, logits, team);
    });
    ws.release(scratch);
    return {logits, 1};
  }

  Embedding<Vocab, Embed> embedding_;
  Layer rnn_;
  Linear<H, Vocab> head_;
};

}  // namespace mmm::generate
