#pragma once
// A small decoder built from existing modules for testing the generate/ machinery on the
// decoder-step interface until the LSTM and transformer decoders exist: an Elman network
//   h_t = tanh(input(embedding(x_t)) + recurrent(h_{t−1})),   logits_t = output(h_t)
// whose state is h (rows × Hidden). The same network in torch is ElmanDecoder in
// tests/generate/parity_oracle.py, with these parameter names.

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

#include "mmm/pipeline.hpp"

namespace mmm::test {

template <index Vocab, index Embed, index Hidden>
class ElmanDecoder : public ModuleBase<ElmanDecoder<Vocab, Embed, Hidden>, Takes<Tokens, Feat<Vocab>>> {
 public:
  static constexpr index vocab_size = Vocab;

  static std::string name() {
    return "ElmanDecoder<" + std::to_string(Vocab) + ", " + std::to_string(Embed) + ", " + std::to_string(Hidden) + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("embedding", self.embedding_);
    p("input", self.input_);
    p("recurrent", self.recurrent_);
    p("output", self.output_);
  }

  class State {
   public:
    State(index rows, index capacity) : h_(Shape{rows, Hidden}), spare_(Shape{rows, Hidden}), capacity_(capacity) {}
    index rows() const noexcept { return h_.dim(0); }
    index capacity() const noexcept { return capacity_; }
    index positions(index row) const noexcept { return positions_[static_cast<std::size_t>(row)]; }
    void reset() {
      std::fill(h_.data(), h_.data() + h_.numel(), 0.0f);
      std::fill(positions_.begin(), positions_.end(), 0);
    }
    void reorder(std::span<const index> sources) {
      for (index r = 0; r < rows(); ++r) {
        const index s = sources[static_cast<std::size_t>(r)];
        std::memcpy(spare_.data() + r * Hidden, h_.data() + s * Hidden, sizeof(float) * Hidden);
        moved_positions_[static_cast<std::size_t>(r)] = positions_[static_cast<std::size_t>(s)];
      }
      std::swap(h_, spare_);
      std::swap(positions_, moved_positions_);
    }
    float* h() noexcept { return h_.data(); }
    void advance(index row) {
      if (++positions_[static_cast<std::size_t>(row)] > capacity_)
        throw ResourceError("ElmanDecoder state: row " + std::to_string(row) + " is past its capacity of " +
                            std::to_string(capacity_) + " positions");
    }

   private:
    Tensor h_, spare_;
    index capacity_;
    std::vector<index> positions_ = std::vector<index>(static_cast<std::size_t>(h_.dim(0)), 0);
    std::vector<index> moved_positions_ = positions_;
  };

  State make_state(index rows, index capacity) const { return State(rows, capacity); }

  Feat<Vocab> step(const Tokens& tokens, State& state, Workspace& ws) const {
    const index rows = state.rows();
    if (tokens.batch != rows)
      throw ShapeError(name() + ": " + std::to_string(tokens.batch) + " rows of tokens for a state of " + std::to_string(rows));
    const Workspace::Mark scratch = ws.mark();
    std::int32_t* column = ws.allocate<std::int32_t>(rows);
    for (index t = 0; t < tokens.length; ++t) {
      const Workspace::Mark step = ws.mark();
      for (index r = 0; r < rows; ++r) column[r] = tokens.ids[r * tokens.length + t];
      const Seq<Embed> e = embedding_.forward(Tokens(column, rows, 1), ws);
      const Feat<Hidden> x = input_.forward(Feat<Embed>(e.data, rows), ws);
      const Feat<Hidden> hh = recurrent_.forward(Feat<Hidden>(state.h(), rows), ws);
      float* pre = const_cast<float*>(x.data);
      kernels::add(pre, hh.data, pre, rows * Hidden);
      kernels::tanh(pre, pre, rows * Hidden);
      for (index r = 0; r < rows; ++r)
        if (t < tokens.valid_length(r)) {
          std::memcpy(state.h() + r * Hidden, pre + r * Hidden, sizeof(float) * Hidden);
          state.advance(r);
        }
      ws.release(step);
    }
    ws.release(scratch);
    return output_.forward(Feat<Hidden>(state.h(), rows), ws);
  }

 private:
  Embedding<Vocab, Embed> embedding_;
  Linear<Embed, Hidden> input_;
  Linear<Hidden, Hidden, false> recurrent_;
  Linear<Hidden, Vocab> output_;
};

}  // namespace mmm::test
