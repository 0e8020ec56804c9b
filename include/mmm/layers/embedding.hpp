#pragma once
// Embedding<Vocab, Dim>: token ids to rows of a table, as torch.nn.Embedding.
// Takes Tokens (N×T) and gives Seq<Dim> (N×T×Dim) with the same per-item valid lengths.
// Parameter: weight [Vocab, Dim].
//
// Every id, padding positions included (torch looks those up too), must be in [0, Vocab):
// anything else is a RangeError naming the module, the id, where it is and the vocabulary
// size — never a read outside the table.

#include <cstring>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

template <index Vocab, index Dim>
class Embedding : public ModuleBase<Embedding<Vocab, Dim>, Takes<Tokens, Seq<Dim>>> {
  static_assert(Vocab > 0 && Dim > 0, "Embedding<Vocab, Dim>: sizes must be positive");

 public:
  static constexpr index vocab_size = Vocab;
  static constexpr index embedding_dim = Dim;

  static std::string name() { return "Embedding<" + std::to_string(Vocab) + ", " + std::to_string(Dim) + ">"; }

  Embedding() : weight_(Shape{Vocab, Dim}) {}

  static void parameters(auto& self, auto&& p) { p("weight", self.weight_); }

  Tensor& weight() noexcept { return weight_; }
  const Tensor& weight() const noexcept { return weight_; }

  Seq<Dim> forward(const Tokens& x, Workspace& ws) const {
    check_lengths(x);
    const index n = x.numel();
    for (index i = 0; i < n; ++i) {
      const std::int32_t id = x.ids[i];
      if (id < 0 || id >= Vocab)
        throw RangeError(name() + ": token id " + std::to_string(id) + " at item " + std::to_string(i / x.length) +
                         ", position " + std::to_string(i % x.length) + " is outside the vocabulary of " +
                         std::to_string(Vocab) + " ids (0.." + std::to_string(Vocab - 1) + ")");
    }
    float* y = ws.allocate<float>(n * Dim);
    const float* table = weight_.data();
    for (index i = 0; i < n; ++i)
      std::memcpy(y + i * Dim, table + static_cast<index>(x.ids[i]) * Dim, sizeof(float) * static_cast<std::size_t>(Dim));
    return {y, x.batch, x.length, x.lengths};
  }

 private:
  static void check_lengths(const Tokens& x) {
    if (!x.lengths) return;
    for (index b = 0; b < x.batch; ++b)
      if (x.lengths[b] < 0 || x.lengths[b] > x.length)
        throw RangeError(name() + ": item " + std::to_string(b) + " claims " + std::to_string(x.lengths[b]) +
                         " valid tokens, but the batch has " + std::to_string(x.length) + " per item");
  }

  Tensor weight_;
};

}  // namespace mmm
